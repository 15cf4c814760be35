"""The rule engine: each kind of rule, timers, state across restarts and reloads, bounds."""

from __future__ import annotations

import time
from pathlib import Path

from engine_helpers import (
    BRUTE,
    FAILED,
    LINK,
    RECEIVED_AT,
    EventFactory,
    RuleFactory,
    engine_of,
    failures,
)

from opsconductor.agents.agent import SystemAgent, WanAgent, build_agents
from opsconductor.agents.findings import fingerprint_of
from opsconductor.ids import decode, derived_ulid
from opsconductor.messages import Event, RawEvent
from opsconductor.parse.service import Parser

# match


def test_every_matching_event_is_a_problem_finding(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(title="Login failure on {host} ({severity})", summary="{message}",
                     match={"program": "dropbear", "message": "bad password"})  # fmt: skip
    engine = engine_of(rule)
    event = make_event("Bad password attempt for 'root' from 1.2.3.4:22", at=5)
    before = time.time()
    [detection] = engine.evaluate(event)
    finding = detection.finding
    assert (finding.kind, finding.rule_id, finding.agent) == ("problem", "test.rule", "security")
    assert (finding.device_id, finding.host, finding.domain) == ("dev-1", "router1", "security")
    assert finding.title == "Login failure on router1 (info)"
    assert finding.summary == event.message
    assert finding.evidence == [event.id]
    assert finding.observed_at == event.timestamp
    assert finding.detected_at >= before
    assert finding.severity == "major"
    assert finding.labels == {"device_id": "dev-1"}
    assert finding.fingerprint == fingerprint_of("test.rule", ["dev-1"])
    assert engine.evaluate(make_event("Password auth succeeded for 'root'")) == []
    assert engine.evaluate(make_event("bad password", program="sshd")) == []


def test_an_event_matching_clear_is_a_clear_finding_of_the_same_fingerprint(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(
        match={"message": r"(?P<ifname>\w+) link down"},
        clear={"message": r"(?P<ifname>\w+) link up"},
        fingerprint=["device_id", "ifname"],
        title="{ifname} down",
    )
    engine = engine_of(rule)
    [down] = engine.evaluate(make_event("eth0 link down"))
    [up] = engine.evaluate(make_event("eth0 link up", at=3))
    [other] = engine.evaluate(make_event("eth1 link up", at=4))
    assert (down.finding.kind, up.finding.kind) == ("problem", "clear")
    assert up.finding.fingerprint == down.finding.fingerprint != other.finding.fingerprint
    assert up.finding.labels == {"device_id": "dev-1", "ifname": "eth0"}


def test_a_template_value_missing_from_the_event_renders_empty(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(title="[{extra.mac}] [{sd.meta.ip}] [{procid}]")
    [detection] = engine_of(rule).evaluate(make_event("x", extra={}))
    assert detection.finding.title == "[] [] []"


def test_finding_ids_are_derived_from_the_evidence(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule()
    events = [make_event("a", at=1), make_event("b", at=2)]
    first = [d.finding.id for d in engine_of(rule).evaluate_batch(events)]
    again = [d.finding.id for d in engine_of(rule).evaluate_batch(events)]
    assert first == again
    assert len(set(first)) == 2
    assert decode(first[0]) >> 80 == int(events[0].received_at * 1000)


def test_derived_ulid_is_a_function_of_moment_and_key() -> None:
    assert derived_ulid(1.5, b"k") == derived_ulid(1.5, b"k")
    assert derived_ulid(1.5, b"k") != derived_ulid(1.5, b"j")
    assert decode(derived_ulid(1.5, b"k")) >> 80 == 1500
    assert len(derived_ulid(1.5, b"k")) == 26


# threshold


def test_a_threshold_fires_once_per_count_events_in_the_window(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE))
    found = engine.evaluate_batch(failures(make_event, [0, 10, 20, 30, 40, 50, 60]))
    assert len(found) == 2
    first = found[0].finding
    assert (first.count, first.window_seconds) == (3, 120.0)
    assert first.labels == {"device_id": "dev-1", "src": "1.2.3.4"}
    assert first.title == "SSH brute force from 1.2.3.4"
    assert first.observed_at == RECEIVED_AT + 20
    assert found[0].reason == (
        "3 matching events within 120 s for key device_id=dev-1, src=1.2.3.4 (threshold 3)"
    )
    assert found[1].finding.evidence[0] != first.evidence[-1]  # the window restarted empty
    assert engine.state_size() == 1  # the seventh event waits in a fresh window


def test_a_threshold_counts_per_key(make_event: EventFactory, make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(**BRUTE))
    mixed = failures(make_event, [0, 1], "10.0.0.1") + failures(make_event, [2, 3], "10.0.0.2")
    assert engine.evaluate_batch(mixed) == []
    assert engine.state_size() == 2
    [detection] = engine.evaluate_batch(failures(make_event, [4], "10.0.0.2"))
    assert detection.finding.labels["src"] == "10.0.0.2"


def test_events_outside_the_window_do_not_add_up(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE))
    assert engine.evaluate_batch(failures(make_event, [0, 100, 200, 300, 400])) == []
    assert len(engine.evaluate_batch(failures(make_event, [401]))) == 1


def test_the_window_is_judged_in_stated_time_whatever_the_arrival(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE))
    replayed = [
        make_event(FAILED.format(src="1.2.3.4"), at=1, timestamp=RECEIVED_AT - 86400 + stated)
        for stated in (0, 200, 400)
    ]
    assert engine.evaluate_batch(replayed) == []  # arrived together, stated 200 s apart


def test_events_out_of_order_still_add_up(make_event: EventFactory, make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(**BRUTE))
    late = [
        make_event(FAILED.format(src="1.2.3.4"), at=at, timestamp=RECEIVED_AT + stated)
        for at, stated in ((0, 50), (1, 10), (2, 30))
    ]
    [detection] = engine.evaluate_batch(late)
    assert detection.finding.evidence == [late[1].id, late[2].id, late[0].id]
    assert detection.finding.observed_at == RECEIVED_AT + 50


def test_a_threshold_key_may_differ_from_the_fingerprint(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(**{**BRUTE, "threshold": {"count": 3, "window": 60, "key": ["device_id"]}})
    events = [make_event(FAILED.format(src=f"10.0.0.{n}"), at=n) for n in range(3)]
    [detection] = engine_of(rule).evaluate_batch(events)
    assert detection.finding.labels["src"] == "10.0.0.2"  # the event that completed the count


def test_a_clearing_event_clears_and_empties_the_window(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE))
    engine.evaluate_batch(failures(make_event, [0, 1]))
    success = make_event("Password auth succeeded for 'root' from 1.2.3.4:22", at=2)
    [cleared] = engine.evaluate(success)
    assert cleared.finding.kind == "clear"
    assert cleared.finding.fingerprint == fingerprint_of(BRUTE["id"], ["dev-1", "1.2.3.4"])
    assert engine.state_size() == 0
    assert engine.evaluate_batch(failures(make_event, [3, 4])) == []


def test_idle_threshold_keys_are_pruned_on_tick(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE))
    engine.evaluate_batch(failures(make_event, [0, 1]))
    assert engine.tick(RECEIVED_AT + 60) == []
    assert engine.state_size() == 1
    engine.tick(RECEIVED_AT + 122)
    assert engine.state_size() == 0


