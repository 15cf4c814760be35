"""Dead letters: stored with bytes intact, idempotent, filtered and paged — on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsconductor.errors import InputError
from opsconductor.ids import ulid_block
from opsconductor.messages import DeadLetter
from opsconductor.store import DeadLetterRow, add_dead_letters, list_dead_letters

Factory = async_sessionmaker[AsyncSession]
PAYLOAD = bytes(range(256)) + b"\x00<13>bad \xff\xfe record\r\n"


def _letters(count: int, source: str = "syslog-udp") -> list[DeadLetter]:
    return [
        DeadLetter(
            id=letter_id,
            received_at=1_700_000_000.0 + (n % 3),
            source=source,
            peer="192.0.2.1:514",
            reason="too long" if n % 2 else "undecodable",
            data=PAYLOAD + n.to_bytes(2, "big"),
            stage="ingest" if n % 2 else "parse",
        )
        for n, letter_id in enumerate(ulid_block(count))
    ]


async def _walk(factory: Factory, source: str | None, limit: int) -> list[DeadLetterRow]:
    rows: list[DeadLetterRow] = []
    cursor: str | None = None
    async with factory() as session:
        while True:
            page = await list_dead_letters(session, source=source, cursor=cursor, limit=limit)
            rows.extend(page.items)
            if page.next_cursor is None:
                return rows
            cursor = page.next_cursor


async def test_dead_letters_keep_bytes_and_are_idempotent(factory: Factory) -> None:
    letters = _letters(7)
    async with factory() as session, session.begin():
        assert await add_dead_letters(session, letters) == 7
        assert await add_dead_letters(session, letters[:3]) == 0
        assert await add_dead_letters(session, []) == 0
    rows = await _walk(factory, None, 3)
    by_id = {row.id: row for row in rows}
    assert len(rows) == len(by_id) == 7
    for letter in letters:
        row = by_id[letter.id]
        assert isinstance(row.data, bytes)
        assert row.data == letter.data
        assert (row.received_at, row.source, row.peer, row.stage, row.reason) == (
            letter.received_at, letter.source, letter.peer, letter.stage, letter.reason,
        )  # fmt: skip
    assert [(r.received_at, r.id) for r in rows] == sorted(
        ((r.received_at, r.id) for r in rows), reverse=True
    )


async def test_dead_letters_filter_by_source(factory: Factory) -> None:
    async with factory() as session, session.begin():
        await add_dead_letters(session, _letters(4, "syslog-udp") + _letters(5, "http"))
    assert len(await _walk(factory, "http", 2)) == 5
    assert {r.source for r in await _walk(factory, "syslog-udp", 2)} == {"syslog-udp"}
    assert await _walk(factory, "snmp", 2) == []


async def test_dead_letters_invalid_cursor(factory: Factory) -> None:
    async with factory() as session:
        with pytest.raises(InputError):
            await list_dead_letters(session, source=None, cursor="garbage", limit=5)
