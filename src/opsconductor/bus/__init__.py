"""The message bus: one protocol, an in-process and a NATS JetStream implementation."""
