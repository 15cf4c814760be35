"""``/api/v1/ws``: the live feed of alert changes, findings and component status.

Protocol (``docs/api.md``, section WebSocket):

* Credentials: ``Authorization: Bearer <token or key>``, ``X-API-Key: <key>`` or, for browsers
  (which cannot set headers on a WebSocket), the query parameter ``token``. They are checked
  when the connection opens and every ``RECHECK_SECONDS`` after: an expired token, a revoked
  key, a disabled user or a changed role closes the connection with 4401. The server always
  accepts the handshake and then closes with 4401 (and the reason) when the credentials are
  missing or do not hold, since a browser
  sees a close code only after the handshake. A role the IP allowlist keeps out of the
  caller's address: 4403.
* The client sends ``{"subscribe": [...]}`` / ``{"unsubscribe": [...]}`` with the types
  ``alert``, ``finding``, ``status``; each is checked against the role (``alerts:read``,
  ``findings:read``, ``system:read``). The server answers ``{"type": "subscribed", "types":
  [...]}`` (what the connection now receives) and, for a type refused or unknown,
  ``{"type": "error", "error": "forbidden" | "bad_request", "detail": ..., "subscription":
  ...}``; a refusal does not close the connection.
* Then frames ``{"type": "alert.created" | "alert.updated" | "alert.resolved" | "finding" |
  "status", "data": {...}}``, as the bus carries the changes (``api.live``).
* A connection that does not read its frames is closed with 1008 ``slow consumer``; on
  shutdown every connection is closed with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import msgspec
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from starlette.requests import HTTPConnection

from opsconductor.api.context import AppContext
from opsconductor.api.live import TOPICS, Feed, LiveHub, frame
from opsconductor.api.security import SESSION_COOKIE, Principal, authenticate_token, gatekeeper
from opsconductor.auth.roles import PERMISSIONS, allowed
from opsconductor.errors import BusError, StoreError, Unauthorized

log = logging.getLogger(__name__)

UNAUTHORIZED = 4401
FORBIDDEN = 4403
TRY_AGAIN_LATER = 1013
RECHECK_SECONDS = 5.0
"""How often an open connection's credentials are checked again."""
CLOSE_TIMEOUT = 1.0
"""Longest wait for a close frame to be written (a slow consumer's never is)."""

router = APIRouter(tags=["live"])


class ClientRequest(msgspec.Struct, forbid_unknown_fields=True):
    """What a client may send: the types to start and to stop receiving."""

    subscribe: list[str] = []
    unsubscribe: list[str] = []


_requests = msgspec.json.Decoder(ClientRequest)


def install(app: FastAPI, context: AppContext) -> None:
    """Serve ``/api/v1/ws`` on ``app``, with a live-feed hub of its own."""
    app.state.live = LiveHub(context.bus, context.metrics)
    app.include_router(router, prefix="/api/v1")
    _hide_tokens_in(logging.getLogger("uvicorn.error"))


async def stop_live_feed(app: Any) -> None:
    """Stop the app's hub, if it has one: listeners stop, connections close with 1001."""
    hub = getattr(getattr(app, "state", None), "live", None)
    if isinstance(hub, LiveHub):
        await hub.stop()


@router.websocket("/ws")
async def live_feed(websocket: WebSocket) -> None:
    """The live feed (see the module docstring for the protocol)."""
    hub: LiveHub = websocket.app.state.live
    await websocket.accept()
    principal = await _authenticate(websocket)
    if principal is None:
        return
    try:
        running = await hub.ensure_started()
    except BusError:
        log.warning("live feed: cannot listen on the bus", exc_info=True)
        running = False
    if not running:
        await _close(websocket, TRY_AGAIN_LATER, "live feed unavailable, retry later")
        return
    feed = hub.attach()
    context = websocket.app.state.context
    watch = asyncio.create_task(_watch(context, credentials_of(websocket) or "", principal, feed))
    try:
        await _serve(websocket, hub, feed, principal)
    finally:
        watch.cancel()
        hub.detach(feed)


async def _watch(context: AppContext, token: str, first: Principal, feed: Feed) -> None:
    """Check the connection's credentials again every ``RECHECK_SECONDS``: an expired token,
    a revoked key, a disabled user or a changed role ends the connection with 4401."""
    while not feed.ended.is_set():
        await asyncio.sleep(RECHECK_SECONDS)
        try:
            now = await authenticate_token(context, token)
        except Unauthorized as exc:
            feed.end(UNAUTHORIZED, str(exc) or "unauthorized")
            return
        except StoreError:
            continue  # the database is away: keep the connection, check again later
        if now.role != first.role:
            feed.end(UNAUTHORIZED, "role changed; connect again")
            return


