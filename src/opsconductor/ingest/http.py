"""``POST /api/v1/logs``: records over HTTP, into the same pipeline as syslog.

Bodies: ``text/plain`` (one record per line) or JSON — an array of lines, or of objects with
``message`` and optional ``host``, ``program``, ``severity``, ``facility``, ``timestamp``,
``procid``, ``msgid``. An object is turned into an RFC 5424 record, so it is parsed like any
other. The records of one request are published as one batch: 202 means they are queued
(in-process) or stored by JetStream. A malformed body is a 4xx with a message, and nothing
of it is accepted. A large body is published as several batches (JetStream caps a message's
size); when the pipeline has no room within ``http_accept_timeout_seconds`` the answer is
503 with ``Retry-After`` and says how many leading records were accepted.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, field_validator

from opsconductor.api.context import AppContext
from opsconductor.api.deps import Context, Principal, authorize
from opsconductor.api.errors import error_response
from opsconductor.bus import subjects
from opsconductor.errors import InputError, PayloadTooLarge
from opsconductor.ingest.batcher import build_raw_batch, split_records
from opsconductor.severity import facility_code, severity_code

MAX_RECORDS = 100_000

router = APIRouter(tags=["logs"])


class LogObject(BaseModel):
    """One record given as fields rather than as a line."""

    message: str = Field(min_length=1, max_length=65536)
    host: str = Field("-", max_length=255, pattern=r"^[!-~]+$")
    program: str = Field("-", max_length=48, pattern=r"^[!-~]+$")
    procid: str = Field("-", max_length=128, pattern=r"^[!-~]+$")
    msgid: str = Field("-", max_length=32, pattern=r"^[!-~]+$")
    severity: int | str = 6
    facility: int | str = 1
    timestamp: datetime | Annotated[float, Field(ge=0, le=253402300799)] | None = None

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: int | str) -> int:
        try:
            return severity_code(value)
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("facility")
    @classmethod
    def _facility(cls, value: int | str) -> int:
        try:
            return facility_code(value)
        except InputError as exc:
            raise ValueError(str(exc)) from exc

    def to_rfc5424(self) -> bytes:
        """This record as an RFC 5424 line."""
        pri = int(self.facility) * 8 + int(self.severity)
        stamp = "-"
        if isinstance(self.timestamp, datetime):
            moment = self.timestamp if self.timestamp.tzinfo else self.timestamp.replace(tzinfo=UTC)
            stamp = moment.isoformat()
        elif isinstance(self.timestamp, float | int):
            stamp = datetime.fromtimestamp(self.timestamp, UTC).isoformat()
        head = f"<{pri}>1 {stamp} {self.host} {self.program} {self.procid} {self.msgid} - "
        return head.encode() + self.message.encode()


def parse_body(body: bytes, content_type: str) -> list[bytes]:
    """The records of a request body; raises ``InputError`` with a clear message."""
    if not body.strip():
        raise InputError("the body holds no records")
    if "json" in content_type:
        records = _json_records(body)
    else:
        records = [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]
    if len(records) > MAX_RECORDS:
        raise PayloadTooLarge(f"at most {MAX_RECORDS} records per request ({len(records)} sent)")
    return records


def _json_records(body: bytes) -> list[bytes]:
    try:
        items = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InputError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(items, list):
        raise InputError("a JSON body must be an array of lines or of objects")
    return [_json_record(index, item) for index, item in enumerate(items)]


def _json_record(index: int, item: Any) -> bytes:
    if isinstance(item, str):
        if not item.strip():
            raise InputError(f"item {index}: an empty line")
        return item.encode()
    if isinstance(item, dict):
        try:
            return LogObject.model_validate(item).to_rfc5424()
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'item'}: {err['msg']}"
                for err in exc.errors()
            )
            raise InputError(f"item {index}: {problems}") from exc
    raise InputError(f"item {index}: expected a string or an object, got {type(item).__name__}")


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/logs", status_code=202, summary="Submit log records")
async def submit_logs(
    request: Request,
    context: Context,
    _: Annotated[Principal, Depends(authorize("logs:write"))],
) -> JSONResponse:
    """Accept records as text lines or JSON; 202 once they are queued for parsing."""
    settings = context.settings
    body = await read_limited(request, settings.http_max_body_bytes)
    records = parse_body(body, request.headers.get("content-type", "text/plain"))
    peer = request.client.host if request.client else ""
    accepted = 0
    try:
        runs = split_records(
            records,
            settings.batch_max_events,
            settings.batch_max_bytes,
            settings.syslog_max_message_bytes,
        )
        for run in runs:
            await _publish(context, run, peer)
            accepted += len(run)
    except TimeoutError:
        context.metrics.dropped.labels("http", "overload").inc(len(records) - accepted)
        detail = (
            f"the pipeline is full; the first {accepted} of {len(records)} records were "
            "accepted, retry the rest later"
        )
        return error_response(503, detail, {"Retry-After": "1"}, accepted=accepted)
    finally:
        context.metrics.received.labels("http").inc(accepted)
    return JSONResponse({"accepted": accepted}, status_code=202)


async def _publish(context: AppContext, records: list[bytes], peer: str) -> None:
    """Publish one batch, waiting at most ``http_accept_timeout_seconds`` for room."""
    now = time.time()
    batch = build_raw_batch("http", [(now, peer, data) for data in records])
    await asyncio.wait_for(
        context.bus.publish(subjects.raw("http"), batch, msg_id=batch.id),
        context.settings.http_accept_timeout_seconds,
    )
