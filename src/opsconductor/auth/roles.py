"""The permissions a route may ask for, and the four roles that grant them.

The matrix is data: ``GRANTS`` maps each role to its permissions, the API enforces it on
every route through ``authorize(permission)``, and ``docs/permissions.md`` is generated from
it (``opsconductor permissions --markdown``), so the documentation cannot drift.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a principal is, for the permission checks."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"
    SERVICE = "service"


PERMISSIONS: dict[str, str] = {
    "metrics:read": "read the Prometheus metrics",
    "logs:write": "send log records over HTTP",
    "events:read": "read events",
    "devices:read": "read devices, groups, sites and tags",
    "devices:write": "create, change and delete devices",
    "deadletters:read": "read rejected records",
    "rules:read": "read and validate rules",
    "rules:write": "create, change, enable, disable and delete rules",
    "findings:read": "read findings and their evidence",
    "alerts:read": "read alerts and their history",
    "alerts:write": "acknowledge, resolve, comment on and assign alerts",
    "silences:read": "read silences and maintenance windows",
    "silences:write": "create, change and expire silences and maintenance windows",
    "agents:read": "read agents and their status",
    "agents:write": "enable, disable and change agents",
    "addons:read": "read addons and their manifests",
    "addons:write": "install, enable, disable and delete addons",
    "system:read": "read the status of the system's components",
    "system:control": "start, stop, restart and reload stages",
    "settings:read": "read the system settings",
    "settings:write": "change the system settings",
    "users:read": "read users",
    "users:write": "create, change, disable and delete users",
    "keys:read": "read API keys (never their secrets)",
    "keys:write": "create and revoke API keys",
    "audit:read": "read the audit log and check its hash chain",
}
"""Every permission a route may ask for, with what it allows."""

_READS = frozenset(
    {
        "metrics:read", "events:read", "devices:read", "deadletters:read", "rules:read",
        "findings:read", "alerts:read", "silences:read", "agents:read", "system:read",
        "settings:read", "addons:read",
    }
)  # fmt: skip
_OPERATIONS = frozenset(
    {
        "logs:write", "devices:write", "rules:write", "alerts:write", "silences:write",
        "agents:write", "addons:write",
    }
)  # fmt: skip

_SERVICE = frozenset(
    {"metrics:read", "logs:write", "events:read", "devices:read", "findings:read", "alerts:read"}
)

GRANTS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(PERMISSIONS),
    Role.OPERATOR: _READS | _OPERATIONS,
    Role.VIEWER: _READS,
    Role.SERVICE: _SERVICE,
}
"""What each role may do. Admin: everything; operator: read and operate, but not users, keys,
settings, stage control or the audit log; viewer: read only; service: what an integration
needs (send logs, read events, devices, findings, alerts and metrics — not the system's
internals)."""


def allowed(role: str, permission: str) -> bool:
    """Whether ``role`` grants ``permission`` (an unknown role grants nothing)."""
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False


def check_role(role: str) -> Role:
    """``role`` as a ``Role``; ``ValueError`` naming the roles if it is not one."""
    try:
        return Role(role)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {role!r}; one of: {names}") from None
