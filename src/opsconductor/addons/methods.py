"""What each addon method brings: its own fields, its text fields, the parsers it can use."""

from __future__ import annotations

METHODS = ("snmp_trap", "webhook", "syslog", "api_poll")
METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "snmp_trap": ("event", "trap_oid", "agent_address", "source_address", "community", "uptime"),
    "webhook": ("body", "source_address"),
    "syslog": ("message", "program", "host", "source_address"),
    "api_poll": ("body", "url"),
}
"""Fields every event of a method has, whatever the parser produces."""
DEFAULT_DEVICE = {
    "snmp_trap": "agent_address",
    "webhook": "source_address",
    "syslog": "host",
    "api_poll": "url",
}
"""The field naming the device when a manifest names none."""
TEXT_FIELDS = {
    "snmp_trap": (),
    "webhook": ("body",),
    "syslog": ("message", "program", "host"),
    "api_poll": ("body",),
}
"""The fields a text parser (regex, grok, kv) may read; the first is its default ``source``."""
PARSERS_OF = {
    "snmp_trap": ("snmp",),
    "webhook": ("json", "regex", "grok", "kv"),
    "syslog": ("regex", "grok", "kv"),
    "api_poll": ("json", "regex", "grok", "kv"),
}
"""The parser kinds each method can use."""
