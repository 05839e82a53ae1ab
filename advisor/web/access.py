"""Who may do what, and how much: the maintainer's desk sessions and the limits on every request.

    DeskGate          the one desk login: per-client back-off, logged failures, expiring tokens
    RateLimit         a sliding-window count per key (feedback clicks per client)
    RequestLimits     ASGI middleware: body size caps, uploads only for a desk session, no
                      monitoring routes

Anyone who can reach the port is an anonymous chat user; only the maintainer logs in. The gate
keeps no global state: the app builds one and passes it to the handlers and the middleware.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DESK_COOKIE = "advisor_desk"
DESK_HEADER = "x-advisor-desk"

Clock = Callable[[], float]


@dataclass
class _Session:
    client: str
    created: float
    last_seen: float


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass(frozen=True)
class LoginResult:
    token: str | None
    wait_seconds: float = 0.0  # > 0 when this client must wait before trying again

    @property
    def ok(self) -> bool:
        return self.token is not None


class DeskGate:
    """Desk logins and sessions.

    - A wrong password counts against the client that sent it (its address), never against
      everyone: a flood of guesses from one address cannot lock the maintainer out.
    - After `free_attempts` failures a client waits, doubling from one second up to
      `max_lockout`; a login during the wait is refused at once without checking the password
      (so guessing costs the attacker time, not the server a thread).
    - A session is a random token bound to the client that logged in, valid `idle_seconds`
      after its last use and never more than `max_seconds` after the login.
    """

    def __init__(
        self,
        password: str | None,
        *,
        idle_seconds: float = 1800.0,
        max_seconds: float = 8 * 3600.0,
        free_attempts: int = 3,
        max_lockout: float = 300.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._password = (password or "").encode()
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.free_attempts = free_attempts
        self.max_lockout = max_lockout
        self._clock = clock
        self._sessions: dict[str, _Session] = {}
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._password)

    def login(self, password: str | None, client: str) -> LoginResult:
        now = self._clock()
        with self._lock:
            failures = self._failures.get(client)
            if failures is not None and failures.locked_until > now:
                wait = failures.locked_until - now
                log.warning("desk login refused: client %s must wait %.0f s after %d failed attempts", client, wait, failures.count)
                return LoginResult(None, wait)
            if self.enabled and hmac.compare_digest((password or "").encode(), self._password):
                self._failures.pop(client, None)
                self._prune(now)
                token = secrets.token_urlsafe(32)
                self._sessions[token] = _Session(client, now, now)
                log.info("desk login from %s", client)
                return LoginResult(token)
            failures = self._failures.setdefault(client, _Failures())
            failures.count += 1
            wait = 0.0
            if failures.count >= self.free_attempts:
                wait = min(2.0 ** (failures.count - self.free_attempts), self.max_lockout)
                failures.locked_until = now + wait
            if len(self._failures) > 10_000:  # a flood of addresses: forget the oldest entries
                for key in list(self._failures)[:5_000]:
                    del self._failures[key]
            log.warning("desk login failed from %s (%d failed attempts)", client, failures.count)
            return LoginResult(None, wait)

    def check(self, token: str | None, client: str, *, touch: bool = True) -> bool:
        """Whether `token` is a live session of `client`; a check with `touch` counts as use and extends it."""
        if not token or not isinstance(token, str):
            return False
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return False
            if now - session.last_seen > self.idle_seconds or now - session.created > self.max_seconds:
                del self._sessions[token]
                return False
            if session.client != client:
                log.warning("desk session used from %s, logged in from %s: refused", client, session.client)
                return False
            if touch:
                session.last_seen = now
            return True

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def _prune(self, now: float) -> None:
        for token, s in list(self._sessions.items()):
            if now - s.last_seen > self.idle_seconds or now - s.created > self.max_seconds:
                del self._sessions[token]


class RateLimit:
    """At most `count` events per `seconds` for each key."""

    def __init__(self, count: int, seconds: float, clock: Clock = time.monotonic) -> None:
        self.count = count
        self.seconds = seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] > self.seconds:
                events.popleft()
            if len(events) >= self.count:
                return False
            events.append(now)
            if len(self._events) > 10_000:
                for k in [k for k, v in self._events.items() if not v or now - v[-1] > self.seconds]:
                    del self._events[k]
            return True


def client_address(request: Any) -> str:
    """The address a request came from (a gr.Request or a Starlette request), or 'unknown'."""
    client = getattr(request, "client", None)
    host = getattr(client, "host", None) if client is not None else None
    return str(host) if host else "unknown"


# ---------------------------------------------------------------- the ASGI middleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATH = "/gradio_api/upload"
BLOCKED_PREFIXES = ("/monitoring", "/gradio_api/monitoring")


class BodyTooLarge(Exception):
    pass


class RequestLimits:
    """Caps on what a request may carry, before any handler parses it.

    - Every request body is at most `max_body` bytes (questions, feedback, queue calls), checked
      on Content-Length and counted while it streams; an upload at most `max_upload` bytes.
    - Uploads into Gradio's cache are only for a logged-in maintainer (the desk's token in the
      `advisor_desk` cookie or the `X-Advisor-Desk` header); the chat needs none.
    - Gradio's monitoring routes do not exist here.
    """

    def __init__(
        self, app: ASGIApp, *, gate: DeskGate, max_body: int, max_upload: int, path_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.gate = gate
        self.max_body = max_body
        self.max_upload = max_upload
        self.path_limits = dict(path_limits or {})  # path prefix -> a tighter body limit (e.g. the JSON API)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if path.startswith(BLOCKED_PREFIXES):
            await _json(send, 404, {"error": "not found"})
            return
        limit = next((n for prefix, n in self.path_limits.items() if path.startswith(prefix)), self.max_body)
        if path.startswith(UPLOAD_PATH):
            if not self.gate.check(_desk_token(scope), _scope_client(scope)):
                log.warning("upload refused: no desk session (client %s)", _scope_client(scope))
                await _json(send, 403, {"error": "uploads are only for a logged-in maintainer"})
                return
            limit = self.max_upload
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _json(send, 413, {"error": f"the request is larger than {_size(limit)}"})
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _json(send, 413, {"error": f"the request is larger than {_size(limit)}"})


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} bytes"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _content_length(scope: Scope) -> int | None:
    value = _headers(scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _scope_client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _desk_token(scope: Scope) -> str | None:
    headers = _headers(scope)
    if headers.get(DESK_HEADER):
        return headers[DESK_HEADER]
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == DESK_COOKIE and value:
            return value
    return None


async def _json(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
