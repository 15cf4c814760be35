"""Addons: declarative receivers (SNMP traps, webhooks, syslog) and what they map to."""
