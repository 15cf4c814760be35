"""RFC 6587 de-framing: go-syslog's framing cases, edge cases and chunking-independence."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from opsconductor.ingest.framing import Frame, FrameDecoder, FrameError, Mode

Item = Frame | FrameError


def decode(stream: bytes, chunks: list[int] | None = None, max_bytes: int = 65536) -> list[Item]:
    """Feed ``stream`` cut at ``chunks`` (sizes, cycled), then finish."""
    decoder = FrameDecoder(max_bytes)
    out: list[Item] = []
    pos = 0
    sizes = chunks or [len(stream) or 1]
    index = 0
    while pos < len(stream):
        size = max(1, sizes[index % len(sizes)])
        out += decoder.feed(stream[pos : pos + size])
        pos += size
        index += 1
    return out + decoder.finish()


def frames(items: list[Item]) -> list[bytes]:
    return [i for i in items if isinstance(i, Frame)]


def errors(items: list[Item]) -> list[str]:
    return [i.reason for i in items if isinstance(i, FrameError)]


EXPECTED_OCTET: dict[str, tuple[list[bytes], list[str]]] = {
    "empty": ([], []),
    "1st ok/2nd mf": ([b"<1>1 - - - - - -", b"<2>12 A B C D E -"], []),
    "1st ok/2nd ko": ([b"<1>1 - - - - - -"], ["expected a frame length (MSG-LEN SP MSG)"]),
    "1st ml/2nd ko": ([b"<1>1 A B C D E -"], ["expected a frame length (MSG-LEN SP MSG)"]),
    "1st ok//utf8": (["<1>1 - - - - - - hellø".encode()], []),
    "1st ko//incomplete SYSLOGMSG": ([], ["truncated frame: expected 16 bytes, got 4"]),
    "1st ko//missing WS found ILLEGAL": ([], ["expected SP after the frame length"]),
    "1st ko//missing WS found EOF": ([], ["truncated frame header"]),
    "1st ok/2nd ok/3rd ok": (
        [
            b"<1>1 2003-10-11T22:14:15.003Z host.local - - - -",
            b"<3>1 - host.local - - - -",
            b"THIRD",  # the last 38 bytes of the input (its Greek text kept byte for byte)
        ],
        [],
    ),
    "1st ok/2nd mf/3rd ok": (
        [b"<1>1 - - - - - -", b"<2>12 A B C D E -", b"<1>1 - - - - - -"],
        [],
    ),
    "MSGLEN gt max message length": ([], ["frame length 16 exceeds 10 bytes"]),
    "1st uf/2nd ok//incomplete SYSLOGMSG/notdetectable": (
        [b"<1>217 <11>1 - -"],
        ["expected a frame length (MSG-LEN SP MSG)"],
    ),
}


def test_go_syslog_octet_counting_cases(shared_data: Path) -> None:
    path = shared_data / "syslog_edge/go-syslog_octetcounting_rfc6587_cases.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {c["descr"] for c in cases} == set(EXPECTED_OCTET)
    for case in cases:
        limit = 10 if case["descr"].startswith("MSGLEN gt max") else 65536
        items = decode(case["input"].encode(), max_bytes=limit)
        want_frames, want_errors = EXPECTED_OCTET[case["descr"]]
        want_frames = [case["input"].encode()[-38:] if f == b"THIRD" else f for f in want_frames]
        assert (frames(items), errors(items)) == (want_frames, want_errors), case["descr"]


def test_go_syslog_non_transparent_cases(shared_data: Path) -> None:
    path = shared_data / "syslog_edge/go-syslog_nontransparent_rfc6587_cases.jsonl"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for case in cases:
        trailers = ["\n", "\x00", "\r\n"] if case["substitute"] else [""]
        for trailer in trailers:
            stream = case["input"].replace("%[1]s", trailer).encode()
            items = decode(stream)
            want = [part for part in case["input"].split("%[1]s") if part]
            assert frames(items) == [w.encode() for w in want], (case["descr"], trailer)
            assert errors(items) == []


def test_mode_is_decided_by_the_first_byte() -> None:
    octets, lines, other = FrameDecoder(), FrameDecoder(), FrameDecoder()
    octets.feed(b"3")
    lines.feed(b"<")
    other.feed(b"Jan")
    assert (octets.mode, lines.mode, other.mode) == (
        Mode.OCTET_COUNTING,
        Mode.NON_TRANSPARENT,
        Mode.NON_TRANSPARENT,
    )


def test_octet_counting_closes_after_a_framing_error() -> None:
    decoder = FrameDecoder()
    items = decoder.feed(b"3 abc0 x")
    assert frames(items) == [b"abc"]
    assert errors(items) == ["invalid frame length 0"]
    assert decoder.closed
    assert decoder.feed(b"3 abc") == []
    assert decoder.finish() == []


def test_octet_counting_skips_blanks_between_frames() -> None:
    assert frames(decode(b"3 abc\n3 def\r\n")) == [b"abc", b"def"]


def test_overlong_lines_are_cut_and_decoding_goes_on() -> None:
    stream = b"<1>" + b"x" * 20 + b"\n<2>ok\n"
    for chunks in (None, [1], [5, 3]):
        items = decode(stream, chunks, max_bytes=10)
        assert errors(items) == ["frame exceeds 10 bytes"]
        assert [i.data for i in items if isinstance(i, FrameError)] == [b"<1>xxxxxxx"]
        assert frames(items) == [b"<2>ok"]


def test_unterminated_last_line_is_a_frame() -> None:
    assert frames(decode(b"<1>a\n<2>b")) == [b"<1>a", b"<2>b"]


def test_error_data_is_bounded() -> None:
    items = decode(b"9" * 30, max_bytes=100)
    assert errors(items) == ["frame length too long"]
    assert all(len(i.data) <= 100 for i in items if isinstance(i, FrameError))


CHUNKS = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), chunks=CHUNKS)
def test_random_bytes_never_raise_and_chunking_does_not_matter(
    data: bytes, chunks: list[int]
) -> None:
    whole = decode(data, max_bytes=64)
    assert decode(data, chunks, max_bytes=64) == whole
    assert all(len(item if isinstance(item, bytes) else item.data) <= 64 for item in whole)


MESSAGES = st.lists(
    st.binary(min_size=1, max_size=60).filter(lambda m: b"\n" not in m and b"\x00" not in m),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(messages=MESSAGES, chunks=CHUNKS, octet=st.booleans())
def test_valid_streams_frame_the_same_whatever_the_chunks(
    messages: list[bytes], chunks: list[int], octet: bool
) -> None:
    if octet:
        stream = b"".join(str(len(m)).encode() + b" " + m for m in messages)
    else:
        messages = [b"<" + m.rstrip(b"\r") for m in messages]
        stream = b"".join(m + b"\n" for m in messages)
    items = decode(stream, chunks, max_bytes=128)
    assert errors(items) == []
    assert frames(items) == messages
