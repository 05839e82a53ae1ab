"""Dense search of a small build multiplies its own vectors and never opens Chroma; a large one asks Chroma."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.index.vectors import query
from advisor.retrieve import search as search_module
from advisor.retrieve.search import EXACT_SEARCH_MAX_CHUNKS, IndexReader

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ["Hoe bouw je vertrouwen op?", "shared goal", "governance van grote netwerken", "escalatieprocedure conflict"]


def test_exact_search_finds_what_chroma_finds(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    searcher = IndexReader(settings, fake_embedder).searcher()
    assert len(searcher.chunks) <= EXACT_SEARCH_MAX_CHUNKS
    for q in QUESTIONS:
        qvec = fake_embedder.embed_queries([q])[0]
        for lang in searcher.counts:
            exact = searcher._nearest(lang, qvec, 4)
            chroma = [(searcher.by_id[cid], sim) for cid, sim in query(searcher.collections[lang], qvec, 4)]
            assert len(exact) == len(chroma) == min(4, searcher.counts[lang])
            assert np.allclose([s for _, s in exact], [s for _, s in chroma], atol=1e-5)
            # the same chunks, up to the order of equal similarities
            assert {i for i, s in exact if s > exact[-1][1] + 1e-5} == {i for i, s in chroma if s > chroma[-1][1] + 1e-5}
            assert all(searcher.chunks[i].language == lang for i, _ in exact)


def test_a_large_build_is_searched_through_chroma_with_the_same_ranking(settings: Settings, fake_embedder, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    exact = [[h.chunk.id for h in IndexReader(settings, fake_embedder).search(q)] for q in QUESTIONS]
    monkeypatch.setattr(search_module, "EXACT_SEARCH_MAX_CHUNKS", 0)
    searcher = IndexReader(settings, fake_embedder).searcher()
    assert "collections" not in vars(searcher)  # not opened yet
    through_chroma = [[h.chunk.id for h in searcher.search(q)] for q in QUESTIONS]
    assert "collections" in vars(searcher)
    assert through_chroma == exact


def test_searching_a_small_build_does_not_import_chroma(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    script = textwrap.dedent(
        """
        import json, sys
        from advisor.core.settings import load_settings
        from advisor.retrieve.search import IndexReader
        from tests.conftest import FakeEmbedder

        hits = IndexReader(load_settings(index_dir=sys.argv[1]), FakeEmbedder()).search("Hoe groeit vertrouwen tussen partners?")
        print(json.dumps({"first": hits[0].chunk.source, "chromadb": "chromadb" in sys.modules}))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", script, str(settings.index_dir)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"first": "vertrouwen.md", "chromadb": False}
