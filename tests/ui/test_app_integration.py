"""The launched app with the real packaged model and the real `python -m advisor index` from the desk."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.ui.conftest import PASSWORD, LiveApp, isolated_env, launch, ui_settings, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    from advisor.services import build_services

    root = tmp_path_factory.mktemp("ui-real")
    with isolated_env(root):
        # The default model (multilingual-e5-small), materialized once per test session.
        settings = ui_settings(root, fake=False, models_dir=tmp_path_factory.getbasetemp() / "shared-models", upload_max_mb=1.0)
        services = build_services(settings)  # one model for the build and the answers
        report = services.build_index()
        assert report.failed == []
        assert report.documents == 6
        app = launch(settings, services.advisor)
    yield app
    app.stop()


def _answer(out: tuple[Any, ...]) -> str:
    """The last chat message's visible text (the chat shows sanitized HTML)."""
    content = out[0][-1]["content"]
    text = " ".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def test_real_model_answers_dutch_and_english_with_sources_and_refuses_the_rest(real: LiveApp) -> None:
    client = Client(real.url, verbose=False)
    out = client.predict("Hoe bouw je vertrouwen op tussen twee partnerorganisaties?", api_name="/ask")
    assert "[1]" in _answer(out)
    assert 'id="src-0-1"' in out[2]
    assert "vertrouwen.md" in out[2]
    follow = client.predict("And which governance form suits a large network with many members?", api_name="/ask")
    assert "[1]" in _answer(follow)
    assert "governance.pdf" in follow[2]
    data = httpx.post(real.url + "api/ask", json={"question": "What is the capital of France?"}, timeout=60).json()
    assert data["refused"] is True
    assert data["language"] == "en"
    assert data["suggestions"] == []  # plainly unrelated: no "nearest topics"


def test_desk_upload_and_real_reindex_process_make_a_new_document_answerable(real: LiveApp, tmp_path: Path) -> None:
    client = Client(real.url, verbose=False)
    token = client.predict(PASSWORD, api_name="/desk_unlock")[-1]
    client.cookies["advisor_desk"] = token  # as the browser sets it: uploads need it
    doc = tmp_path / "exit-strategie.md"
    doc.write_text(
        "# Exitstrategie voor allianties\n\n## Uitstappen\n\n"
        "Een goede exitregeling beschrijft hoe partners de alliantie beëindigen en gezamenlijke bezittingen verdelen. "
        "Spreek vooraf af wie welke klanten, medewerkers en intellectueel eigendom meeneemt.\n",
        encoding="utf-8",
    )
    note, *_ = client.predict([handle_file(str(doc))], api_name="/desk_upload")
    assert "exit-strategie.md: added" in note
    assert client.predict(api_name="/desk_reindex") == "Re-index started."
    status = wait_for(lambda: (s := client.predict(token, api_name="/desk_status"))["index"].startswith(("Build", "The re-index failed")) and s, timeout=240, interval=1.0)
    assert "is now current: 7 documents" in status["index"], status["index"]
    data = httpx.post(real.url + "api/ask", json={"question": "Hoe verdeel je de bezittingen als een alliantie wordt beëindigd?"}, timeout=60).json()
    assert data["refused"] is False
    assert data["citations"][0]["source"] == "exit-strategie.md"


def test_advisor_serve_on_a_fresh_clone_builds_the_index_then_serves(tmp_path_factory: pytest.TempPathFactory) -> None:
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import write_fixture_corpus
    from tests.ui.conftest import free_port

    root = tmp_path_factory.mktemp("serve")
    corpus = write_fixture_corpus(root / "corpus")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "GRADIO_"))}
    env |= {
        "ADVISOR_CONFIG": str(root / "none.toml"),
        "ADVISOR_MODELS_DIR": str(tmp_path_factory.getbasetemp() / "shared-models"),
        "GRADIO_SERVER_PORT": str(port),
        "HF_HUB_OFFLINE": "1",
    }
    cmd = [sys.executable, "-m", "advisor", "serve", "--corpus", str(corpus), "--index", str(root / "index")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert health is not None, "the server did not come up"
        assert health["status"] == "ok"
        assert health["documents"] == 5
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200
        assert "Alliantie-adviseur" in page.text
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "No index yet: building it" in output
    assert f"on http://127.0.0.1:{port}" in output
