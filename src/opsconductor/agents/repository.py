"""Rules in the store: listing, operators' changes, seeding from packs, the agents' read.

A rule row keeps the whole validated document in ``definition`` and copies ``agent``, ``kind``
and ``enabled`` out of it for filtering; ``origin`` is ``user`` or ``pack:<name>``;
``revision`` starts at 1 and grows by one with every change, so an agent (or an operator) can
tell whether the rule it holds is current. Every function runs in the caller's transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.agents.rules import Rule, parse_rule
from opsconductor.errors import InputError
from opsconductor.store.bulk import insert_for
from opsconductor.store.pagination import Page, check_limit, decode_text_cursor, encode_cursor
from opsconductor.store.tables import rules

log = logging.getLogger(__name__)

USER_ORIGIN = "user"
_CURSOR_KIND = "rule"


@dataclass(frozen=True, slots=True)
class RuleRow:
    """A stored rule: its document and its bookkeeping."""

    id: str
    agent: str
    kind: str
    enabled: bool
    definition: dict[str, Any]
    origin: str
    revision: int
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class RuleFilter:
    """Conditions of a rule listing; ``None`` means "any".

    ``origin`` is ``user``, ``pack:<name>``, or ``pack`` for a rule of any pack.
    """

    agent: str | None = None
    kind: str | None = None
    enabled: bool | None = None
    origin: str | None = None


def pack_origin(pack: str) -> str:
    """The ``origin`` of a rule seeded from ``pack``."""
    return f"pack:{pack}"


def rule_document(rule: Rule) -> dict[str, Any]:
    """The JSON document stored (and served) for ``rule``."""
    document: dict[str, Any] = rule.model_dump(mode="json", exclude_none=True)
    return document


def _values(rule: Rule) -> dict[str, Any]:
    document = rule_document(rule)
    return {
        "agent": document["agent"],
        "kind": document["kind"],
        "enabled": bool(rule.enabled),
        "definition": document,
    }


def _row(row: sa.Row[Any]) -> RuleRow:
    m = row._mapping
    return RuleRow(
        id=m["id"],
        agent=m["agent"],
        kind=m["kind"],
        enabled=bool(m["enabled"]),
        definition=dict(m["definition"]),
        origin=m["origin"],
        revision=int(m["revision"]),
        created_at=float(m["created_at"]),
        updated_at=float(m["updated_at"]),
    )


def _conditions(flt: RuleFilter) -> list[sa.ColumnElement[bool]]:
    c = rules.c
    found: list[sa.ColumnElement[bool]] = []
    if flt.agent is not None:
        found.append(c.agent == flt.agent)
    if flt.kind is not None:
        found.append(c.kind == flt.kind)
    if flt.enabled is not None:
        found.append(c.enabled == flt.enabled)
    if flt.origin == "pack":
        found.append(c.origin.startswith("pack:"))
    elif flt.origin is not None:
        found.append(c.origin == flt.origin)
    return found


async def list_rules(
    session: AsyncSession, flt: RuleFilter, *, cursor: str | None, limit: int
) -> Page[RuleRow]:
    """Rules matching ``flt`` ordered by id, one keyset page at a time.

    A bad cursor or limit raises ``InputError``.
    """
    check_limit(limit)
    stmt = sa.select(rules).where(*_conditions(flt)).order_by(rules.c.id).limit(limit + 1)
    if cursor is not None:
        kind, after = decode_text_cursor(cursor)
        if kind != _CURSOR_KIND:
            raise InputError("invalid cursor")
        stmt = stmt.where(rules.c.id > after)
    items = [_row(row) for row in await session.execute(stmt)]
    if len(items) <= limit:
        return Page(items, None)
    del items[limit:]
    return Page(items, encode_cursor((_CURSOR_KIND, items[-1].id)))


async def get_rule(session: AsyncSession, rule_id: str) -> RuleRow | None:
    """The rule with ``rule_id``, or ``None``."""
    row = (await session.execute(sa.select(rules).where(rules.c.id == rule_id))).first()
    return None if row is None else _row(row)


def _insert_absent(session: AsyncSession, values: list[dict[str, Any]]) -> sa.Executable:
    """``INSERT … ON CONFLICT (id) DO NOTHING`` in the session's dialect."""
    insert = insert_for(session)
    return insert(rules).values(values).on_conflict_do_nothing(index_elements=["id"])


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    result = await session.execute(_insert_absent(session, rows))
    return max(getattr(result, "rowcount", 0), 0)


