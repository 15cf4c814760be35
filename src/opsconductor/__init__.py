"""OpsConductor: a network operations platform.

Syslog, SNMP traps and webhooks come in; parsed events, findings, alerts and actions go out.
"""

__version__ = "0.1.0"
