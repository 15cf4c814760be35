"""Incremental RFC 6587 de-framing of a syslog TCP stream, one decoder per connection.

``FrameDecoder.feed`` returns, in stream order, each record as ``bytes`` and each
unframeable piece as a ``FrameError`` (reason + offending bytes, for the dead-letter queue).

The first byte of the connection picks the method for its whole life:

* a digit → **octet counting**: ``MSG-LEN SP MSG`` (MSG-LEN without leading zero). Blanks
  (SP, CR, LF, NUL) between frames are skipped. A bad length (not a number, no SP after it,
  zero, leading zero, more than ``max_frame_bytes``) leaves no way to find the next frame, so
  the decoder reports one ``FrameError`` and **closes**: ``closed`` turns true and later input
  is dropped; the receiver should close the connection.
* anything else (normally ``<``) → **non-transparent**: frames end at LF or NUL; a CR
  before the LF is removed; empty frames are skipped. A line longer than
  ``max_frame_bytes`` yields a ``FrameError`` holding its first ``max_frame_bytes`` bytes,
  the rest of that line is dropped, and decoding goes on with the next line.

``finish()`` at end of stream returns an unterminated last non-transparent frame as a frame,
and a partial octet-counted frame as ``truncated frame: expected N bytes, got M``.
Nothing here raises on bad input; the output does not depend on how the stream was chunked.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

_BLANKS = b" \r\n\x00"


Frame = bytes
"""One syslog record cut out of the stream (the bytes between the framing)."""


@dataclass(frozen=True, slots=True)
class FrameError:
    """Bytes that could not be framed, with why; ``data`` is cut to the maximum frame size."""

    reason: str
    data: bytes


class Mode(Enum):
    """How the connection frames its records (decided by its first byte)."""

    UNKNOWN = "unknown"
    OCTET_COUNTING = "octet-counting"
    NON_TRANSPARENT = "non-transparent"


class FrameDecoder:
    """Feed it the bytes of one TCP connection; it returns the frames (and errors) found."""

    def __init__(self, max_frame_bytes: int = 65536) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.mode = Mode.UNKNOWN
        self.closed = False
        self._buffer = bytearray()
        self._discarding = False
        self._max_digits = len(str(max_frame_bytes))

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Add bytes; return every frame (or error) completed by them, in stream order."""
        if self.closed or not data:
            return []
        self._buffer += data
        if self.mode is Mode.UNKNOWN:
            self.mode = Mode.OCTET_COUNTING if self._buffer[:1].isdigit() else Mode.NON_TRANSPARENT
        if self.mode is Mode.OCTET_COUNTING:
            return self._octets()
        return self._lines()

    def finish(self) -> list[Frame | FrameError]:
        """End of stream: what remains in the buffer, as a frame or an error."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        if self.closed:
            return []
        self.closed = True
        if self.mode is Mode.NON_TRANSPARENT and not self._discarding:
            rest = rest.removesuffix(b"\r")
            return [self._line(rest)] if rest else []
        if self.mode is Mode.OCTET_COUNTING:
            rest = rest.lstrip(_BLANKS)
            if rest:
                return [self._truncated(rest)]
        return []

    # ---- octet counting ------------------------------------------------------------------

    def _octets(self) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        buffer = self._buffer
        pos = 0
        while not self.closed:
            while pos < len(buffer) and buffer[pos] in _BLANKS:
                pos += 1
            header = self._header(buffer, pos)
            if header is None:
                break
            if isinstance(header, FrameError):
                out.append(header)
                self._close()
                return out
            length, start = header
            if len(buffer) - start < length:
                break
            out.append(bytes(buffer[start : start + length]))
            pos = start + length
        del buffer[:pos]
        return out

    def _header(self, buffer: bytearray, pos: int) -> tuple[int, int] | FrameError | None:
        """(length, start of MSG), an error, or None when more bytes are needed."""
        end = pos
        while (
            end < len(buffer) and buffer[end : end + 1].isdigit() and end - pos <= self._max_digits
        ):
            end += 1
        if end == len(buffer) and end - pos <= self._max_digits:
            return None
        reason = self._header_error(buffer, pos, end)
        if reason is not None:
            # Only the bytes examined, so the error is the same however the stream was cut.
            return FrameError(reason, bytes(buffer[pos : end + 1]))
        return int(buffer[pos:end]), end + 1

    def _header_error(self, buffer: bytearray, pos: int, end: int) -> str | None:
        """Why ``buffer[pos:]`` is no ``MSG-LEN SP`` (digits end at ``end``), or None."""
        if end - pos > self._max_digits:
            return "frame length too long"
        if end == pos:
            return "expected a frame length (MSG-LEN SP MSG)"
        if buffer[end] != 0x20:
            return "expected SP after the frame length"
        digits = bytes(buffer[pos:end])
        if digits.startswith(b"0"):
            return f"invalid frame length {digits.decode()}"
        if int(digits) > self.max_frame_bytes:
            return f"frame length {int(digits)} exceeds {self.max_frame_bytes} bytes"
        return None

    def _truncated(self, rest: bytes) -> FrameError:
        space = rest.find(b" ")
        digits = rest[:space] if space > 0 else b""
        if not digits.isdigit():
            return FrameError("truncated frame header", rest[: self.max_frame_bytes])
        got = len(rest) - space - 1
        return FrameError(
            f"truncated frame: expected {int(digits)} bytes, got {got}",
            rest[space + 1 :][: self.max_frame_bytes],
        )

    def _close(self) -> None:
        self.closed = True
        self._buffer.clear()

    # ---- non-transparent -----------------------------------------------------------------

    def _lines(self) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        buffer = self._buffer
        if not self._discarding:
            self._split_complete_lines(out)
        pos = 0
        while True:
            end = _trailer(buffer, pos)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            else:
                line = bytes(buffer[pos:end]).removesuffix(b"\r")
                if line:
                    out.append(self._line(line))
            pos = end + 1
        del buffer[:pos]
        if self._discarding:
            buffer.clear()
        elif len(buffer) > self.max_frame_bytes + 1:  # +1: a CR may still precede the LF
            out.append(self._too_long(bytes(buffer)))
            buffer.clear()
            self._discarding = True
        return out

    def _split_complete_lines(self, out: list[Frame | FrameError]) -> None:
        """Fast path for the usual stream (LF trailers, no NUL): one C-level split of every
        complete line in the buffer instead of a search per line; same frames as the loop."""
        buffer = self._buffer
        cut = buffer.rfind(b"\n")
        if cut < 0 or buffer.find(b"\x00", 0, cut) >= 0:
            return
        block = bytes(buffer[:cut])
        del buffer[: cut + 1]
        for line in block.split(b"\n"):
            frame = line[:-1] if line.endswith(b"\r") else line
            if frame:
                out.append(self._line(frame))

    def _line(self, line: bytes) -> Frame | FrameError:
        if len(line) > self.max_frame_bytes:
            return self._too_long(line)
        return line

    def _too_long(self, line: bytes) -> FrameError:
        return FrameError(
            f"frame exceeds {self.max_frame_bytes} bytes", line[: self.max_frame_bytes]
        )


def _trailer(buffer: bytearray, pos: int) -> int:
    """Index of the next LF or NUL at or after ``pos``; -1 when there is none."""
    lf = buffer.find(b"\n", pos)
    nul = buffer.find(b"\x00", pos, lf if lf >= 0 else len(buffer))
    return nul if nul >= 0 else lf
