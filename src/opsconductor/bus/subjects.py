"""Subject names and the message type each subject family carries.

``raw.<source>`` → parse → ``events.<domain>`` → store, agents → ``findings.<agent>`` → alerts →
``alerts.<change>``; rejected records go to
``deadletter.<stage>``; configuration changes travel on ``control.<verb>.<kind>``; components
say they are alive on ``status.<component>``.
"""

from __future__ import annotations

from opsconductor.messages import (
    AlertChangeBatch,
    ControlMessage,
    DeadLetterBatch,
    EventBatch,
    FindingBatch,
    Heartbeat,
    Message,
    RawBatch,
)

RAW = "raw"
EVENTS = "events"
DEADLETTER = "deadletter"
FINDINGS = "findings"
ALERTS = "alerts"
CONTROL = "control"
STATUS = "status"

#: Stream families: (family, the message type its subjects carry).
FAMILIES: dict[str, type[Message]] = {
    RAW: RawBatch,
    EVENTS: EventBatch,
    DEADLETTER: DeadLetterBatch,
    FINDINGS: FindingBatch,
    ALERTS: AlertChangeBatch,
    CONTROL: ControlMessage,
    STATUS: Heartbeat,
}


#: The durable consumers of the pipeline's stages: (filter, durable name).
PARSE_CONSUMER = (f"{RAW}.>", "parse")
STORE_EVENTS_CONSUMER = (f"{EVENTS}.>", "store-events")
STORE_DEADLETTERS_CONSUMER = (f"{DEADLETTER}.>", "store-deadletters")
AGENTS_CONSUMER = (f"{EVENTS}.>", "agents")
"""Embedded mode: one agents consumer sees every partition."""
ALERTS_CONSUMER = (f"{FINDINGS}.>", "alerts")
STORE_STATUS_CONSUMER = (f"{STATUS}.>", "store-status")
"""The store records the agents' heartbeats (not declared ahead: an old beat is no loss)."""
STAGE_CONSUMERS = (
    PARSE_CONSUMER,
    STORE_EVENTS_CONSUMER,
    STORE_DEADLETTERS_CONSUMER,
    ALERTS_CONSUMER,
)
"""Declared whenever the JetStream streams are set up, so a record published before its stage
ever started is kept for it (the streams keep a record until its consumers have it)."""


def agent_partition_consumer(partition: int) -> tuple[str, str]:
    """Distributed mode: (filter, durable) of one partition of the agents' events."""
    return (f"{EVENTS}.*.{partition}", f"agents-p{partition}")


def stage_consumers(partitions: int) -> tuple[tuple[str, str], ...]:
    """Every durable a distributed deployment declares: the stages' and one per partition."""
    return STAGE_CONSUMERS + tuple(agent_partition_consumer(k) for k in range(partitions))


def partition_of(device_id: str, partitions: int) -> int:
    """The partition of a device: its agent state lives with whoever owns the partition."""
    try:
        return int(device_id[:8], 16) % partitions
    except ValueError:
        return sum(device_id.encode()) % partitions


def raw(source: str) -> str:
    """Subject of raw records from one source kind (``syslog``, ``http``, ``replay``)."""
    return f"{RAW}.{source}"


def events(domain: str, partition: int = 0) -> str:
    """Subject of parsed events of one domain and one device partition."""
    return f"{EVENTS}.{domain}.{partition}"


def deadletter(stage: str) -> str:
    """Subject of records rejected by one stage."""
    return f"{DEADLETTER}.{stage}"


def findings(agent: str) -> str:
    """Subject of the findings of one agent (``wifi``, ``security``…)."""
    return f"{FINDINGS}.{agent}"


def alerts(change: str) -> str:
    """Subject of alert changes of one kind (``new``, ``cleared``…)."""
    return f"{ALERTS}.{change}"


def control(verb: str, kind: str) -> str:
    """Subject of a control command, e.g. ``control.reload.rules``."""
    return f"{CONTROL}.{verb}.{kind}"


def status(component: str) -> str:
    """Subject of the heartbeats of one component (``agents``, ``alerts``, ``wifi``…)."""
    return f"{STATUS}.{component}"


def family(subject: str) -> str:
    """The family (first token) of a subject."""
    return subject.split(".", 1)[0]


def message_type(subject: str) -> type[Message]:
    """The message type carried on ``subject``."""
    try:
        return FAMILIES[family(subject)]
    except KeyError as exc:
        raise ValueError(f"no message type is registered for subject {subject!r}") from exc


def matches(subject_filter: str, subject: str) -> bool:
    """NATS wildcard match: ``*`` is one token, a final ``>`` is one or more tokens."""
    wanted = subject_filter.split(".")
    given = subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or (token != "*" and token != given[index]):
            return False
    return len(wanted) == len(given)


_WILDCARDS = frozenset({"*", ">"})


def check_subject(subject: str) -> None:
    """Raise ``ValueError`` unless ``subject`` is publishable: known family, no wildcards."""
    tokens = subject.split(".")
    if len(tokens) < 2 or any(not t or t in _WILDCARDS or " " in t for t in tokens):
        raise ValueError(f"invalid subject {subject!r}: need <family>.<token>…, no wildcards")
    if tokens[0] not in FAMILIES:
        raise ValueError(f"subject {subject!r} names no known family {sorted(FAMILIES)}")


def filter_family(subject_filter: str) -> str:
    """The family a consumer filter reads from; ``ValueError`` if it is bad or spans families."""
    tokens = subject_filter.split(".")
    if any(not t or " " in t for t in tokens) or ">" in tokens[:-1]:
        raise ValueError(f"invalid subject filter {subject_filter!r}")
    if tokens[0] not in FAMILIES:
        raise ValueError(
            f"filter {subject_filter!r} must start with one family of {sorted(FAMILIES)}"
        )
    return tokens[0]


def check_durable(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a usable durable consumer name.

    JetStream forbids ``.``, ``*``, ``>``, whitespace and path separators in durable names; the
    in-process bus applies the same rule so a name that works embedded works distributed.
    """
    if not name or any(c in name for c in ".*>/\\ \t\r\n"):
        raise ValueError(f"invalid durable name {name!r}: no '.', '*', '>', '/', or whitespace")
