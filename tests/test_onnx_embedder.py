"""The embedding model on ONNX Runtime alone: the vectors torch gives, no torch on the answer path,
an optimized graph made once, one session until embeddings overlap, and a cache that keeps runtimes apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from advisor.core.settings import load_settings
from advisor.embedding.models import CachedEmbedder, EmbeddingCache, load_embedder, runtime_name
from advisor.embedding.onnx_runtime import OnnxEmbedder, optimized_graph, read_pipeline
from tests.conftest import FakeEmbedder, write_fixture_corpus

ROOT = Path(__file__).resolve().parent.parent

PASSAGES = [
    "Vertrouwen tussen partners - Hoe vertrouwen groeit\nVertrouwen groeit wanneer beide organisaties hun afspraken nakomen.",
    "A shared goal\nPeople remember a goal they can explain in three sentences.",
    "Coöperatie, één café en naïeve privé-afspraken: wat is een goede exitclausule in een 50/50 joint venture?",
    "kort",
    "escalatie " * 600,  # longer than the model's 512 tokens: truncated as sentence-transformers truncates
]
QUESTIONS = ["Hoe bouw je vertrouwen op?", "How do I measure alliance health?", "Wat doet een ketenregisseur?"]


# ---------------------------------------------------------------- without the model


def _st_folder(root: Path, pooling: dict[str, bool], modules: list[str] | None = None) -> Path:
    root.mkdir(parents=True)
    kinds = modules or ["Transformer", "Pooling", "Normalize"]
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize"}
    (root / "modules.json").write_text(
        json.dumps([{"idx": i, "name": str(i), "path": paths[k], "type": f"sentence_transformers.models.{k}"} for i, k in enumerate(kinds)])
    )
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 8, **pooling}))
    (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    (root / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "query: ", "document": "passage: "}}))
    (root / "tokenizer.json").write_text("{}")
    return root


def test_a_mean_pooled_folder_is_read_with_its_prompts_and_length(tmp_path: Path) -> None:
    folder = _st_folder(tmp_path / "m", {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False})
    pipeline = read_pipeline(folder)
    assert pipeline is not None
    assert (pipeline.max_length, pipeline.query_prompt, pipeline.document_prompt) == (128, "query: ", "passage: ")


def test_pipelines_onnx_runtime_does_not_reproduce_stay_on_torch(tmp_path: Path) -> None:
    assert read_pipeline(_st_folder(tmp_path / "cls", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})) is None
    assert read_pipeline(_st_folder(tmp_path / "max", {"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True})) is None
    assert read_pipeline(_st_folder(tmp_path / "dense", {"pooling_mode_mean_tokens": True}, ["Transformer", "Pooling", "Pooling"])) is None
    no_tokenizer = _st_folder(tmp_path / "tok", {"pooling_mode_mean_tokens": True})
    (no_tokenizer / "tokenizer.json").unlink()
    assert read_pipeline(no_tokenizer) is None
    assert read_pipeline(tmp_path / "missing") is None


def test_cache_keys_differ_by_runtime_and_a_runtime_never_reads_anothers_vectors(tmp_path: Path) -> None:
    assert EmbeddingCache.key("m", "document", "t", "torch") != EmbeddingCache.key("m", "document", "t", "onnx-fp32")
    assert EmbeddingCache.key("m", "document", "t", "onnx-fp32") != EmbeddingCache.key("m", "document", "t", "onnx-int8")
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    torch_side, onnx_side = FakeEmbedder(), FakeEmbedder()
    torch_side.runtime, onnx_side.runtime = "torch", "onnx-fp32"  # type: ignore[attr-defined]
    texts = ["vertrouwen groeit", "a shared goal"]
    CachedEmbedder(torch_side, cache).embed_documents(texts)
    again = CachedEmbedder(torch_side, cache)
    again.embed_documents(texts)
    assert again.embedded == 0 and again.cached == 2  # the same runtime reads its own vectors back
    other = CachedEmbedder(onnx_side, cache)
    other.embed_documents(texts)
    assert other.embedded == 2 and other.cached == 0
    assert onnx_side.texts_embedded == 2


def test_the_runtime_is_part_of_the_build_fingerprint() -> None:
    from advisor.index.build import settings_fingerprint

    onnx, torch_ = load_settings(), load_settings(embedding_runtime="torch")
    assert (runtime_name(onnx), runtime_name(torch_)) == ("onnx-int8", "torch")  # int8 passages by default
    assert runtime_name(load_settings(passage_precision="fp32")) == "onnx-fp32"
    assert settings_fingerprint(onnx, "m", runtime_name(onnx)) != settings_fingerprint(torch_, "m", runtime_name(torch_))


def test_switching_the_runtime_rebuilds_instead_of_reusing_the_other_runtimes_vectors(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from advisor.index.build import build_index

    first, second = FakeEmbedder(), FakeEmbedder()
    first.runtime, second.runtime = "torch", "onnx-fp32"  # type: ignore[attr-defined]
    build_index(settings, first)
    assert build_index(settings, first).noop
    report = build_index(settings, second)
    assert not report.noop and report.embedded == report.chunks and report.cached == 0


# ---------------------------------------------------------------- with the real model

integration = pytest.mark.integration


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "shared-models"


@pytest.fixture(scope="module")
def embedders(models: Path):  # type: ignore[no-untyped-def]
    onnx = load_embedder(load_settings(models_dir=models))
    torch_ = load_embedder(load_settings(models_dir=models, embedding_runtime="torch", query_runtime="torch"))
    assert isinstance(onnx, OnnxEmbedder) and onnx.runtime == "onnx-fp32"
    assert torch_.runtime == "torch"
    return onnx, torch_


@integration
def test_onnx_passages_and_questions_equal_sentence_transformers(embedders) -> None:  # type: ignore[no-untyped-def]
    onnx, torch_ = embedders
    for got, want in ((onnx.embed_documents(PASSAGES), torch_.embed_documents(PASSAGES)), (onnx.embed_queries(QUESTIONS), torch_.embed_queries(QUESTIONS))):
        assert got.shape == want.shape and got.shape[1] == 384
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert float((got * want).sum(axis=1).min()) > 0.9999
    # batches sorted by length and padded per batch change nothing: one by one gives the same
    one_by_one = np.stack([onnx.embed_documents([p])[0] for p in PASSAGES])
    assert float((one_by_one * onnx.embed_documents(PASSAGES)).sum(axis=1).min()) > 0.99999
    assert onnx.embed_documents([]).shape == (0, 384)


BEYOND_LATIN = ["query: 你好, alliance", "query: samenwerking 🤝 partners", "query: Привет, партнер", "query: ŉ and \u200bzero width"]
LATIN = ["query: naïve coöperatie, café-façade, Øresund ÆØÅ ß", "passage: — – … “quotes” ‘single’ € § ½ ﬁnance", "query:   spaces   tab\tnew\nline  "]


@integration
def test_the_tokenizers_library_gives_the_transformers_tokenizers_ids(embedders) -> None:  # type: ignore[no-untyped-def]
    onnx, torch_ = embedders
    texts = ["passage: " + p for p in PASSAGES] + ["query: " + q for q in QUESTIONS] + LATIN + BEYOND_LATIN
    want = torch_.model.tokenizer(texts, truncation=True, max_length=torch_.model.max_seq_length)["input_ids"]
    assert onnx.tokenizer.encode(texts) == want
    assert len(want[4]) == 512


@integration
def test_latin_script_text_needs_only_the_latin_part_of_the_vocabulary(models: Path) -> None:
    from tokenizers import Tokenizer

    onnx = load_embedder(load_settings(models_dir=models))
    tokenizer = onnx.tokenizer
    assert tokenizer.subset is not None and 100_000 < tokenizer.subset.get_vocab_size() < 150_000  # of 250k
    assert all(tokenizer.covers(t) for t in ["passage: " + p for p in PASSAGES] + LATIN)
    assert not any(tokenizer.covers(t) for t in BEYOND_LATIN)
    onnx.embed_queries(QUESTIONS)
    onnx.embed_documents(PASSAGES)
    assert tokenizer._full is None  # Dutch and English never load the full vocabulary
    full = Tokenizer.from_file(str(onnx.folder / "tokenizer.json"))
    full.enable_truncation(512)
    texts = LATIN + BEYOND_LATIN
    assert tokenizer.encode(texts) == [e.ids for e in full.encode_batch(texts)]
    assert tokenizer._full is not None
    assert tokenizer.token_to_id("<pad>") == full.token_to_id("<pad>") == 1


@integration
def test_the_optimized_graph_is_saved_once_beside_the_export_and_reused(embedders, models: Path) -> None:  # type: ignore[no-untyped-def]
    import onnxruntime

    onnx, _ = embedders
    graph = onnx.graph
    assert graph.parent == models / "onnx" / "optimized"
    assert f"ort{onnxruntime.__version__}" in graph.name and "fp32" in graph.name
    assert (graph.parent / f"{graph.name}.data").stat().st_size > 100 * 2**20  # the weights, memory-mapped by sessions
    stamp = graph.stat().st_mtime_ns
    again = load_embedder(load_settings(models_dir=models))
    assert again.graph == graph and graph.stat().st_mtime_ns == stamp
    assert optimized_graph(models / "onnx" / (graph.name.split("-fp32-")[0] + ".onnx")) == graph
    assert [p.name for p in graph.parent.glob("*-fp32-*.onnx")] == [graph.name]


@integration
def test_one_session_until_embeddings_overlap_then_a_second_for_the_overlapping_ones(models: Path) -> None:
    onnx = load_embedder(load_settings(models_dir=models))
    assert isinstance(onnx, OnnxEmbedder)
    if (os.cpu_count() or 1) < 2:
        assert onnx.idle_threads == onnx.threads == 1  # one core: one session, nothing wider to keep free
        return
    alone = onnx.embed_queries(QUESTIONS)
    assert onnx._narrow is None and onnx.runs == {"idle": 1, "busy": 0}
    with onnx._lock:
        onnx._in_flight += 1  # as if another embedding were running now
    try:
        first = onnx.embed_queries(QUESTIONS)  # still the wide session; the second one opens meanwhile
        deadline = time.monotonic() + 60
        while onnx._narrow is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert onnx._narrow is not None
        second = onnx.embed_queries(QUESTIONS)
    finally:
        with onnx._lock:
            onnx._in_flight -= 1
    assert onnx.runs == {"idle": 1, "busy": 2} and onnx._in_flight == 0
    for v in (first, second):
        assert float((alone * v).sum(axis=1).min()) > 0.99999
    # threads at once get the vectors they get alone
    results: dict[int, np.ndarray] = {}

    def one(i: int) -> None:
        results[i] = onnx.embed_queries([QUESTIONS[i % 3]])[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(float(results[i] @ alone[i % 3]) > 0.99999 for i in range(9))


@integration
def test_a_cold_ask_imports_no_torch(tmp_path: Path, models: Path) -> None:
    """The answer path (question, search text, the composer's sentences) runs on ONNX Runtime alone."""
    settings = load_settings(corpus_dir=write_fixture_corpus(tmp_path / "corpus"), index_dir=tmp_path / "index", models_dir=models)
    from advisor.services import build_services

    build_services(settings).build_index()
    script = textwrap.dedent(
        """
        import json, sys
        from advisor.cli import main
        try:
            main(["ask", "--json", "--corpus", sys.argv[1], "--index", sys.argv[2], "Hoe bouw je vertrouwen op tussen partners?"])
        except SystemExit as exc:
            assert not exc.code, exc.code
        heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
        print(json.dumps({"heavy": heavy}))
        """
    )
    env = {**os.environ, "ADVISOR_MODELS_DIR": str(models), "HF_HUB_OFFLINE": "1"}
    res = subprocess.run(
        [sys.executable, "-c", script, str(settings.corpus_dir), str(settings.index_dir)], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-3000:]
    answer, check = (json.loads(line) for line in res.stdout.strip().splitlines()[-2:])
    assert not answer["refused"] and answer["citations"][0]["source"] == "vertrouwen.md"
    assert check["heavy"] == []


@integration
def test_an_index_build_embeds_passages_with_the_int8_graph_by_default_when_the_cpu_has_vnni(embedders, models: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from advisor.embedding.onnx_runtime import int8_is_fast
    from advisor.services import build_services

    onnx, _ = embedders
    assert build_services(load_settings(models_dir=models, passage_precision="fp32")).index_embedder.runtime == "onnx-fp32"  # when asked
    settings = load_settings(models_dir=models, index_dir=tmp_path / "index")
    services = build_services(settings)
    index = services.index_embedder
    assert index is not services.embedder and services.embedder.runtime == "onnx-fp32"  # questions and sentences stay fp32
    if not int8_is_fast():
        assert index.runtime == "onnx-fp32"
        return
    assert index.runtime == "onnx-int8" and "-int8-" in index.graph.name
    cos = (index.embed_documents(PASSAGES) * onnx.embed_documents(PASSAGES)).sum(axis=1)
    # int8 moves a passage's vector by under 1% (0.992 at worst over the shipped corpus); the
    # 512-token repetition of one word is the pathological case
    assert float(cos[:4].min()) > 0.99 and float(cos.min()) > 0.95
    # one text per run: a passage's int8 vector does not depend on the passages embedded with it
    alone = np.stack([index.embed_documents([p])[0] for p in PASSAGES])
    assert float((alone * index.embed_documents(PASSAGES)).sum(axis=1).min()) > 0.99999


@integration
def test_a_build_runs_its_batches_on_one_session_per_core_with_the_vectors_of_one_session(embedders, models: Path) -> None:  # type: ignore[no-untyped-def]
    onnx, _ = embedders
    texts = [f"{p} ({i})" for i in range(6) for p in PASSAGES[:4]]
    parallel = load_embedder(load_settings(models_dir=models, passage_precision="fp32"), passages=True)
    assert isinstance(parallel, OnnxEmbedder) and parallel.workers == (os.cpu_count() or 1)
    got = parallel.embed_documents(texts)
    if parallel.workers > 1:
        assert len(parallel._pool) == parallel.workers - 1  # opened for the call, kept for the next
    assert float((got * onnx.embed_documents(texts)).sum(axis=1).min()) > 0.99999
