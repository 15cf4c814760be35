"""Agents: rules as data, the engine that evaluates them on events, and the agents that run it."""