async def create_rule(
    session: AsyncSession, rule: Rule, now: float, *, origin: str = USER_ORIGIN
) -> RuleRow | None:
    """Store a new rule (revision 1); ``None`` when a rule with its id exists already."""
    row = {"id": rule.id, **_values(rule), "origin": origin, "revision": 1}
    if not await _insert(session, [{**row, "created_at": now, "updated_at": now}]):
        return None
    return await get_rule(session, rule.id)


async def _update(session: AsyncSession, rule_id: str, values: Mapping[str, Any]) -> RuleRow | None:
    stmt = (
        sa.update(rules)
        .where(rules.c.id == rule_id)
        .values(**values, revision=rules.c.revision + 1)
        .returning(*rules.c)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else _row(row)


async def replace_rule(session: AsyncSession, rule: Rule, now: float) -> RuleRow | None:
    """Replace the document of the stored rule ``rule.id`` (origin kept); ``None`` if absent."""
    return await _update(session, rule.id, {**_values(rule), "updated_at": now})


async def set_rule_enabled(
    session: AsyncSession, rule_id: str, enabled: bool, now: float
) -> tuple[RuleRow | None, bool]:
    """Switch a rule on or off: ``(the rule or None if absent, whether it changed)``.

    The document's own ``enabled`` follows the column, so the agents see the same value.
    """
    current = await get_rule(session, rule_id)
    if current is None or current.enabled == enabled:
        return current, False
    definition = {**current.definition, "enabled": enabled}
    values = {"enabled": enabled, "definition": definition, "updated_at": now}
    return await _update(session, rule_id, values), True


async def delete_rule(session: AsyncSession, rule_id: str) -> bool:
    """Delete a rule; False when there was none.

    A deleted pack rule comes back at the next seeding (its id is absent again); to keep one
    out, disable it instead.
    """
    result = await session.execute(sa.delete(rules).where(rules.c.id == rule_id))
    return bool(getattr(result, "rowcount", 0))


async def seed_packs(session: AsyncSession, packs: Mapping[str, Sequence[Rule]], now: float) -> int:
    """Insert each pack rule whose id is not stored yet (origin ``pack:<name>``); returns how many.

    A stored rule, changed by an operator or not, is never overwritten.
    """
    rows = [
        {"id": rule.id, **_values(rule), "origin": pack_origin(name), "revision": 1}
        | {"created_at": now, "updated_at": now}
        for name, pack in sorted(packs.items())
        for rule in pack
    ]
    return await _insert(session, rows)


async def enabled_rules(session: AsyncSession) -> list[Rule]:
    """Every enabled rule as the agents evaluate it, ordered by id.

    A stored document that no longer validates (the rule language changed under it) is left
    out with a warning instead of stopping every other rule.
    """
    stmt = sa.select(rules.c.id, rules.c.definition).where(rules.c.enabled).order_by(rules.c.id)
    loaded: list[Rule] = []
    for rule_id, definition in await session.execute(stmt):
        try:
            loaded.append(parse_rule(definition))
        except InputError as exc:
            log.warning("stored rule %s is not valid any more, skipped: %s", rule_id, exc)
    return loaded


async def rules_version(session: AsyncSession) -> tuple[int, float, int]:
    """A value that changes with every change of the rules (count, last update, revisions):
    running agents compare it to notice a change they were not told about."""
    stmt = sa.select(
        sa.func.count(),
        sa.func.coalesce(sa.func.max(rules.c.updated_at), 0.0),
        sa.func.coalesce(sa.func.sum(rules.c.revision), 0),
    ).select_from(rules)
    count, updated, revisions = (await session.execute(stmt)).one()
    return int(count), float(updated), int(revisions)