def test_a_snapshot_carries_a_threshold_across_a_restart(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(**BRUTE)
    before = engine_of(rule)
    before.evaluate_batch(failures(make_event, [0, 1]))
    after = engine_of(rule)
    after.restore(before.snapshot())
    assert after.state_size() == 1
    [detection] = after.evaluate_batch(failures(make_event, [2]))
    assert detection.finding.count == 3


def test_an_unreadable_snapshot_starts_empty(make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(**BRUTE))
    engine.restore(b"\x00garbage")
    assert engine.state_size() == 0


def test_a_snapshot_of_a_changed_rule_is_not_applied(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    before = engine_of(make_rule(**BRUTE))
    before.evaluate_batch(failures(make_event, [0, 1]))
    changed = make_rule(**{**BRUTE, "threshold": {"count": 3, "window": 30}})
    after = engine_of(changed)
    after.restore(before.snapshot())
    assert after.state_size() == 0


def test_replacing_rules_keeps_the_state_of_unchanged_definitions(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    brute = make_rule(**BRUTE)
    other = make_rule(**{**BRUTE, "id": "security.other"})
    engine = engine_of(brute, other)
    engine.evaluate_batch(failures(make_event, [0, 1]))
    assert engine.state_size() == 2
    retitled = make_rule(**{**BRUTE, "title": "Brute force ({src})", "severity": "critical"})
    tighter = {"count": 4, "window": 60}
    tightened = make_rule(**{**BRUTE, "id": "security.other", "threshold": tighter})
    engine.replace_rules([retitled, tightened])
    assert engine.state_size() == 1
    [detection] = engine.evaluate_batch(failures(make_event, [2]))
    assert (detection.finding.rule_id, detection.finding.title) == (
        BRUTE["id"], "Brute force (1.2.3.4)"
    )  # fmt: skip
    assert detection.finding.severity == "critical"


def test_disabled_rules_are_not_evaluated(make_event: EventFactory, make_rule: RuleFactory) -> None:
    engine = engine_of(make_rule(enabled=False))
    assert engine.rules == []
    assert engine.evaluate(make_event("x")) == []


def test_state_is_bounded_per_rule_oldest_key_evicted(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE), max_keys=10)
    engine.evaluate_batch([make_event(FAILED.format(src=f"10.0.{n}.1")) for n in range(25)])
    assert engine.state_size() == 10
    assert engine.evicted == 15
    engine.evaluate_batch(failures(make_event, [1, 2], "10.0.24.1"))
    assert engine.evicted == 15  # the newest key survived and fired


def test_a_window_holds_fewer_than_count_events(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(**{**BRUTE, "threshold": {"count": 3, "window": 10}})
    engine = engine_of(rule)
    engine.evaluate_batch(failures(make_event, [n * 6 for n in range(50)]))
    evaluator = engine._evaluators[rule.id]
    assert all(len(held.marks) < 3 for held in evaluator.table.items.values())  # type: ignore[attr-defined]


# agents


def test_build_agents_makes_every_agent_with_its_enabled_rules(make_rule: RuleFactory) -> None:
    link_rule = make_rule(**LINK)
    off = make_rule(**{**LINK, "id": "wan.off", "enabled": False})
    agents = build_agents([link_rule, off, make_rule()])
    assert sorted(agents) == ["health", "security", "system", "wan", "wifi"]
    assert [rule.id for rule in agents["wan"].engine.rules] == ["wan.link_down"]
    assert agents["wifi"].engine.rules == []
    assert isinstance(agents["wan"], WanAgent)
    assert agents["system"].domains == frozenset({"system", "generic"})


def test_an_agent_takes_the_domains_its_rules_name(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    rule = make_rule(agent="system", match={"program": "dropbear", "domain": "security"})
    agent = SystemAgent([rule])
    assert agent.domains == frozenset({"system", "generic", "security"})
    [detection] = agent.handle([make_event("x", domain="security"), make_event("y", domain="wifi")])
    assert detection.finding.agent == "system"
    agent.replace_rules([])
    assert agent.domains == frozenset({"system", "generic"})


def test_an_agent_evaluates_parsed_openwrt_lines(shared_data: Path, make_rule: RuleFactory) -> None:
    lines = (shared_data / "openwrt" / "openwrt_lines.log").read_bytes().splitlines()
    parser = Parser()
    events = []
    for n, line in enumerate(lines):
        raw = RawEvent(f"01J{n:023d}", RECEIVED_AT + n, "udp", "192.0.2.7:514", line)
        parsed = parser.parse_one(raw)
        if isinstance(parsed, Event):
            events.append(parsed)
    rule = make_rule(**{**LINK, "match": {"domain": ["wan", "system", "generic"]}})
    agent = build_agents([rule])["wan"]
    detections = agent.handle(events) + agent.tick(RECEIVED_AT + 86400)
    assert detections
    assert all(d.finding.labels["ifname"] for d in detections)
    again = build_agents([rule])["wan"]
    repeat = again.handle(events) + again.tick(RECEIVED_AT + 86400)
    assert [d.finding.id for d in repeat] == [d.finding.id for d in detections]


def test_no_rule_admits_most_events_cheaply(
    make_event: EventFactory, make_rule: RuleFactory
) -> None:
    engine = engine_of(make_rule(**BRUTE))
    noise = [make_event("kernel: eth0 up", program="kernel") for _ in range(20_000)]
    started = time.perf_counter()
    assert engine.evaluate_batch(noise) == []
    assert (time.perf_counter() - started) / len(noise) < 20e-6
