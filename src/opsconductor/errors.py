"""The error tree. Every error the product raises on purpose is an ``OpsConductorError``.

    OpsConductorError
    ├── ConfigError            settings that cannot be used
    ├── BusError               the message bus failed or is unreachable
    │   └── BackpressureError  a bounded queue is full; the caller sheds or waits
    ├── StoreError             the database failed or is unreachable
    └── InputError             a request or record cannot be accepted (maps to HTTP 4xx)
        ├── Unauthorized       no credentials, or credentials that do not hold (HTTP 401)
        ├── Forbidden          credentials that hold, for a role that may not (HTTP 403)
        ├── NotFound           the record named does not exist (HTTP 404)
        ├── Conflict           the change conflicts with what is stored (HTTP 409)
        ├── PayloadTooLarge    a body or record exceeds the configured limit (HTTP 413)
        ├── RuleError          a rule document or rule pack does not validate
        └── AddonError         an addon manifest does not validate (HTTP 422, by field)

Library errors are wrapped with ``raise … from exc`` at the edge that meets them; each edge
(HTTP, CLI, bus) maps errors to its own answer in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class OpsConductorError(Exception):
    """Root of every deliberate error."""


class ConfigError(OpsConductorError):
    """Settings that cannot be used."""


class BusError(OpsConductorError):
    """The message bus failed or is unreachable."""


class BackpressureError(BusError):
    """A bounded queue is full."""


class StoreError(OpsConductorError):
    """The database failed or is unreachable."""


class InputError(OpsConductorError):
    """A request or record that cannot be accepted."""

    status_code = 400


class Unauthorized(InputError):
    """No credentials, or credentials that do not hold."""

    status_code = 401


class Forbidden(InputError):
    """Credentials that hold, for a role that may not do this (or not from there)."""

    status_code = 403


class NotFound(InputError):
    """The record a request names does not exist."""

    status_code = 404


class Conflict(InputError):
    """A change that conflicts with what is stored."""

    status_code = 409


class PayloadTooLarge(InputError):
    """A body or record over the configured size limit."""

    status_code = 413


class RuleError(InputError):
    """A rule document or rule pack that does not validate.

    The message names the rule (and the pack file, when there is one) and the field at fault,
    so ``str(exc)`` alone tells an operator what to fix.
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: where (a path of keys and indexes), what, and its kind."""

    loc: tuple[int | str, ...]
    msg: str
    type: str = "value_error"

    def where(self) -> str:
        """The path as text: ``parser.fields.instance``, ``fingerprint.0``."""
        return ".".join(str(part) for part in self.loc) or "(manifest)"


class AddonError(InputError):
    """An addon manifest that does not validate; ``problems`` name each field at fault."""

    status_code = 422

    def __init__(self, addon: str, problems: Sequence[Problem]) -> None:
        self.addon = addon
        self.problems = list(problems)
        listed = "; ".join(f"{p.where()}: {p.msg}" for p in self.problems)
        super().__init__(f"addon {addon!r}: {listed}")

    def detail(self) -> list[dict[str, object]]:
        """The problems as an API error's ``detail``: ``[{loc, msg, type}, …]``."""
        return [{"loc": list(p.loc), "msg": p.msg, "type": p.type} for p in self.problems]
