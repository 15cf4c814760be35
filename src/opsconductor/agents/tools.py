"""What ``opsconductor rules …`` does: list the rules, load a file of them, test one on a log.

``test_rule`` replays a log file through one rule exactly as the running agents would
(parser, classification, the rule's agent and its engine) and returns each finding with the
log lines behind it and the engine's reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from opsconductor.agents.agent import build_agents
from opsconductor.agents.engine import Detection
from opsconductor.agents.packs import builtin_packs, load_rules_file
from opsconductor.agents.repository import (
    RuleFilter,
    RuleRow,
    create_rule,
    get_rule,
    list_rules,
    replace_rule,
    seed_packs,
)
from opsconductor.agents.rules import Rule, parse_rule
from opsconductor.config import Settings
from opsconductor.errors import InputError
from opsconductor.ids import ulid_block
from opsconductor.messages import Event, RawEvent
from opsconductor.parse.service import Parser

REPLAY_PEER = "127.0.0.1:0"


@dataclass(frozen=True)
class TestedFinding:
    """One finding ``rules test`` would produce, with the lines that caused it."""

    detection: Detection
    lines: list[tuple[int, str]]


async def rules_in_store(session: AsyncSession) -> list[RuleRow]:
    """Every rule (the packs seeded first, so a fresh install lists the built-in rules)."""
    await seed_packs(session, builtin_packs(), time.time())
    await session.commit()
    found: list[RuleRow] = []
    cursor: str | None = None
    while True:
        page = await list_rules(session, RuleFilter(), cursor=cursor, limit=500)
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


async def load_file(session: AsyncSession, path: Path) -> list[Rule]:
    """Validate every rule of ``path`` and store them (insert or replace); the caller then
    announces the reload. Nothing is stored when one rule is invalid."""
    rules = load_rules_file(path)
    now = time.time()
    for rule in rules:
        if await replace_rule(session, rule, now) is None:
            await create_rule(session, rule, now)
    await session.commit()
    return rules


async def find_rule(session: AsyncSession, rule_id: str, rules_file: Path | None) -> Rule:
    """The rule to test: from ``rules_file`` when given, else from the store or the packs."""
    if rules_file is not None:
        for rule in load_rules_file(rules_file):
            if rule.id == rule_id:
                return rule
        raise InputError(f"{rules_file} has no rule {rule_id!r}")
    await seed_packs(session, builtin_packs(), time.time())
    await session.commit()
    row = await get_rule(session, rule_id)
    if row is None:
        raise InputError(f"no rule {rule_id!r}; `opsconductor rules list` shows them")
    return parse_rule(row.definition)


def test_rule(rule: Rule, log_file: Path, settings: Settings) -> list[TestedFinding]:
    """Replay ``log_file`` through ``rule`` alone and return what it concludes."""
    parser = Parser(
        settings.default_timezone, settings.classification_file, settings.syslog_max_message_bytes
    )
    agent = build_agents([rule.model_copy(update={"enabled": True})])[rule.agent]
    lines: dict[str, tuple[int, str]] = {}
    detections: list[Detection] = []
    for chunk in _chunks(log_file):
        events: list[Event] = []
        for raw, number, text in chunk:
            parsed = parser.parse_one(raw)
            if isinstance(parsed, Event):
                events.append(parsed)
                lines[parsed.id] = (number, text)
        detections.extend(agent.handle(events))
    detections.extend(agent.engine.tick(time.time()))
    return [
        TestedFinding(d, [lines[i] for i in d.finding.evidence if i in lines]) for d in detections
    ]


def _chunks(path: Path, size: int = 1000) -> Iterator[list[tuple[RawEvent, int, str]]]:
    """The file's non-empty lines as raw events, in chunks, with their line numbers."""
    received = time.time()
    with path.open("rb") as handle:
        chunk: list[tuple[int, bytes]] = []
        for number, line in enumerate(handle, start=1):
            data = line.rstrip(b"\r\n")
            if data:
                chunk.append((number, data))
            if len(chunk) >= size:
                yield _raw(chunk, received)
                chunk = []
        if chunk:
            yield _raw(chunk, received)


def _raw(chunk: list[tuple[int, bytes]], received: float) -> list[tuple[RawEvent, int, str]]:
    ids = ulid_block(len(chunk), received)
    return [
        (
            RawEvent(ids[i], received, "replay", REPLAY_PEER, data),
            number,
            data.decode("utf-8", "replace"),
        )
        for i, (number, data) in enumerate(chunk)
    ]
