"""The document viewer reads files like the indexer does: in a bounded worker process, never in the server.

A maintainer may replace an indexed document with a hostile one; the viewer opens the file as it
is now, so it must be held to the same time and memory limits as indexing, and a file that cannot
be read must cost one attempt per version, not one per click.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.ingest.sandbox import GuardedLoader
from advisor.web.viewer import DocumentCache, document_html

# ~4.8 MB of short paragraphs: a legal document, but more than a second to parse.
SLOW_MARKDOWN = "# Vertrouwen\n\n" + "Vertrouwen groeit langzaam tussen partners.\n\n" * 110_000


def _indexed(settings: Settings, fake_embedder: Any) -> Settings:
    report = build_index(settings, fake_embedder)
    assert report.failed == []
    return settings.model_copy(update={"load_timeout": 0.3})


def env_loader(path: Path, source: str) -> dict[str, str]:
    """A 'loader' that reports the worker's environment (imported by the worker process)."""
    return dict(os.environ)


def test_viewer_reads_a_replaced_document_under_the_settings_time_limit(settings: Settings, fake_embedder: Any) -> None:
    fast = _indexed(settings, fake_embedder)
    (settings.corpus_dir / "vertrouwen.md").write_text(SLOW_MARKDOWN, encoding="utf-8")
    t0 = time.perf_counter()
    out = document_html(fast, "vertrouwen.md")  # no cache: a temporary one with the settings' limits
    seconds = time.perf_counter() - t0
    assert 'class="doc-error"' in out
    assert "Vertrouwen groeit langzaam" not in out
    assert seconds < 5  # worker start-up plus the 0.3 s limit, not the parse


def test_viewer_cache_remembers_a_failure_until_the_file_changes(settings: Settings, fake_embedder: Any) -> None:
    fast = _indexed(settings, fake_embedder)
    path = settings.corpus_dir / "vertrouwen.md"
    path.write_text(SLOW_MARKDOWN, encoding="utf-8")
    with DocumentCache(fast.load_timeout, fast.load_memory_mb) as cache:
        first = document_html(fast, "vertrouwen.md", cache=cache)
        assert 'class="doc-error"' in first
        t0 = time.perf_counter()
        for _ in range(5):
            assert document_html(fast, "vertrouwen.md", cache=cache) == first
        assert time.perf_counter() - t0 < 0.5  # remembered: no parse, no worker round trip
        assert cache.loader._proc is None  # the timed-out worker was killed and not restarted
        # A new version of the file is read again.
        path.write_text("# Vertrouwen\n\n## Nieuw\n\nEen nieuwe versie over vertrouwen.\n", encoding="utf-8")
        out = document_html(fast, "vertrouwen.md", cache=cache)
        assert "Een nieuwe versie over vertrouwen." in out


def test_viewer_parses_in_another_process(settings: Settings, fake_embedder: Any) -> None:
    fast = _indexed(settings, fake_embedder)
    cache = DocumentCache(fast.load_timeout, fast.load_memory_mb)
    try:
        assert "Vertrouwen tussen partners groeit" in document_html(fast, "vertrouwen.md", cache=cache)
        worker = cache.loader._proc
        assert worker is not None and worker.pid != os.getpid() and worker.poll() is None
    finally:
        cache.close()
    assert worker.wait(5) is not None  # closed with the cache


def test_a_guarded_loader_can_be_shared_by_threads(corpus: Path) -> None:
    files = ["vertrouwen.md", "shared-goal.md", "keten.html", "conflict.docx"]
    errors: list[str] = []
    with GuardedLoader(timeout=30) as guard:

        def work(k: int) -> None:
            for i in range(6):
                name = files[(k + i) % len(files)]
                try:
                    doc = guard.load(corpus / name, name)
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                if doc.source != name:
                    errors.append(f"{name}: got {doc.source}")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []


def test_the_worker_environment_holds_no_secrets(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("ADVISOR_ADMIN_PASSWORD", "geheim")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SECRET_X", "x")
    (tmp_path / "a.md").write_text("# A\n\nTekst.\n")
    with GuardedLoader(timeout=20, target="tests.test_viewer_sandbox:env_loader") as guard:
        env = guard.load(tmp_path / "a.md", "a.md")
    assert "PATH" in env
    assert not {"ADVISOR_ADMIN_PASSWORD", "OPENAI_API_KEY", "SECRET_X"} & set(env)
