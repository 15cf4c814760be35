"""The Parser's contract: one Event or one DeadLetter per record, whatever the bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from parse_helpers import RECEIVED_AT, raw_event

from opsconductor.messages import DeadLetter, Event, RawBatch
from opsconductor.parse.service import Parser

PARSER = Parser(default_timezone="Europe/Rome")


def test_empty_and_oversized_records_are_dead_letters() -> None:
    parser = Parser(max_message_bytes=480)
    for data, reason in (
        (b"", "empty record"),
        (b"\r\n\x00", "empty record"),
        (b"x" * 481, "record exceeds 480 bytes"),
    ):
        result = parser.parse_one(raw_event(data))
        assert isinstance(result, DeadLetter)
        assert (result.reason, result.data, result.stage) == (reason, data, "parse")
    assert isinstance(parser.parse_one(raw_event(b"x" * 480)), Event)


def test_trailer_stripped_and_invalid_utf8_replaced() -> None:
    event = PARSER.parse_one(raw_event(b"<13>Nov  4 19:09:39 h p: caf\xe9\r\n\x00"))
    assert isinstance(event, Event)
    assert event.message == "caf\ufffd"
    assert event.extra == {"invalid_utf8": "1"}


def test_nul_inside_a_record_is_replaced() -> None:
    event = PARSER.parse_one(raw_event(b"odd\x00text\x00"))
    sd = PARSER.parse_one(raw_event(b'<1>1 - - - - - [a b="x\x00y"] m\x00n'))
    assert isinstance(event, Event) and isinstance(sd, Event)
    assert event.message == "odd\ufffdtext"
    assert (sd.message, sd.structured_data) == ("m\ufffdn", {"a": {"b": "x\ufffdy"}})


def test_generic_keeps_the_text_and_copies_the_envelope() -> None:
    raw = raw_event(b"!!! something odd", peer="10.1.2.3:40000")
    event = PARSER.parse_one(raw)
    assert isinstance(event, Event)
    assert (event.format, event.parse_status, event.message) == (
        "generic",
        "generic",
        "!!! something odd",
    )
    assert (event.id, event.received_at, event.source, event.peer) == (
        raw.id,
        raw.received_at,
        raw.source,
        raw.peer,
    )
    assert event.timestamp == RECEIVED_AT
    assert (event.host, event.facility, event.severity, event.domain) == ("", None, None, "generic")


def test_batch_splits_events_and_dead_letters() -> None:
    batch = RawBatch(
        id="b",
        events=[
            raw_event(b"<1>1 - - - - - -"),
            raw_event(b"<1>1 bad - - - - -"),
            raw_event(b"plain"),
        ],
    )
    outcome = PARSER.parse_batch(batch)
    assert [e.format for e in outcome.events] == ["rfc5424", "generic"]
    assert [d.reason for d in outcome.dead_letters] == [
        "expecting a RFC3339MICRO timestamp or a nil value [col 5]"
    ]


PREFIXES = st.sampled_from(
    [
        b"",
        b"<13>",
        b"<1>1 ",
        b"<4>[ 12.5] ",
        b"[",
        b"Sun Jul 19 21:22:03 2020 daemon.notice ",
        b"01:02:03 ",
        b"Aug  4 11:35:37 | ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(prefix=PREFIXES, body=st.binary(max_size=300))
def test_parse_one_never_raises(prefix: bytes, body: bytes) -> None:
    result = PARSER.parse_one(raw_event(prefix + body))
    assert isinstance(result, Event | DeadLetter)
    if isinstance(result, Event):
        assert "\x00" not in result.message
        assert result.parse_status in {"ok", "partial", "generic"}


@settings(max_examples=300, deadline=None)
@given(prefix=PREFIXES, body=st.text(max_size=200))
def test_parse_one_never_raises_on_text(prefix: bytes, body: str) -> None:
    result = PARSER.parse_one(raw_event(prefix + body.encode()))
    assert isinstance(result, Event | DeadLetter)


_WITH_NUL = st.sampled_from([
    b"<13>Oct 11 22:14:15 h%sst ap%sp[1%s]: m%ssg",
    b"Sun Jul 19 21:22:03 2020 daemon.notice net%sifd: a%sb %s %s",
    b'<13>1 - h%s a%s - - [x@1 k="v%s"] m%s',
    b"[ 12.3] k%s %s %s %s",
]).map(lambda template: template.replace(b"%s", b"\x00"))  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(_WITH_NUL)
def test_no_field_holds_nul(data: bytes) -> None:
    """PostgreSQL text and jsonb refuse NUL: no parsed field may carry one."""
    result = Parser().parse_one(raw_event(data))
    if isinstance(result, DeadLetter):
        assert "\x00" not in result.reason
        return
    texts = [result.host, result.program, result.procid, result.msgid, result.message]
    texts += list(result.extra.values())
    texts += [v for params in result.structured_data.values() for v in params.values()]
    assert all("\x00" not in text for text in texts), result
