"""Start-up, indexing and answering work with networking cut, and attempt no outbound connection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_fixture_corpus

pytestmark = pytest.mark.integration

UNSHARE = shutil.which("unshare")


def _run(tmp: Path, name: str, args: list[str], stdin: str | None = None) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    log = tmp / f"{name}.json"
    cmd = [sys.executable, str(Path(__file__).parent / "offline_run.py"), str(log), "--", *args]
    if UNSHARE and os.geteuid() == 0:
        cmd = [UNSHARE, "-n", *cmd]  # a network namespace with only a down loopback: no route anywhere
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update({"ADVISOR_MODELS_DIR": str(tmp / "models"), "PYTHONPATH": str(Path(__file__).parent.parent)})
    res = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=600)
    return res, json.loads(log.read_text())


@pytest.mark.skipif(UNSHARE is None, reason="needs util-linux unshare")
def test_index_and_ask_with_the_network_cut(tmp_path: Path) -> None:
    corpus = write_fixture_corpus(tmp_path / "corpus")
    paths = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    res, events = _run(tmp_path, "index", ["index", "--json", *paths])
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["documents"] == 5
    assert events == []
    res, events = _run(tmp_path, "ask", ["ask", "--json", *paths], stdin="Hoe groeit vertrouwen tussen partners?\n")
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["citations"][0]["source"] == "vertrouwen.md"
    assert events == []
    res, events = _run(tmp_path, "status", ["status", "--json", *paths])
    assert res.returncode == 0 and events == []
