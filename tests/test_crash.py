"""Crash safety: SIGKILL the indexing process at random moments, then check nothing is half-done.

After every kill the current build is either the previous one or a complete new one: its chunk
count equals the unique chunks, nothing is duplicated or missing, and a self-query of every
document finds it. A final uninterrupted run indexes everything.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from advisor.index.layout import builds_dir, current_build_id, load_build_chunks, read_build_info
from advisor.index.vectors import all_ids, query

pytestmark = pytest.mark.load

KILLS = 12


def _write_doc(corpus: Path, i: int, version: int) -> None:
    paras = "\n\n".join(
        f"Alinea {p} van document {i} versie {version}: partners in netwerk {i} maken afspraken over rol {p} en toetsen die elk kwartaal."
        for p in range(12)
    )
    (corpus / f"doc-{i:02d}.md").write_text(f"# Document {i}\n\n## Deel\n\n{paras}\n")


def check_current_build(index: Path, corpus_files: set[str] | None = None) -> dict[str, int]:
    build = current_build_id(index)
    if build is None:
        return {"chunks": 0, "documents": 0}
    info = read_build_info(index, build)
    assert info["complete"] is True
    chunks = load_build_chunks(index, build)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunks"
    from advisor.index.vectors import EmbeddedChroma

    cols = EmbeddedChroma().collections(build, builds_dir(index) / build)
    assert sum(col.count() for col in cols.values()) == len(ids) == info["chunks"]
    assert set().union(*(all_ids(col) for col in cols.values())) == set(ids), "vector store and chunk list differ"
    sources = {c.source for c in chunks}
    assert sources == set(info["manifest"])
    if corpus_files is not None:
        assert sources == corpus_files
    firsts = {}
    for c in chunks:
        firsts.setdefault(c.source, c)
    for first in firsts.values():
        col = cols[first.language]
        got = col.get(ids=[first.id], include=["embeddings"])
        hits = [h for h, _ in query(col, np.asarray(got["embeddings"][0], dtype=np.float32), 3)]
        assert first.id in hits, "self-query did not find its document"
    return {"chunks": len(ids), "documents": len(sources)}


def test_sigkill_during_indexing_never_leaves_a_half_build(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    index = tmp_path / "index"
    rng = random.Random(2026)
    for i in range(30):
        _write_doc(corpus, i, 0)
    env = {**os.environ, "ADVISOR_EMBEDDING_MODEL": "minilm", "HF_HUB_OFFLINE": "1", "ADVISOR_MODELS_DIR": str(tmp_path / "models")}
    cmd = [sys.executable, "-m", "advisor", "index", "--json", "--corpus", str(corpus), "--index", str(index)]

    # one clean run to learn how long a build takes here
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    full = time.monotonic() - t0
    check_current_build(index)

    survived = 0
    stages: list[str] = []
    for k in range(KILLS):
        # change a few documents so that the next build has real work to do
        for i in rng.sample(range(30), 4):
            _write_doc(corpus, i, k + 1)
        if k % 3 == 0:
            _write_doc(corpus, 30 + k, 0)
        before = current_build_id(index)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, full * 1.1))
        try:
            stages.append(json.loads((index / "progress.json").read_text()).get("stage", "?"))
        except (OSError, ValueError):
            stages.append("start")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = current_build_id(index)
        check_current_build(index)
        assert after == before or after is not None
        survived += 1
    # the next uninterrupted run completes and indexes every file
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    files = {p.name for p in corpus.iterdir()}
    result = check_current_build(index, files)
    # only the current and the previous build remain; crashed build folders are gone
    remaining = {p.name for p in builds_dir(index).iterdir()}
    assert len(remaining) <= 2
    report = {"kills": survived, "stages_at_kill": stages, "build_seconds": round(full, 1), **result}
    out = Path(os.environ.get("RELIABILITY_OUT_CRASH", tmp_path / "crash.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    assert survived >= 10
