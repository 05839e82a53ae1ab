"""The torch path's question encoder (`embedding_runtime='torch'`, the path before ONNX Runtime ran
everything): questions embedded through ONNX Runtime give the vectors sentence-transformers gives."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from advisor.core.settings import load_settings
from advisor.embedding.models import load_embedder
from advisor.embedding.onnx_query import materialize_onnx, supports_onnx

pytestmark = pytest.mark.integration

QUESTIONS = [
    "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?",
    "How do I measure alliance health?",
    "Wat doet een ketenregisseur?",
    "Coöperatie, één café en naïeve privé-afspraken: wat is een goede exitclausule in een 50/50 joint venture?",
    "escalation " * 400,  # longer than the model's 512 tokens: truncated exactly as sentence-transformers does
]


@pytest.fixture(scope="module")
def embedders(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    models = tmp_path_factory.getbasetemp() / "shared-models"
    onnx = load_embedder(load_settings(models_dir=models, embedding_runtime="torch", query_runtime="onnx"))
    torch_only = load_embedder(load_settings(models_dir=models, embedding_runtime="torch", query_runtime="torch"))
    return onnx, torch_only


def test_onnx_query_vectors_equal_sentence_transformers(embedders) -> None:  # type: ignore[no-untyped-def]
    onnx, torch_only = embedders
    assert onnx._query_encoder() is not None  # the ONNX path really is taken
    a = onnx.embed_queries(QUESTIONS)
    b = torch_only.embed_queries(QUESTIONS)
    assert a.shape == b.shape == (len(QUESTIONS), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert float((a * b).sum(axis=1).min()) > 0.99999
    one_by_one = np.stack([onnx.embed_queries([q])[0] for q in QUESTIONS])  # padding in a batch changes nothing
    assert float((one_by_one * a).sum(axis=1).min()) > 0.99999


def test_export_happens_once_and_is_reused(embedders) -> None:  # type: ignore[no-untyped-def]
    onnx, _ = embedders
    path = materialize_onnx(onnx.model, onnx.folder, onnx.models_dir)
    stamp = path.stat().st_mtime_ns
    assert materialize_onnx(onnx.model, onnx.folder, onnx.models_dir) == path
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir() if p.is_file() and not p.name.startswith(".")] == [path.name]


def test_pipelines_it_does_not_reproduce_stay_on_pytorch(embedders) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    onnx, _ = embedders
    assert supports_onnx(onnx.model)
    transformer = onnx.model[0]
    cls_pooled = SentenceTransformer(modules=[transformer, Pooling(384, pooling_mode="cls")], device="cpu")
    assert not supports_onnx(cls_pooled)


def test_query_runtime_setting_is_honoured(tmp_path: Path) -> None:
    assert load_settings().query_runtime == "onnx"
    assert load_settings(query_runtime="torch").query_runtime == "torch"


def test_a_lone_question_takes_the_wide_session_and_overlapping_ones_the_single_thread_session(embedders) -> None:  # type: ignore[no-untyped-def]
    onnx, _ = embedders
    encoder = onnx._query_encoder()
    if (os.cpu_count() or 1) < 2:
        assert encoder.idle_session is None  # one core: nothing to widen
        return
    assert encoder.idle_session is not None
    before = dict(encoder.runs)
    alone = encoder.encode(QUESTIONS[:3])
    assert encoder.runs["idle"] == before["idle"] + 1
    with encoder._count_lock:
        encoder._in_flight += 1  # as if another question were being embedded right now
    try:
        overlapping = encoder.encode(QUESTIONS[:3])
    finally:
        with encoder._count_lock:
            encoder._in_flight -= 1
    assert encoder.runs["busy"] == before["busy"] + 1
    assert encoder._in_flight == 0
    assert float((alone * overlapping).sum(axis=1).min()) > 0.99999  # same vectors from either session


def test_concurrent_questions_get_the_vectors_they_get_alone(embedders) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    onnx, _ = embedders
    serial = onnx.embed_queries(QUESTIONS)
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda q: onnx.embed_queries([q])[0], QUESTIONS * 3))
    for i, v in enumerate(parallel):
        assert float(v @ serial[i % len(QUESTIONS)]) > 0.99999
    assert onnx._query_encoder()._in_flight == 0
