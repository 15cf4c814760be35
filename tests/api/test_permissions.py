"""Every route asks ``authorize`` for a declared permission; an undeclared one is refused."""

from __future__ import annotations

import pytest

from opsconductor.api.deps import PERMISSIONS, authorize


def test_an_undeclared_permission_fails_where_the_route_is_defined() -> None:
    with pytest.raises(ValueError, match=r"rules:reed"):
        authorize("rules:reed")


def test_the_management_permissions_are_declared() -> None:
    for resource in ("rules", "alerts", "silences"):
        assert {f"{resource}:read", f"{resource}:write"} <= set(PERMISSIONS)
    assert "findings:read" in PERMISSIONS
    assert all(description for description in PERMISSIONS.values())
