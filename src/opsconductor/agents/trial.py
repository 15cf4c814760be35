"""Trying a rule before it is saved: pasted log lines or stored events through one rule.

A trial parses each pasted line exactly as the parse stage does (the same :class:`Parser`,
classification and size limit; a line that does not parse is reported with the parser's
reason), then runs the rule alone in a fresh agent of its kind — no shared state, nothing
published or stored — over the events in the time they state. It answers, per line or event,
which of the rule's condition sets matched it, and every finding the rule would raise with the
indexes of the lines behind it.

Time in a trial is the time the lines state: a pasted line's event is taken as received when
it says it was written, and the timers of absence and state rules run out against the end of
the data (the latest stated time of the pasted lines, or the end of the stored range), so a
trial of an old log behaves as it did when it was written.

A trial runs the rule's regular expressions (chosen by the caller, Python ``re``, no timeout)
in the calling process, so its work is bounded — at most ``MAX_LINES`` pasted lines or the
newest ``MAX_EVENTS`` stored events — and the route asks for ``rules:write``: only those who
may already make the agents run any expression may try one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import msgspec

from opsconductor.agents.agent import AGENT_CLASSES
from opsconductor.agents.conditions import Matcher
from opsconductor.agents.engine import Detection
from opsconductor.agents.rules import Rule
from opsconductor.ids import ulid_block
from opsconductor.messages import Event, RawEvent
from opsconductor.parse.service import Parser

MAX_LINES = 1000
"""The most log lines one trial takes."""
MAX_EVENTS = 10_000
"""The most stored events one trial takes (the newest of the range)."""
TRIAL_SOURCE = "trial"
TRIAL_PEER = "127.0.0.1:0"
"""The peer a pasted line is taken as coming from (its device id follows from it and the
line's host)."""


_RULE_PREFIX = re.compile(r"^rule '[^']*': ")
_PROBLEM_SPLIT = re.compile(r"; (?=[\w.\[\]-]+: )")
_FIELD = re.compile(r"[\w.\[\]-]+")


@dataclass(frozen=True, slots=True)
class TrialLine:
    """One pasted line or stored event: its event (``None`` when it did not parse), the
    parser's reason if it did not, and the rule's condition sets that matched it."""

    index: int
    text: str
    event: Event | None
    error: str | None = None
    roles: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        """True when one of the rule's condition sets matched the event."""
        return bool(self.roles)


@dataclass(frozen=True, slots=True)
class TrialFinding:
    """A finding the rule would raise, the reason the engine gave, and the indexes of the
    lines (or events) that are its evidence, in stated-time order."""

    detection: Detection
    evidence: list[int]


@dataclass(frozen=True, slots=True)
class TrialResult:
    """What the rule made of the lines: each line, each finding, and whether the events were
    more than a trial takes (only the newest were tried)."""

    lines: list[TrialLine]
    findings: list[TrialFinding]
    truncated: bool = False
    totals: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=4)
def trial_parser(timezone: str, classification: Path | None, max_bytes: int) -> Parser:
    """A parser set up as the parse stage's (``Settings.default_timezone``,
    ``classification_file``, ``syslog_max_message_bytes``); kept, as loading the
    classification takes milliseconds and parsing keeps no state that changes results."""
    return Parser(timezone, classification, max_bytes)


def parse_lines(
    lines: Sequence[str], parser: Parser, received: float | None = None
) -> list[TrialLine]:
    """Each line through ``parser`` as one record received at ``received`` (default: now)."""
    if len(lines) > MAX_LINES:
        raise ValueError(f"at most {MAX_LINES} lines per trial (got {len(lines)})")
    received = time.time() if received is None else received
    ids = ulid_block(len(lines), received) if lines else []
    out: list[TrialLine] = []
    for index, text in enumerate(lines):
        raw = RawEvent(ids[index], received, TRIAL_SOURCE, TRIAL_PEER, text.encode())
        parsed = parser.parse_one(raw)
        if isinstance(parsed, Event):
            # a trial's time is the stated time: windows and timers judge the log as written
            event = msgspec.structs.replace(parsed, received_at=parsed.timestamp)
            out.append(TrialLine(index, text, event))
        else:
            out.append(TrialLine(index, text, None, parsed.reason))
    return out


def stored_lines(events: Sequence[Event]) -> list[TrialLine]:
    """Stored events (any order) as trial lines, oldest received first."""
    ordered = sorted(events, key=lambda event: event.id)
    return [TrialLine(index, event.message, event) for index, event in enumerate(ordered)]


def run_trial(rule: Rule, lines: Sequence[TrialLine], end: float | None = None) -> TrialResult:
    """Run ``rule`` (enabled or not) alone in a fresh agent over the events of ``lines`` in
    stated-time order, then its timers at ``end`` (default: the latest time received)."""
    rule = rule.model_copy(update={"enabled": True})
    agent = AGENT_CLASSES[rule.agent]([rule])
    matchers = {role: Matcher(c, agent.default_domains) for role, c in rule.roles().items()}
    tried = [line for line in lines if line.event is not None]
    tried.sort(key=lambda line: (_event(line).timestamp, line.index))
    detections = agent.handle([_event(line) for line in tried])
    if end is None:
        end = max((_event(line).received_at for line in tried), default=time.time())
    detections.extend(agent.tick(end))
    checked: list[TrialLine] = []
    for line in lines:
        event = line.event
        if event is None or event.domain not in agent.domains:
            checked.append(line)
            continue
        checked.append(TrialLine(line.index, line.text, event, line.error, _roles(matchers, event)))
    where = {line.event.id: line.index for line in lines if line.event is not None}
    findings = [
        TrialFinding(d, [where[i] for i in d.finding.evidence if i in where]) for d in detections
    ]
    return TrialResult(checked, findings, totals=_totals(checked, findings))


def rule_problems(message: str) -> list[tuple[str, str]]:
    """A validation message (``rule 'x': match.message: bad …; threshold: …``) as
    (field, problem) pairs; a problem naming no field is the ``rule``'s."""
    text = _RULE_PREFIX.sub("", message, count=1)
    found: list[tuple[str, str]] = []
    for part in _PROBLEM_SPLIT.split(text):
        where, colon, what = part.partition(": ")
        if colon and _FIELD.fullmatch(where):
            found.append((where, what))
        else:
            found.append(("rule", part))
    return found


def _roles(matchers: dict[str, Matcher], event: Event) -> tuple[str, ...]:
    """The condition sets that match ``event``; a state rule's shared ``match`` is not one of
    its own, but its ``down``, ``up`` and ``clear`` must also meet it."""
    roles = tuple(role for role, m in matchers.items() if m.match(event) is not None)
    if "match" in matchers and {"down", "up"} <= matchers.keys():
        return () if "match" not in roles else tuple(r for r in roles if r != "match")
    return roles


def _event(line: TrialLine) -> Event:
    assert line.event is not None
    return line.event


def _totals(lines: Sequence[TrialLine], findings: Sequence[TrialFinding]) -> dict[str, int]:
    parsed = sum(1 for line in lines if line.event is not None)
    kinds = [found.detection.finding.kind for found in findings]
    return {
        "lines": len(lines),
        "parsed": parsed,
        "unparsed": len(lines) - parsed,
        "matched": sum(1 for line in lines if line.matched),
        "findings": len(findings),
        "problems": kinds.count("problem"),
        "clears": kinds.count("clear"),
    }
