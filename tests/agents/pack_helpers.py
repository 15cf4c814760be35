"""Helpers of the rule-pack tests: real lines in, the built-in agents' findings out.

A test names its lines where they live — a line number of the shared OpenWrt sample, a line
of another shared file picked by a substring — or, where the sample lacks a case, quotes the
line with a comment naming the program that prints it. :func:`detect` parses the lines with
the product's parser (one RawEvent each, ids ``ev0``, ``ev1`` … in order), feeds them to
the agents built from every built-in rule, runs their timers far in the future, and returns
the findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from opsconductor.agents.agent import build_agents
from opsconductor.agents.packs import builtin_packs
from opsconductor.agents.rules import Rule
from opsconductor.messages import Event, Finding, RawEvent
from opsconductor.parse.service import Parser

RECEIVED_AT = 1780315200.0
"""2026-06-01 12:00:00 UTC: the arrival time of lines that state no time of their own."""
FAR_FUTURE = 4102444800.0
"""2100-01-01: the wall clock given to the timers, so every hold and absence has run out."""
PEER = "192.0.2.7:514"


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule of every built-in pack."""
    return tuple(rule for rules in builtin_packs().values() for rule in rules)


@cache
def _parser() -> Parser:
    return Parser()


@cache
def _file_lines(path: Path) -> tuple[bytes, ...]:
    return tuple(path.read_bytes().split(b"\n"))


def corpus_lines(shared_data: Path, *numbers: int) -> list[bytes]:
    """Lines of ``openwrt/openwrt_lines.log`` by their (1-based) line numbers, in that order."""
    lines = _file_lines(shared_data / "openwrt" / "openwrt_lines.log")
    return [lines[n - 1] for n in numbers]


def file_lines(shared_data: Path, relative: str, contains: str, count: int = 1) -> list[bytes]:
    """The first ``count`` lines of a shared file that contain ``contains`` (not comments)."""
    found = [
        line
        for line in _file_lines(shared_data / relative)
        if contains.encode() in line and not line.startswith(b"#")
    ][:count]
    assert len(found) == count, f"{relative}: {len(found)} lines contain {contains!r}"
    return found


def events(lines: Iterable[bytes | str], peer: str = PEER) -> list[Event]:
    """The events the parser makes of ``lines``; ids ``ev0``, ``ev1`` … in order."""
    out = []
    for index, line in enumerate(lines):
        data = line.encode() if isinstance(line, str) else line
        raw = RawEvent(id=f"ev{index}", received_at=RECEIVED_AT, source="udp", peer=peer, data=data)
        event = _parser().parse_one(raw)
        assert isinstance(event, Event), line
        out.append(event)
    return out


def detect(
    lines: Iterable[bytes | str], rules: Sequence[Rule] | None = None, tick: bool = True
) -> list[Finding]:
    """Findings of the agents (every built-in rule unless ``rules``) on ``lines``, in order.

    Events go to the agents one by one, as a live stream would bring them; with ``tick`` the
    timers then run at :data:`FAR_FUTURE`.
    """
    agents = build_agents(list(all_rules() if rules is None else rules))
    found: list[Finding] = []
    for event in events(lines):
        for agent in agents.values():
            found.extend(d.finding for d in agent.handle([event]))
    if tick:
        for agent in agents.values():
            found.extend(d.finding for d in agent.tick(FAR_FUTURE))
    return found


def of_rule(findings: Iterable[Finding], rule_id: str) -> list[Finding]:
    """The findings of one rule."""
    return [f for f in findings if f.rule_id == rule_id]


def problems(findings: Iterable[Finding]) -> list[Finding]:
    """The problem findings (a clear of a problem that was never raised is ignored later)."""
    return [f for f in findings if f.kind == "problem"]


def ids(*indexes: int) -> list[str]:
    """Event ids by their position in the lines fed to :func:`detect`."""
    return [f"ev{i}" for i in indexes]


@dataclass(frozen=True)
class Case:
    """One rule fed real lines, and the findings of that rule it must yield.

    ``expect`` holds one ``(kind, evidence positions)`` per finding, in order; ``labels``
    are label values every problem finding of the case carries.
    """

    rule_id: str
    lines: str
    """How the test gets its lines (a key of the test module's line table)."""
    expect: tuple[tuple[str, tuple[int, ...]], ...]
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.rule_id}:{self.lines}"


def check_case(case: Case, lines: Sequence[bytes | str]) -> None:
    """Assert that ``lines`` yield exactly the findings ``case`` expects of its rule."""
    found = of_rule(detect(lines), case.rule_id)
    got = [(f.kind, f.evidence) for f in found]
    want = [(kind, ids(*positions)) for kind, positions in case.expect]
    assert got == want, f"{case.rule_id}: {got}"
    for finding in found:
        assert finding.agent == case.rule_id.split(".", 1)[0]
        if finding.kind == "problem":
            for name, value in case.labels.items():
                assert finding.labels.get(name) == value, (name, finding.labels)
