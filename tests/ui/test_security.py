"""The security review's findings, tried as an attacker would against a live app on loopback.

Each test names the finding it guards. The chat is driven through Gradio's own queue protocol
(tests/ui/queue_protocol.py), sending data no honest client sends.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui.conftest import PASSWORD, LiveApp, free_port, wait_for
from tests.ui.queue_protocol import PASSWD, call, call_by_name, dependencies, file_message, file_ref

ROOT = Path(__file__).resolve().parents[2]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copies_in(folder: Path, secret: Path) -> list[Path]:
    """Files under `folder` with the same bytes as `secret`."""
    if not folder.is_dir():
        return []
    want = _digest(secret)
    size = secret.stat().st_size
    out = []
    for p in folder.rglob("*"):
        try:
            if p.is_file() and p.stat().st_size == size and _digest(p) == want:
                out.append(p)
        except OSError:
            continue
    return out


def secrets_of(live: LiveApp) -> list[Path]:
    index = Path(live.settings.index_dir)
    build = (index / "CURRENT").read_text().strip()
    found = [Path(PASSWD), *sorted((index / build).glob("*.json"))]
    return [p for p in found if p.is_file()]


def attack_every_event(base: str, paths: list[str]) -> list[dict[str, Any]]:
    """Every event with a backend function, called with file references in every input slot."""
    deps, _ = dependencies(base)
    results = []
    for dep in deps:
        if not dep.has_fn or not dep.inputs:
            continue
        for path in paths:
            conversation = [file_message(path)]
            for data in ([file_ref(path)] * len(dep.inputs), ["Wat is vertrouwen?", conversation, []][: len(dep.inputs)]):
                results.append(call(base, dep.fn_index, data, timeout=20))
    return results


def test_the_chat_takes_no_file_from_the_client_and_serves_none(live: LiveApp) -> None:
    """Critical: a conversation message naming /etc/passwd (or the index's files) made Gradio copy and serve it."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    targets = secrets_of(live)
    before = {t: copies_in(cache, t) for t in targets}
    results = attack_every_event(live.url, [str(t) for t in targets])
    assert results
    for t in targets:
        assert copies_in(cache, t) == before[t], f"{t.name} was copied into Gradio's cache"
    text = repr(results)
    for t in targets:
        assert f"file={t}" not in text
        r = httpx.get(f"{live.url}gradio_api/file={t}", timeout=10)
        assert r.status_code in (403, 404), t.name
    # The chat still answers an honest question afterwards.
    done = call_by_name(live.url, "ask", ["Hoe groeit vertrouwen tussen partners?", None, None])
    assert done.get("msg") == "process_completed" and done.get("success")


def test_the_ask_endpoint_takes_only_the_question(live: LiveApp) -> None:
    deps, _ = dependencies(live.url)
    ask = next(d for d in deps if d.api_name == "ask")
    _, components = dependencies(live.url)
    # the question; the conversation and the page's language are the session's own (server-side) states
    assert [components[i]["type"] for i in ask.inputs] == ["textbox", "state", "state"]


def _desk_session(base: str) -> tuple[str, str]:
    session = os.urandom(6).hex()
    done = call_by_name(base, "desk_unlock", [PASSWORD], session)
    assert done.get("success"), done
    token = next(v for v in done["output"]["data"] if isinstance(v, str) and len(v) > 30)
    return session, token


def test_the_desk_upload_refuses_a_server_path(live: LiveApp) -> None:
    """Critical (with the password): the desk's upload copied a file outside the corpus into it."""
    from gradio.utils import get_upload_folder

    session, _ = _desk_session(live.url)
    corpus = Path(live.settings.corpus_dir)
    targets = secrets_of(live)
    before = {t: copies_in(Path(get_upload_folder()), t) for t in targets}
    for t in targets:
        done = call_by_name(live.url, "desk_upload", [None, [file_ref(str(t))]], session)
        assert not copies_in(corpus, t), f"{t.name} landed in the corpus"
        assert copies_in(Path(get_upload_folder()), t) == before[t]
        assert str(t) not in repr(done)


def test_uploads_to_gradios_cache_are_only_for_the_maintainer(live: LiveApp) -> None:
    """Medium: anyone could upload 100 MiB into Gradio's cache, kept up to a day."""
    files = {"files": ("x.md", b"# x\n" * 10, "text/markdown")}
    assert httpx.post(f"{live.url}gradio_api/upload", files=files, timeout=10).status_code == 403
    _, token = _desk_session(live.url)
    r = httpx.post(f"{live.url}gradio_api/upload", files=files, cookies={"advisor_desk": token}, timeout=10)
    assert r.status_code == 200, r.text
    big = {"files": ("big.md", b"x" * (20 * 2**20), "text/markdown")}
    assert httpx.post(f"{live.url}gradio_api/upload", files=big, cookies={"advisor_desk": token}, timeout=30).status_code == 413


def test_a_huge_question_in_the_chat_is_refused_at_once_with_a_message(live: LiveApp) -> None:
    """High: an 8 MiB question took 15 s and 1.1 GB; the chat had no length limit."""
    for size, lang_word in ((1 * 2**20, "Waarom "), (2500, "Why ")):
        question = (lang_word + "is trust important in an alliance? " if lang_word == "Why " else lang_word + "is vertrouwen belangrijk? ") * (size // 30)
        question = question[:size]
        t0 = time.monotonic()
        done = call_by_name(live.url, "ask", [question, None, None])
        elapsed = time.monotonic() - t0
        assert elapsed < 1.0, elapsed
        assert done.get("msg") == "process_completed"
        shown = repr(done)
        assert ("te lang" in shown) if lang_word == "Waarom " else ("too long" in shown), shown[:500]
        assert "src-card" not in shown  # nothing was answered
    r = httpx.post(f"{live.url}gradio_api/queue/join", content=b'{"data": ["' + b"x" * (9 * 2**20) + b'"]}', headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413


def test_memory_stays_flat_over_ten_sessions_of_maximal_questions(live: LiveApp) -> None:
    from advisor.web.api import MAX_QUESTION

    def rss_mb() -> float:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024

    call_by_name(live.url, "ask", ["Hoe groeit vertrouwen tussen partners?", None])
    start = rss_mb()
    for _ in range(10):
        session = os.urandom(6).hex()
        for q in ("Hoe groeit vertrouwen? " * 200)[:MAX_QUESTION], ("x" * 2**20), ("Wat is een stuurgroep? " * 200)[:MAX_QUESTION]:
            call_by_name(live.url, "ask", [q, None], session, timeout=60)
    assert rss_mb() - start < 200, (start, rss_mb())


def test_feedback_is_bounded_per_answer_and_per_client(live: LiveApp) -> None:
    """High: each anonymous click stored the whole question; 150 clicks made a 153 MiB log."""
    log = Path(live.settings.feedback_path)
    session = os.urandom(6).hex()
    call_by_name(live.url, "ask", ["Hoe groeit vertrouwen tussen partners?", None], session)
    size0 = log.stat().st_size if log.exists() else 0
    notes = [repr(call_by_name(live.url, "feedback_helpful", ["x" * 5000, None], session)) for _ in range(5)]
    assert "Dank" in notes[0] or "Thank" in notes[0]
    assert all("al beoordeeld" in n or "already rated" in n for n in notes[1:])
    added = log.stat().st_size - size0
    assert 0 < added < 12_000  # one bounded line
    # Many sessions from one address: a few per minute, then refused.
    refused = 0
    for _ in range(live.settings.feedback_per_minute + 3):
        s = os.urandom(6).hex()
        call_by_name(live.url, "ask", ["Wat doet een stuurgroep?", None], s)
        refused += "Te veel" in repr(call_by_name(live.url, "feedback_not_helpful", ["", None], s))
    assert refused >= 3


def test_one_login_endpoint_and_a_password_nowhere_else(live: LiveApp) -> None:
    """Medium: three endpoints accepted the password, one of them meant to be private."""
    deps, components = dependencies(live.url)
    password_box = next(i for i, c in components.items() if c.get("props", {}).get("elem_id") == "desk-password")
    takers = [d for d in deps if password_box in d.inputs and d.has_fn]
    assert [d.api_name for d in takers] == ["desk_unlock"]
    assert call_by_name(live.url, "desk_status", [PASSWORD]).get("success") is False


def test_the_desk_refuses_a_reused_or_expired_session(live: LiveApp) -> None:
    """Medium: a reused session id kept the desk open, and sessions never expired."""
    session, token = _desk_session(live.url)
    assert call_by_name(live.url, "desk_status", [token], session).get("success")
    call_by_name(live.url, "desk_logout", [None], session)
    assert call_by_name(live.url, "desk_status", [token], session).get("success") is False
    assert call_by_name(live.url, "desk_feedback", [None], session).get("success") is False
    # An expired session: the gate's clock moves past the idle time.
    session, token = _desk_session(live.url)
    gate = live.app.state.gate
    real = gate._clock
    gate._clock = lambda: real() + gate.idle_seconds + 1
    try:
        assert call_by_name(live.url, "desk_feedback", [None], session).get("success") is False
    finally:
        gate._clock = real


def test_a_login_flood_does_not_slow_the_maintainer(live: LiveApp) -> None:
    """Medium: the throttle was global: after a guessing flood the real login took 15.5 s."""
    gate = live.app.state.gate
    for _ in range(30):
        gate.login("raden", "203.0.113.9")  # another client's guesses
    t0 = time.monotonic()
    _desk_session(live.url)
    assert time.monotonic() - t0 < 2.0


def test_monitoring_is_not_public(live: LiveApp) -> None:
    for path in ("monitoring", "monitoring/summary", "gradio_api/monitoring"):
        assert httpx.get(live.url + path, timeout=10).status_code == 404


# ---------------------------------------------------------------- the app as `make run` starts it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """`advisor serve` in its own process, as `make run` starts it, on a small corpus."""
    from tests.conftest import write_fixture_corpus

    root = tmp_path_factory.mktemp("served")
    corpus = write_fixture_corpus(root / "corpus")
    cache = root / "gradio-cache"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
    env.update(
        HF_HUB_OFFLINE="1", GRADIO_TEMP_DIR=str(cache), GRADIO_SERVER_PORT=str(port), ADVISOR_CONFIG=str(root / "none.toml"),
        ADVISOR_CORPUS_DIR=str(corpus), ADVISOR_INDEX_DIR=str(root / "index"), ADVISOR_FEEDBACK_PATH=str(root / "data" / "f.jsonl"),
        ADVISOR_ADMIN_PASSWORD=PASSWORD,
    )
    log = (root / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "advisor", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: proc.poll() is not None or _up(base), timeout=300, interval=0.5)
        assert proc.poll() is None, (root / "serve.log").read_text()[-2000:]
        yield base, cache, root / "index"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _up(base: str) -> bool:
    """The app itself answers. `/api/health` says ok as soon as a build exists, while Gradio and
    the page may still be loading (`advisor.web.launch`); a request to the app then waits for it,
    so the test's first one would bear the whole start-up on a busy machine."""
    try:
        return httpx.get(base + "config", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.integration
def test_served_app_copies_and_serves_no_server_file(served: tuple[str, Path, Path]) -> None:
    """The critical finding, on the app exactly as `make run` serves it (mounted, not launched)."""
    base, cache, index = served
    build = (index / "CURRENT").read_text().strip()
    targets = [Path(PASSWD), *sorted((index / build).glob("*.json"))]
    results = attack_every_event(base, [str(t) for t in targets])
    assert results
    for t in targets:
        assert copies_in(cache, t) == [], f"{t.name} was copied into Gradio's cache"
        assert httpx.get(f"{base}gradio_api/file={t}", timeout=10).status_code in (403, 404)
    session = os.urandom(6).hex()
    done = call_by_name(base, "desk_unlock", [PASSWORD], session)
    assert done.get("success")
    call_by_name(base, "desk_upload", [None, [file_ref(PASSWD)]], session)
    assert not list((cache).rglob("passwd"))
    assert call_by_name(base, "ask", ["Hoe groeit vertrouwen tussen partners?", None]).get("success")