def credentials_of(connection: HTTPConnection) -> str | None:
    """The token or key a connection carries: ``X-API-Key``, bearer, ``?token=`` or, from a
    page of this server (its ``Origin``), the console's session cookie."""
    key = connection.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    token = connection.query_params.get("token", "").strip()
    if token:
        return token
    origin = connection.headers.get("origin", "").split("://", 1)[-1]
    if origin and origin == connection.headers.get("host"):
        return connection.cookies.get(SESSION_COOKIE) or None
    return None


async def _authenticate(websocket: WebSocket) -> Principal | None:
    """The caller, or ``None`` after closing the connection with the reason."""
    context: AppContext = websocket.app.state.context
    token = credentials_of(websocket)
    try:
        if token is None:
            raise Unauthorized("authentication required: send a bearer token or an API key")
        principal = await authenticate_token(context, token)
        gate = await gatekeeper(context)
        address = websocket.client.host if websocket.client else ""
        if gate.allowed_from(principal.role, address):
            return principal
        await _close(websocket, FORBIDDEN, f"role {principal.role} may not call from here")
    except Unauthorized as exc:
        await _close(websocket, UNAUTHORIZED, str(exc) or "unauthorized")
    except StoreError:
        log.warning("live feed: cannot check credentials", exc_info=True)
        await _close(websocket, TRY_AGAIN_LATER, "database unavailable, retry later")
    return None


async def _serve(websocket: WebSocket, hub: LiveHub, feed: Feed, principal: Principal) -> None:
    """Read requests and write frames until the client leaves or the feed ends."""
    reader = asyncio.create_task(_read(websocket, hub, feed, principal))
    writer = asyncio.create_task(_write(websocket, feed))
    ended = asyncio.create_task(feed.ended.wait())
    tasks = (reader, writer, ended)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception) and not isinstance(result, _GONE):
            log.warning("live feed: connection failed", exc_info=result)
    if feed.close_with is not None and reader not in done:
        await _close(websocket, *feed.close_with)


_GONE = (WebSocketDisconnect, OSError, RuntimeError)
"""What sending or receiving raises once the client has gone (``ClientDisconnected`` is an
``OSError``; Starlette raises ``RuntimeError`` after a close)."""


async def _read(websocket: WebSocket, hub: LiveHub, feed: Feed, principal: Principal) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            hub.send(feed, frame("error", error="bad_request", detail="send JSON text frames"))
            continue
        _apply(hub, feed, principal, text)


async def _write(websocket: WebSocket, feed: Feed) -> None:
    while True:
        text = await feed.queue.get()
        await websocket.send_text(text)


def _apply(hub: LiveHub, feed: Feed, principal: Principal, text: str) -> None:
    """Carry out one client request, answering with the acks and errors it earns."""
    try:
        request = _requests.decode(text)
    except msgspec.DecodeError as exc:
        detail = f'{exc}; send {{"subscribe": [...]}} or {{"unsubscribe": [...]}}'
        hub.send(feed, frame("error", error="bad_request", detail=detail))
        return
    for name in request.unsubscribe:
        if name in TOPICS:
            hub.unsubscribe(feed, name)
    for name in request.subscribe:
        refusal = _refusal(principal, name)
        if refusal is None:
            hub.subscribe(feed, name)
        else:
            hub.send(feed, refusal)
    hub.send(feed, frame("subscribed", types=sorted(feed.topics)))


def _refusal(principal: Principal, name: str) -> str | None:
    """The error frame refusing a subscription to ``name``, or ``None`` if it is allowed."""
    topic = TOPICS.get(name)
    if topic is None:
        detail = f"unknown type {name!r}; one of {', '.join(TOPICS)}"
        return frame("error", error="bad_request", detail=detail, subscription=name)
    if not allowed(principal.role, topic.permission):
        what = PERMISSIONS[topic.permission]
        detail = f"role {principal.role} may not {what} ({topic.permission})"
        return frame("error", error="forbidden", detail=detail, subscription=name)
    return None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with ``code``; give up after ``CLOSE_TIMEOUT`` (the client does not read)."""
    reason = reason.encode()[:123].decode(errors="ignore")  # the protocol's limit
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason), CLOSE_TIMEOUT)


_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*")


class _HideTokens(logging.Filter):
    """Masks ``?token=`` in the server's WebSocket log lines (they show the query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def _hide_tokens_in(logger: logging.Logger) -> None:
    if not any(isinstance(f, _HideTokens) for f in logger.filters):
        logger.addFilter(_HideTokens())
