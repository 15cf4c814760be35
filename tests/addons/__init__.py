"""Tests of the addons: manifests, receivers and payload mapping."""
