"""Serving through a re-index: 20 concurrent chat sessions while a full re-index runs out of process.

Phase 1 measures latency without a re-index; phase 2 runs the same load while `advisor index --full`
(embedding cache removed, so it really embeds) builds a new index in its own process. Zero failed
requests are allowed; after the switch the next question sees the new build. Figures are written
to ADVISOR_RELIABILITY_OUT (default: a temporary file) for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.chroma_server import free_port
from tests.conftest import FIXTURE_QUESTIONS, write_extra_documents, write_fixture_corpus

pytestmark = pytest.mark.load

SESSIONS = 20
PHASE_SECONDS = 30
QUESTIONS = [*FIXTURE_QUESTIONS, "What is the capital of France?"]


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else 0.0


def _load(url: str, stop: threading.Event, results: list[tuple[float, float, int, str]], session: int) -> None:
    history: list[str] = []
    with httpx.Client(timeout=120) as client:
        n = session
        while not stop.is_set():
            q = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            t0 = time.monotonic()
            try:
                r = client.post(f"{url}/api/ask", json={"question": q, "history": history[-2:]})
                ok = r.status_code
                build = r.headers.get("x-advisor-build", "")
                if r.status_code == 200:
                    data = r.json()
                    assert "answer" in data and "citations" in data
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                ok, build = -1, type(exc).__name__
            results.append((t0, time.monotonic() - t0, ok, build))
            history.append(q)


def _phase(url: str, seconds: float | None, until: threading.Event | None = None) -> list[tuple[float, float, int, str]]:
    stop = threading.Event()
    results: list[tuple[float, float, int, str]] = []
    threads = [threading.Thread(target=_load, args=(url, stop, results, s), daemon=True) for s in range(SESSIONS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + (seconds or 600)
    while time.monotonic() < deadline and not (until is not None and until.is_set()):
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(150)
    return results


def test_twenty_sessions_keep_chatting_through_a_full_reindex(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    corpus = write_fixture_corpus(tmp_path / "corpus")
    write_extra_documents(corpus, 24)
    index = tmp_path / "index"
    env = {**os.environ, "ADVISOR_MODELS_DIR": str(tmp_path_factory.getbasetemp() / "shared-models"), "HF_HUB_OFFLINE": "1"}
    paths = ["--corpus", str(corpus), "--index", str(index)]
    subprocess.run([sys.executable, "-m", "advisor", "index", *paths], env=env, check=True, capture_output=True, timeout=900)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "advisor", "serve", "--port", str(port), *paths], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        first_build = httpx.get(f"{url}/api/health").json()["build"]
        httpx.post(f"{url}/api/ask", json={"question": QUESTIONS[0]}, timeout=120)  # warm up

        quiet = _phase(url, PHASE_SECONDS)

        # a new document with a fact only it holds, then a full re-index that really embeds
        (corpus / "nieuw-feit.md").write_text("# Het zeilbootprotocol\n\n## Afspraak\n\nHet zeilbootprotocol schrijft voor dat partners elke maand samen een zeiltocht maken om vertrouwen op te bouwen.\n")
        shutil.rmtree(index / "cache", ignore_errors=True)
        done = threading.Event()
        reindex: dict[str, float] = {}

        def run_index() -> None:
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-m", "advisor", "index", "--full", *paths], env=env, check=True, capture_output=True, timeout=1200)
            reindex["seconds"] = time.monotonic() - t0
            done.set()

        indexer = threading.Thread(target=run_index)
        indexer.start()
        busy = _phase(url, None, until=done)
        indexer.join()
        assert done.is_set()

        health = httpx.get(f"{url}/api/health").json()
        assert health["build"] != first_build
        after = httpx.post(f"{url}/api/ask", json={"question": "Wat schrijft het zeilbootprotocol voor?"}, timeout=120).json()
        assert after["citations"] and after["citations"][0]["source"] == "nieuw-feit.md"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()

    def summary(rs: list[tuple[float, float, int, str]]) -> dict[str, float]:
        lat = [d for _, d, ok, _ in rs if ok == 200]
        return {
            "requests": len(rs),
            "errors": sum(1 for _, _, ok, _ in rs if ok != 200),
            "p50_s": round(statistics.median(lat), 3) if lat else 0.0,
            "p95_s": round(_pct(lat, 0.95), 3),
        }

    report = {
        "sessions": SESSIONS,
        "without_reindex": summary(quiet),
        "during_reindex": summary(busy),
        "reindex_seconds": round(reindex["seconds"], 1),
        "documents": health["documents"],
        "chunks": health["chunks"],
        "new_build_seen_after_switch": True,
    }
    out = Path(os.environ.get("RELIABILITY_OUT_LOAD", tmp_path / "load.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    assert report["without_reindex"]["errors"] == 0
    assert report["during_reindex"]["errors"] == 0
    assert report["without_reindex"]["requests"] >= SESSIONS and report["during_reindex"]["requests"] >= SESSIONS
