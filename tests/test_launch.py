"""`advisor serve` listens at once: /api/health answers while the app is built, everything else waits for it."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from advisor.web.launch import Starting
from tests.ui.conftest import serve_asgi


class SlowApp:
    """An app whose making waits for `release`, and which records its own lifespan."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.events: list[str] = []
        self.fail = fail

    def make(self) -> Any:
        assert self.release.wait(30)
        if self.fail:
            raise RuntimeError("no page today")
        app = FastAPI()

        @app.on_event("startup")
        def started() -> None:
            self.events.append("startup")

        @app.on_event("shutdown")
        def stopped() -> None:
            self.events.append("shutdown")

        @app.get("/api/health")
        def health() -> dict[str, str]:
            return {"status": "ok", "from": "app"}

        @app.get("/")
        def page() -> dict[str, str]:
            return {"page": "the chat"}

        return app


def _stop(server: Any, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=10)


def test_health_answers_while_the_app_is_built_then_the_app_serves_everything() -> None:
    slow = SlowApp()
    url, server, thread = serve_asgi(Starting(slow.make, lambda: {"status": "ok", "from": "early"}), "starting")
    try:
        assert httpx.get(url + "api/health", timeout=5).json() == {"status": "ok", "from": "early"}
        page: dict[str, Any] = {}
        waiting = threading.Thread(target=lambda: page.update(httpx.get(url, timeout=30).json()))
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and not page  # the page waits for the app; it is not refused
        slow.release.set()
        waiting.join(30)
        assert page == {"page": "the chat"}
        assert httpx.get(url + "api/health", timeout=5).json() == {"status": "ok", "from": "app"}
        assert slow.events == ["startup"]  # the app's own lifespan ran once it existed
    finally:
        slow.release.set()
        _stop(server, thread)
    assert slow.events == ["startup", "shutdown"]


def test_without_an_index_health_waits_for_the_app_instead_of_answering_early() -> None:
    slow = SlowApp()
    url, server, thread = serve_asgi(Starting(slow.make, lambda: {"status": "no index", "building": True}), "starting")
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(url + "api/health", timeout=0.5)
        slow.release.set()
        assert httpx.get(url + "api/health", timeout=30).json() == {"status": "ok", "from": "app"}
    finally:
        slow.release.set()
        _stop(server, thread)


def test_an_app_that_cannot_be_built_stops_the_server_and_says_why() -> None:
    slow = SlowApp(fail=True)
    starting = Starting(slow.make, lambda: {"status": "ok"})
    url, server, thread = serve_asgi(starting, "starting")
    starting.on_failure = lambda: setattr(server, "should_exit", True)
    slow.release.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert isinstance(starting.failure, RuntimeError) and "no page today" in str(starting.failure)
