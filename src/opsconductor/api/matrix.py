"""The permission matrix as the code enforces it: every route, the permission it asks
``authorize`` for, and which roles hold it — read from the routes themselves, so the
generated document (``docs/permissions.md``) and the tests cannot drift from the code."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from opsconductor.auth.roles import GRANTS, PERMISSIONS, Role

PUBLIC = "public"
"""No credentials needed (login, refresh, health, the API description)."""
AUTHENTICATED = "authenticated"
"""Any valid credentials, whatever the role (the caller's own account)."""


@dataclass(frozen=True, slots=True)
class RouteRule:
    """One route and what it asks of the caller."""

    method: str
    path: str
    requirement: str  # a permission, AUTHENTICATED or PUBLIC

    def allows(self, role: Role) -> bool:
        """Whether ``role`` passes this route's check."""
        if self.requirement in (PUBLIC, AUTHENTICATED):
            return True
        return self.requirement in GRANTS[role]


def _requirement(dependant: Dependant) -> str:
    found = PUBLIC
    for dep in dependant.dependencies:
        permission = getattr(dep.call, "permission", None)
        if permission is not None:
            return str(permission)
        if getattr(dep.call, "__name__", "") == "authenticated":
            found = AUTHENTICATED
        inner = _requirement(dep)
        if inner != PUBLIC:
            return inner
    return found


def route_rules(app: FastAPI) -> Iterator[RouteRule]:
    """Every HTTP route (and the WebSocket, as ``WS``) with its requirement, in route order."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIWebSocketRoute):  # checks its token itself, per subscription
            yield RouteRule("WS", str(context.path), AUTHENTICATED)
        elif isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                yield RouteRule(method, str(context.path), _requirement(route.dependant))


def markdown(app: FastAPI) -> str:
    """``docs/permissions.md``: the roles' permissions, then every route × role."""
    roles = list(Role)
    lines = [
        "# Permissions",
        "",
        "Generated from the code by `opsconductor permissions` — do not edit by hand; a test",
        "checks that this file matches the code.",
        "",
        "Every route checks the caller's credentials, then the caller's role. The answers:",
        "",
        "- no credentials, a malformed, forged or expired access token, a revoked, expired or",
        "  unknown API key, a disabled user: **401** with `WWW-Authenticate: Bearer`;",
        "- valid credentials whose role lacks the permission, or a caller outside the role's",
        "  IP allowlist (`OPSC_IP_ALLOWLIST`): **403**;",
        "- a spent or revoked refresh token at `/api/v1/auth/refresh`: **401** (a spent one",
        "  also revokes every token of that login).",
        "",
        "`/metrics` is open to anyone when `OPSC_METRICS_OPEN=true`.",
        "",
        "The console's pages (the paths outside `/api/`) are routes like the others, with the",
        "same checks: a browser without a session is sent to the login form, a refused page",
        "answers 403 with an error page, and a link or button the role may not use is not shown.",
        "",
        "## Permissions by role",
        "",
        "| permission | what it allows | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission, what in PERMISSIONS.items():
        marks = " | ".join("yes" if permission in GRANTS[r] else "—" for r in roles)
        lines.append(f"| `{permission}` | {what} | {marks} |")
    lines += [
        "",
        "## Routes",
        "",
        "| method | path | requires | " + " | ".join(r.value for r in roles) + " |",
        "|---|---|---|" + "---|" * len(roles),
    ]
    for rule in route_rules(app):
        marks = " | ".join("yes" if rule.allows(r) else "403" for r in roles)
        lines.append(f"| {rule.method} | `{rule.path}` | {rule.requirement} | {marks} |")
    return "\n".join(lines) + "\n"
