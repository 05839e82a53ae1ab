"""The desk's login gate, the rate limit and the request limits, without a server (exact clock)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from advisor.web.access import DESK_COOKIE, DeskGate, RateLimit, RequestLimits


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def gate(clock: Clock, **kw: Any) -> DeskGate:
    return DeskGate("geheim", clock=clock, **kw)


def test_a_guessing_flood_from_one_client_does_not_lock_out_the_maintainer() -> None:
    clock = Clock()
    g = gate(clock)
    for _ in range(50):
        assert not g.login("raden", "10.0.0.66").ok
    result = g.login("geheim", "10.0.0.1")
    assert result.ok and result.wait_seconds == 0


def test_failed_logins_back_off_per_client_and_refuse_during_the_wait() -> None:
    clock = Clock()
    g = gate(clock, free_attempts=3)
    waits = [g.login("fout", "1.2.3.4").wait_seconds for _ in range(3)]
    assert waits == [0.0, 0.0, 1.0]
    # During the wait even the right password is refused, without being checked.
    refused = g.login("geheim", "1.2.3.4")
    assert not refused.ok and refused.wait_seconds == pytest.approx(1.0)
    clock.t += 1.5
    assert g.login("fout", "1.2.3.4").wait_seconds == 2.0
    clock.t += 2.5
    assert g.login("geheim", "1.2.3.4").ok


def test_the_lockout_is_capped() -> None:
    clock = Clock()
    g = gate(clock, max_lockout=300.0)
    for _ in range(30):
        clock.t += 10_000
        result = g.login("fout", "x")
    assert result.wait_seconds == 300.0


def test_failed_logins_are_logged_with_the_client(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="advisor.web.access"):
        DeskGate("geheim").login("fout", "192.0.2.7")
    assert any("failed" in r.getMessage() and "192.0.2.7" in r.getMessage() for r in caplog.records)


def test_sessions_are_bound_to_the_client_and_expire() -> None:
    clock = Clock()
    g = gate(clock, idle_seconds=60, max_seconds=300)
    token = g.login("geheim", "a").token
    assert token and g.check(token, "a")
    assert not g.check(token, "b")  # a reused token from another client
    assert not g.check("made-up", "a")
    assert not g.check(None, "a")
    clock.t += 50
    assert g.check(token, "a")  # use extends the idle time ...
    clock.t += 50
    assert g.check(token, "a")
    clock.t += 61
    assert not g.check(token, "a")  # ... until it runs out
    token = g.login("geheim", "a").token
    for _ in range(6):
        clock.t += 55
        ok = g.check(token, "a")
    assert not ok  # never beyond max_seconds after the login, however busy


def test_a_check_without_touch_does_not_keep_a_session_alive() -> None:
    clock = Clock()
    g = gate(clock, idle_seconds=60)
    token = g.login("geheim", "a").token
    for _ in range(3):
        clock.t += 30
        g.check(token, "a", touch=False)
    assert not g.check(token, "a")


def test_logout_ends_the_session() -> None:
    g = DeskGate("geheim")
    token = g.login("geheim", "a").token
    g.logout(token)
    assert not g.check(token, "a")


def test_no_password_means_no_login() -> None:
    g = DeskGate(None)
    assert not g.login("", "a").ok
    assert not g.login(None, "a").ok


def test_rate_limit_counts_per_key_in_a_sliding_window() -> None:
    clock = Clock()
    limit = RateLimit(3, 60.0, clock=clock)
    assert [limit.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("b")
    clock.t += 61
    assert limit.allow("a")


# ---------------------------------------------------------------- the middleware


def run_asgi(mw: RequestLimits, path: str, body: bytes = b"", headers: dict[str, str] | None = None, chunks: int = 1) -> tuple[int, dict[str, Any], int]:
    """One request through the middleware; returns status, JSON body, and how many bytes the app read."""
    read = {"n": 0}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            m = await receive()
            read["n"] += len(m.get("body", b""))
            if not m.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    mw.app = app
    size = max(len(body) // chunks, 1)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1} for i, p in enumerate(parts)]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    hdrs = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "path": path, "method": "POST", "headers": hdrs, "client": ("127.0.0.1", 5000)}
    asyncio.run(mw(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(payload or b"{}"), read["n"]


def limits(g: DeskGate | None = None) -> RequestLimits:
    return RequestLimits(None, gate=g or DeskGate("geheim"), max_body=1000, max_upload=5000)  # type: ignore[arg-type]


def test_a_body_over_the_limit_is_refused_by_its_declared_length_before_it_is_read() -> None:
    status, body, read = run_asgi(limits(), "/gradio_api/queue/join", b"x" * 2000, {"content-length": "2000"})
    assert status == 413 and "larger than 1000" in body["error"] and read == 0


def test_a_streamed_body_without_length_is_cut_off_at_the_limit() -> None:
    status, body, read = run_asgi(limits(), "/gradio_api/queue/join", b"x" * 5000, chunks=10)
    assert status == 413
    assert read <= 1500


def test_a_small_body_passes() -> None:
    assert run_asgi(limits(), "/api/ask", b'{"question": "x"}')[0] == 200


def test_uploads_need_a_desk_session() -> None:
    g = DeskGate("geheim")
    mw = limits(g)
    assert run_asgi(mw, "/gradio_api/upload", b"data")[0] == 403
    assert run_asgi(mw, "/gradio_api/upload", b"data", {"cookie": f"{DESK_COOKIE}=forged"})[0] == 403
    token = g.login("geheim", "127.0.0.1").token
    assert run_asgi(mw, "/gradio_api/upload", b"data", {"cookie": f"other=1; {DESK_COOKIE}={token}"})[0] == 200
    assert run_asgi(mw, "/gradio_api/upload", b"data", {"x-advisor-desk": str(token)})[0] == 200
    # The upload limit, not the body limit, applies to a maintainer's upload.
    assert run_asgi(mw, "/gradio_api/upload", b"x" * 3000, {"x-advisor-desk": str(token)})[0] == 200
    assert run_asgi(mw, "/gradio_api/upload", b"x" * 6000, {"x-advisor-desk": str(token)})[0] == 413


@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary", "/gradio_api/monitoring", "/monitoring/abc"])
def test_monitoring_routes_do_not_exist(path: str) -> None:
    assert run_asgi(limits(), path)[0] == 404
