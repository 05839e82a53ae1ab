"""`advisor serve`: listening at once, the app when it is ready.

Most of a cold start is importing Gradio and laying out the page. The server therefore listens
first and builds the app (`advisor.web.app.served_app`: the index when there is none, the
advisor, the page) on a thread of its own. Until the app is ready, `/api/health` is answered here
when a build exists (so a load balancer sees the node within seconds); every other request, and a
health check while there is no index yet, waits for the app and is then served by it, so a client
never sees a half-started server. This module imports neither Gradio nor the model.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.core.settings import Settings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Starting:
    """The ASGI app the server runs: early health answers, then everything from the app `make` builds.

    `make` runs once, on a daemon thread, when the server starts; `health` gives the body of an
    early `/api/health` answer, which is sent only when its status is "ok". The built app's own
    lifespan (Gradio's queue) is run here, since the server's lifespan has begun before it exists.
    """

    def __init__(self, make: Callable[[], ASGIApp], health: Callable[[], dict[str, Any]]) -> None:
        self.make = make
        self.health = health
        self.app: ASGIApp | None = None
        self.failure: BaseException | None = None
        self.on_failure: Callable[[], None] = lambda: None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.app is None and self.failure is None:
            if scope["type"] == "http" and scope.get("path") == "/api/health" and scope.get("method") == "GET":
                body = await asyncio.to_thread(self.health)
                if body.get("status") == "ok":
                    await _send_json(send, 200, body)
                    return
            assert self._ready is not None, "a request before the server's lifespan started"
            await self._ready.wait()
        if self.app is None:
            if scope["type"] == "http":
                await _send_json(send, 500, {"error": "the app could not start; see the server's log"})
            return
        await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._ready, self._stop = asyncio.Event(), asyncio.Event()
                self._task = asyncio.create_task(self._run())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._stop is not None:
                    self._stop.set()
                if self._task is not None and self.app is not None:
                    await self._task  # the app's own shutdown (an app still being built is left to its thread)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _run(self) -> None:
        assert self._ready is not None
        assert self._stop is not None
        loop = asyncio.get_running_loop()
        built: asyncio.Future[ASGIApp] = loop.create_future()

        def make() -> None:
            try:
                app = self.make()
            except BaseException as exc:  # noqa: BLE001 - handed to the server's loop
                loop.call_soon_threadsafe(_settle, built, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, built, app, None)

        # A daemon thread, not the loop's executor: stopping the server must not wait for a build.
        threading.Thread(target=make, name="build-app", daemon=True).start()
        try:
            app = await built
            lifespan = _Lifespan(app)
            await lifespan.startup()
        except BaseException as exc:  # noqa: BLE001 - the server stops, and `serve` raises it
            log.error("the app could not start: %s", exc)
            self.failure = exc
            self._ready.set()
            self.on_failure()
            return
        self.app = app
        self._ready.set()
        await self._stop.wait()
        await lifespan.shutdown()


def _settle(future: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if not future.done():
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(value)


class _Lifespan:
    """Drives an ASGI app's lifespan protocol, as a server would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        reply = await self.outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app's startup failed: {reply.get('message', reply['type'])}")

    async def shutdown(self) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        reply = await self.outbox.get()
        if reply["type"] != "lifespan.shutdown.complete":
            log.warning("the app's shutdown failed: %s", reply.get("message", reply["type"]))
        if self.task is not None:
            await self.task


async def _send_json(send: Send, status: int, content: dict[str, Any]) -> None:
    data = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the app on 127.0.0.1:7860 unless told otherwise (arguments, then GRADIO_SERVER_*)."""
    import uvicorn

    # fastapi comes with the health function; the app needs it anyway, and it is not the slow part
    from advisor.web.api import health

    host = host or os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1"
    port = port or int(os.environ.get("GRADIO_SERVER_PORT") or 7860)

    def make() -> ASGIApp:
        # Gradio, the page and the model: built while the server already listens
        from advisor.web.app import served_app

        return served_app(settings)

    app = Starting(make, lambda: health(settings))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    app.on_failure = lambda: setattr(server, "should_exit", True)
    print(f"Alliantie-adviseur on http://{host}:{port}  (API: POST /api/ask, GET /api/health)", flush=True)
    # A re-index started from the desk runs in its own session and finishes even if the server stops.
    server.run()
    if app.failure is not None:
        raise app.failure
