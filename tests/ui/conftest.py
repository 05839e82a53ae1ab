"""A launched app on loopback for the UI tests: real index, real Chroma, real HTTP, real Gradio queue.

Most tests answer with the fake embedder (fast, exact); the desk's re-index then runs
`python -m tests.ui.fake_index`, a separate process exactly like `python -m advisor index`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from advisor.core.settings import Settings, load_settings
from tests.conftest import FAKE_EMBEDDER_SETTINGS, FakeEmbedder, write_fixture_corpus

PASSWORD = "geheim-wachtwoord"
TRACKER = "http://tracker.example/pixel.png"
EVIL = "https://evil.example"

# A text document quoting Markdown and HTML that would load outside URLs if rendered as written.
CHARTER_TXT = f"""Het alliantiecharter

Een alliantiecharter legt de spelregels van de samenwerking vast ![logo van de partner]({TRACKER}) en wordt door beide partners ondertekend.
Het alliantiecharter beschrijft ook hoe de stuurgroep besluiten neemt, zie [de website]({EVIL}/charter) en <img src="{EVIL}/y.png"> voor een voorbeeld.
"""

FAKE_INDEX = [sys.executable, "-m", "tests.ui.fake_index", "--json"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveApp:
    url: str
    settings: Settings
    app: Any
    blocks: Any
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=5)
        self.app.state.runner.stop_all()
        self.app.state.viewer_cache.close()
        self.blocks.close()


def serve_asgi(app: Any, name: str = "app") -> tuple[str, Any, threading.Thread]:
    """Serve an ASGI app with uvicorn on a free loopback port in a background thread."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True, name=f"uvicorn-{name}-{port}")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/", server, thread


def launch(settings: Settings, advisor: Any, index_command: Sequence[str] | None = None, eval_command: Sequence[str] | None = None) -> LiveApp:
    """Serve `build_app` on a free loopback port in a background thread."""
    from advisor.web.app import build_app

    app, blocks = build_app(settings, advisor, index_command=index_command, eval_command=eval_command)
    url, server, thread = serve_asgi(app)
    return LiveApp(url, settings, app, blocks, server, thread)


def ui_settings(root: Path, *, fake: bool = True, **overrides: Any) -> Settings:
    """The fixture corpus plus a document quoting external images; thresholds for the fake embedder when `fake`."""
    corpus = write_fixture_corpus(root / "corpus")
    (corpus / "charter.txt").write_text(CHARTER_TXT, encoding="utf-8")
    values: dict[str, Any] = {
        "corpus_dir": corpus,
        "index_dir": root / "index",
        "models_dir": root / "models",
        "admin_password": PASSWORD,
        "upload_max_mb": 0.05,
        "feedback_path": root / "data" / "feedback.jsonl",
        "concurrency_limit": 2,
    }
    if fake:
        values.update(FAKE_EMBEDDER_SETTINGS)
    values.update(overrides)
    return load_settings(**values)


@contextlib.contextmanager
def isolated_env(root: Path) -> Iterator[None]:
    """What tests/conftest.py's autouse fixture does, for fixtures wider than one test."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("ADVISOR_"):
                mp.delenv(key)
        mp.setenv("ADVISOR_CONFIG", str(root / "no-such-advisor.toml"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield


def fake_live_app(root: Path, index_command: Sequence[str] = FAKE_INDEX, eval_command: Sequence[str] | None = None, **overrides: Any) -> LiveApp:
    from advisor.answer.service import Advisor
    from advisor.index.build import build_index

    with isolated_env(root):
        settings = ui_settings(root, **overrides)
    embedder = FakeEmbedder()
    report = build_index(settings, embedder)
    assert report.failed == []
    assert report.documents == 6
    return launch(settings, Advisor(settings, embedder), index_command=index_command, eval_command=eval_command)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    app = fake_live_app(
        tmp_path_factory.mktemp("ui"),
        eval_command=[sys.executable, "-m", "tests.ui.fake_eval"],
    )
    yield app
    app.stop()


@pytest.fixture
def client(live: LiveApp) -> Any:
    """A fresh gradio_client session (its own browser-like state) on the live app."""
    from gradio_client import Client

    return Client(live.url, verbose=False, download_files=str(live.settings.index_dir.parent / "downloads"))


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
