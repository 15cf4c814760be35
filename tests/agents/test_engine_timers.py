"""The rule engine's timed kinds: absence (a device falls silent) and state (down held past
its hold, flapping), with their timers, clears and snapshots."""

from __future__ import annotations

from typing import Any

from engine_helpers import (
    LINK,
    RECEIVED_AT,
    EventFactory,
    RuleFactory,
    engine_of,
    kinds,
    link,
)

from opsconductor.ids import decode
from opsconductor.messages import Event

# absence

HEARTBEAT: dict[str, Any] = {
    "id": "health.heartbeat",
    "agent": "health",
    "title": "{host} silent",
    "kind": "absence",
    "match": {"program": "procd", "domain": ["health", "system"]},
    "absence": {"after": "10m"},
    "clear": {"message": "^shutdown"},
}


def beat(make_event: EventFactory, at: float, **fields: Any) -> Event:
    fields.setdefault("timestamp", RECEIVED_AT + at)
    return make_event("alive", at=at, program="procd", domain="system", **fields)


def test_a_silent_device_yields_one_finding_at_tick_and_a_clear_on_return(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**HEARTBEAT))
    first = beat(make_event, 0)
    assert engine.evaluate(first) == []
    assert engine.tick(RECEIVED_AT + 599) == []
    [silent] = engine.tick(RECEIVED_AT + 600)
    assert silent.finding.kind == "problem"
    assert silent.finding.evidence == [first.id]
    assert silent.finding.title == "router1 silent"
    assert decode(silent.finding.id) >> 80 == int((RECEIVED_AT + 600) * 1000)  # the deadline
    assert engine.tick(RECEIVED_AT + 1200) == []  # once
    [back] = engine.evaluate(beat(make_event, 1300))
    assert back.finding.kind == "clear"
    assert back.finding.fingerprint == silent.finding.fingerprint
    assert engine.tick(RECEIVED_AT + 1500) == []  # re-armed by the return, not yet silent


def test_absence_is_per_fingerprint_key(make_event: EventFactory, make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(**HEARTBEAT))
    engine.evaluate_batch(
        [beat(make_event, 0, device_id="a"), beat(make_event, 500, device_id="b")]
    )
    assert [d.finding.device_id for d in engine.tick(RECEIVED_AT + 700)] == ["a"]


def test_a_silence_in_the_stated_times_of_a_replay_is_found(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**HEARTBEAT))
    replay = [beat(make_event, 1, timestamp=1000.0), beat(make_event, 2, timestamp=2000.0)]
    found = engine.evaluate_batch(replay)
    assert kinds(found) == ["problem", "clear"]
    assert found[0].finding.evidence == [replay[0].id]


def test_an_absence_clear_event_disarms(make_event: EventFactory, make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(**HEARTBEAT))
    engine.evaluate(beat(make_event, 0))
    [cleared] = engine.evaluate(make_event("shutdown requested", at=5, domain="health"))
    assert cleared.finding.kind == "clear"
    assert engine.tick(RECEIVED_AT + 3600) == []


def test_absence_timers_survive_a_snapshot(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(**HEARTBEAT)
    before = engine_of(rule)
    before.evaluate(beat(make_event, 0))
    after = engine_of(rule)
    after.restore(before.snapshot())
    assert [d.finding.kind for d in after.tick(RECEIVED_AT + 601)] == ["problem"]


# state


def test_a_down_held_past_hold_is_found_by_tick_and_cleared_by_up(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**LINK))
    down = link(make_event, "down", 0)
    assert engine.evaluate(down) == []
    assert engine.tick(RECEIVED_AT + 299) == []
    [held] = engine.tick(RECEIVED_AT + 300)
    assert (held.finding.kind, held.finding.title) == ("problem", "wan down on router1")
    assert held.finding.evidence == [down.id]
    assert held.finding.labels == {"device_id": "dev-1", "ifname": "wan"}
    assert engine.tick(RECEIVED_AT + 900) == []
    [up] = engine.evaluate(link(make_event, "up", 1000))
    assert up.finding.kind == "clear"
    assert up.finding.fingerprint == held.finding.fingerprint


def test_a_down_closed_within_hold_is_no_finding(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**LINK))
    found = engine.evaluate_batch([link(make_event, "down", 0), link(make_event, "up", 120)])
    assert found == []
    assert engine.tick(RECEIVED_AT + 3600) == []


def test_a_late_up_reveals_the_hold_then_clears(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**LINK))
    down = link(make_event, "down", 0, timestamp=5000.0)
    up = link(make_event, "up", 1, timestamp=5000.0 + 301)
    found = engine.evaluate_batch([down, up])
    assert kinds(found) == ["problem", "clear"]
    assert found[0].finding.evidence == [down.id]
    assert found[1].finding.evidence == [up.id]
    assert engine.tick(RECEIVED_AT + 3600) == []


def test_repeated_downs_keep_the_first(make_event: EventFactory, make_rule: RuleFactory) -> None:
    """The hold counts from the first down; later downs while open are evidence too."""
    engine = engine_of(make_rule(**LINK))
    first, again = link(make_event, "down", 0), link(make_event, "down", 200)
    engine.evaluate_batch([first, again])
    assert engine.tick(RECEIVED_AT + 299) == []  # 300 s hold from the first down, not 500 s
    [held] = engine.tick(RECEIVED_AT + 300)
    assert held.finding.evidence == [first.id, again.id]


def test_an_up_without_a_down_is_nothing(make_event: EventFactory, make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(**LINK))
    assert engine.evaluate(link(make_event, "up", 0)) == []
    assert engine.state_size() == 0


FLAPPING = {
    "down": LINK["state"]["down"],
    "up": LINK["state"]["up"],
    "flap": {"count": 3, "window": "1m"},
}
FLAP = {**LINK, "id": "wan.link_flap", "state": FLAPPING}


def test_more_than_count_transitions_within_the_window_is_flapping(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**FLAP))
    states = ["down", "up", "down", "up", "down", "up", "down", "up"]
    found = engine.evaluate_batch([link(make_event, s, n * 5) for n, s in enumerate(states)])
    assert len(found) == 2  # 4 transitions each, then the count starts again
    flapping = found[0].finding
    assert flapping.labels == {"device_id": "dev-1", "ifname": "wan", "flapping": "true"}
    assert (flapping.count, flapping.window_seconds, len(flapping.evidence)) == (4, 60.0, 4)
    assert "4 transitions within 60 s" in found[0].reason


def test_transitions_spread_wider_than_the_window_are_not_flapping(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**FLAP))
    states = ["down", "up", "down", "up", "down", "up"]
    assert engine.evaluate_batch([link(make_event, s, n * 30) for n, s in enumerate(states)]) == []
    engine.tick(RECEIVED_AT + 10_000)
    assert engine.state_size() == 0  # nothing left to judge


def test_state_conditions_share_the_match_conditions(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**{**LINK, "match": {"program": "netifd"}}))
    engine.evaluate(link(make_event, "down", 0, program="other"))
    assert engine.state_size() == 0


def test_a_hold_carries_across_a_snapshot(make_event: EventFactory, make_rule: RuleFactory) -> None:
    rule = make_rule(**LINK)
    before = engine_of(rule)
    before.evaluate(link(make_event, "down", 0))
    after = engine_of(rule)
    after.restore(before.snapshot())
    assert kinds(after.tick(RECEIVED_AT + 300)) == ["problem"]


def test_a_state_clear_may_use_the_groups_of_the_shared_match(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(**{
        **LINK, "id": "wan.shared",
        "match": {"message": r"interface '(?P<ifname>\w+)'"},
        "state": {"down": {"message": "is now down"}, "up": {"message": "is now up"},
                  "hold": "5m"},
        "clear": {"message": "was removed"},
    })  # fmt: skip
    engine = engine_of(rule)
    down = link(make_event, "down", 0)
    engine.evaluate(down)
    [held] = engine.tick(RECEIVED_AT + 300)
    removed = make_event("Interface 'wan' was removed", at=400, program="netifd", domain="wan")
    [cleared] = engine.evaluate(removed)
    assert cleared.finding.kind == "clear"
    assert cleared.finding.fingerprint == held.finding.fingerprint
    assert engine.state_size() == 0
