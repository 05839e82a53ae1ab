"""`advisor bench`: how fast and how good, against the naive LangChain recipe and the hardware.

Everything runs on copies in a temporary folder; the shipped corpus and index are not touched.
The scale runs (10k, 100k synthetic chunks) each run in their own process so that their peak
memory is their own.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from advisor.core.settings import Settings
from advisor.evaluate import percentile
from advisor.index.build import scan_corpus
from advisor.services import build_services

Step = Callable[[str], None]


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(1000 * statistics.median(values), 2), "p95_ms": round(1000 * percentile(values, 0.95), 2)}


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _cpu() -> dict[str, str]:
    """The processor's name and its widest vector extension (figures differ a lot between them)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    isa = next((label for flag, label in (("amx_tile", "AVX-512 + AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), "")
    return {k: v for k, v in (("cpu", name), ("isa", isa)) if v}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------ indexing


def bench_indexing(settings: Settings, work: Path, embedder: Any, step: Step) -> dict[str, Any]:
    from advisor.index.build import build_index
    from advisor.index.stores import open_store

    corpus = work / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    s = settings.model_copy(update={"corpus_dir": corpus, "index_dir": work / "index"})
    step("indexing: full build (empty embedding cache)")
    full = build_index(s, embedder)
    chunks = open_store(s).chunks(full.build_id)
    step("indexing: no-op re-index (x5)")
    noop = []
    for _ in range(5):
        t = time.perf_counter()
        r = build_index(s, embedder)
        noop.append(time.perf_counter() - t)
        assert r.noop
    step("indexing: re-index after one changed document")
    target = next(p for p in sorted(corpus.glob("*.md")) if p.name.lower() != "readme.md")
    original = target.read_text()
    target.write_text(original + "\n\n## Naschrift\n\nEen extra alinea om een gewijzigd document te meten.\n")
    t = time.perf_counter()
    changed = build_index(s, embedder)
    changed_s = time.perf_counter() - t
    target.write_text(original)  # the quality runs see the shipped corpus as it is
    build_index(s, embedder)
    step("indexing: physical bound (one batch loop over the same chunks)")
    texts = [c.embed_text for c in chunks]
    t = time.perf_counter()
    for i in range(0, len(texts), 64):
        embedder.embed_documents(texts[i : i + 64])
    bound = time.perf_counter() - t
    docs = full.documents
    return {
        "documents": docs,
        "chunks": full.chunks,
        "full_build_s": round(full.seconds, 2),
        "chunks_per_s": round(full.chunks / full.seconds, 1),
        "stages_s": {k: round(v, 2) for k, v in full.timings.items()},
        "embed_bound_s": round(bound, 2),
        "full_build_over_bound": round(full.seconds / bound, 2),
        "noop_reindex_s": round(statistics.median(noop), 4),
        "noop_reindex_s_per_100_docs": round(statistics.median(noop) * 100 / max(docs, 1), 4),
        "one_changed_doc_s": round(changed_s, 2),
        "one_changed_doc_embedded": changed.embedded,
        "index_size_mb": round(_dir_size(Path(s.index_dir) / "builds") / 2**20, 1),
        "_settings": s,
    }


def bench_naive_indexing(settings: Settings, corpus: Path, model_folder: Path, work: Path, step: Step) -> tuple[dict[str, Any], Any]:
    """The tutorial recipe: recursive character splitting, one model, Chroma similarity search."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document as LCDocument
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from advisor.ingest.loaders import LoadError, load_file

    step("naive recipe: load, split, embed, store")
    t0 = time.perf_counter()
    docs = []
    found, _ = scan_corpus(corpus)  # the same files the advisor indexes
    for rel, path in found.items():
        try:
            d = load_file(path, rel)
        except LoadError:
            continue
        docs.append(LCDocument(page_content="\n\n".join(p.text for p in d.pieces), metadata={"source": d.source}))
    t_load = time.perf_counter() - t0
    t = time.perf_counter()
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    t_split = time.perf_counter() - t
    emb = HuggingFaceEmbeddings(model_name=str(model_folder), model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True})
    t = time.perf_counter()
    store = Chroma.from_documents(splits, emb, persist_directory=str(work / "naive"), collection_name="naive")
    t_store = time.perf_counter() - t
    total = time.perf_counter() - t0
    return {
        "documents": len(docs),
        "chunks": len(splits),
        "full_build_s": round(total, 2),
        "chunks_per_s": round(len(splits) / total, 1),
        "stages_s": {"loading": round(t_load, 2), "chunking": round(t_split, 2), "embedding+storing": round(t_store, 2)},
    }, store


# ------------------------------------------------------------------ quality and latency


def bench_quality(settings: Settings, questions_path: Path, naive_store: Any, step: Step, embedder: Any = None) -> dict[str, Any]:
    from advisor.answer.conversation import condense
    from advisor.answer.service import Advisor
    from advisor.evaluate import Outcome, group_of, load_questions, run_eval, score
    from advisor.index.stores import open_store

    store = open_store(settings)
    manifest = store.info(store.current() or "")["manifest"]
    questions = load_questions(questions_path, {k: v["language"] for k, v in manifest.items()})
    advisor = Advisor(settings, embedder)  # the run's one model (advisor.services keeps none)
    step(f"quality: advisor on {len(questions)} questions")
    report = run_eval(advisor, questions)
    step(f"quality: naive recipe on {len(questions)} questions")
    outcomes = []
    for q in questions:
        t = time.perf_counter()
        docs = naive_store.similarity_search(condense(q.question, list(q.history)), k=10)
        outcomes.append(Outcome(q, [d.metadata["source"] for d in docs], False, q.language, [d.metadata["source"] for d in docs[:5]], time.perf_counter() - t))
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        for g in group_of(o):
            groups.setdefault(g, []).append(o)
    keys = ("recall@1", "recall@5", "mrr", "refusal_precision", "refusal_recall")

    def pick(m: dict[str, float]) -> dict[str, float]:
        return {k: round(m[k], 3) for k in keys if k in m}

    advisor_q = {"all": pick(report.metrics), **{g: pick(v) for g, v in report.groups.items()}}
    naive_m = score(outcomes)
    naive_q = {"all": pick(naive_m), **{g: pick(score(v)) for g, v in groups.items()}}
    answer_s = [p["seconds"] for p in report.per_question]
    return {"advisor": advisor_q, "naive": naive_q, "warm_answer": _ms(answer_s), "_advisor": advisor}


def bench_cold_answer(settings: Settings, step: Step, runs: int = 3) -> dict[str, float]:
    step("answer latency: cold start (a new process per question)")
    cmd = [sys.executable, "-m", "advisor", "ask", "--json", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir),
           "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?"]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "ADVISOR_MODELS_DIR": str(settings.models_dir)})
        times.append(time.perf_counter() - t)
    return {"p50_s": round(statistics.median(times), 2), "max_s": round(max(times), 2), "runs": runs}


def bench_retrieval(advisor: Any, questions: list[str], repeat: int = 3) -> dict[str, Any]:
    """Latency of a search as the app runs it (the question embedded each time), and its parts."""
    searcher = advisor.reader.searcher()
    for q in questions[:5]:
        searcher.search(q)
    hybrid, dense, embed_only, index_only = [], [], [], []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            svec = searcher.embedder.embed_queries([searcher.search_text(q)])[0]
            embed_only.append(time.perf_counter() - t)
            t = time.perf_counter()
            searcher.search(q)
            hybrid.append(time.perf_counter() - t)
            t = time.perf_counter()
            searcher.search(q, dense_only=True)
            dense.append(time.perf_counter() - t)
            t = time.perf_counter()
            searcher.search_vector(q, svec)
            index_only.append(time.perf_counter() - t)
    return {"hybrid": _ms(hybrid), "dense_only": _ms(dense), "query_embedding": _ms(embed_only), "hybrid_given_vector": _ms(index_only)}


# ------------------------------------------------------------------ scale (own process)


def synthetic_scale(settings: Settings, n: int, work: Path, questions: list[str]) -> dict[str, Any]:
    """A build of `n` synthetic chunks, then retrieval latency on it.

    Shortcut (documented): texts are sentences of the shipped corpus shuffled into new passages;
    vectors are normalized mixes of two real chunk vectors plus noise, so they keep the real
    distribution's geometry without embedding 100k passages (which would take ~80 minutes here).
    """
    from advisor.core.text import split_sentences
    from advisor.core.types import Chunk
    from advisor.index.build import write_build_files
    from advisor.index.layout import LAYOUT, atomic_write, switch_current
    from advisor.index.stores import open_store
    from advisor.index.vectors import EmbeddedChroma

    source = open_store(settings)
    base_build = source.current() or ""
    opened = source.open(base_build)
    base, base_vecs = opened.chunks, np.asarray(opened.vectors)
    sentences = [(s, c) for c in base for s in split_sentences(c.text)]
    rng = random.Random(n)
    nrng = np.random.default_rng(n)
    chunks: list[Chunk] = []
    vecs = np.empty((n, base_vecs.shape[1]), dtype=np.float32)
    for i in range(n):
        picks = rng.sample(sentences, 5)
        a, b = rng.randrange(len(base)), rng.randrange(len(base))
        v = base_vecs[a] + 0.5 * base_vecs[b] + nrng.normal(0, 0.02, base_vecs.shape[1]).astype(np.float32)
        vecs[i] = v / np.linalg.norm(v)
        c0 = picks[0][1]
        chunks.append(Chunk(id=f"syn{n}-{i:07d}", source=f"synthetic/{i // 20:05d}.md", title=c0.title, language=c0.language,
                            section=c0.section, page=None, position=i % 20, text=" ".join(s for s, _ in picks)))
    index = work / f"scale-{n}"
    bdir = index / "builds" / "synthetic"
    bdir.mkdir(parents=True)
    t = time.perf_counter()
    EmbeddedChroma().write("synthetic", bdir, chunks, vecs, settings.ef_search)
    t_vec = time.perf_counter() - t
    t = time.perf_counter()
    write_build_files(bdir, chunks, vecs)  # chunks, BM25, language means (both languages: the real path)
    t_kw = time.perf_counter() - t
    info = {"id": "synthetic", "model": "synthetic", "documents": n // 20, "chunks": n, "manifest": {}, "layout": LAYOUT, "complete": True}
    atomic_write(bdir / "build.json", json.dumps(info))
    switch_current(index, "synthetic")
    s = settings.model_copy(update={"index_dir": index, "chroma_server_url": None})  # a synthetic build is a folder
    t = time.perf_counter()
    advisor = build_services(s).advisor  # this subprocess's one model
    advisor.reader.searcher()
    t_open = time.perf_counter() - t
    retrieval = bench_retrieval(advisor, questions)
    return {
        "chunks": n,
        "store_vectors_s": round(t_vec, 1),
        "build_files_s": round(t_kw, 1),
        "open_index_s": round(t_open, 2),
        "index_size_mb": round(_dir_size(bdir) / 2**20, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 0),
        "retrieval": retrieval,
    }


# ------------------------------------------------------------------ the whole run


def run_bench(settings: Settings, questions_path: Path, scales: tuple[int, ...], out_dir: Path, step: Step) -> dict[str, Any]:
    from advisor.embedding.models import load_embedder, resolve_model_folder

    work = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    try:
        t = time.perf_counter()
        embedder = load_embedder(settings)
        model_load = time.perf_counter() - t
        indexing = bench_indexing(settings, work, embedder, step)
        bench_settings: Settings = indexing.pop("_settings")
        folder, _ = resolve_model_folder(settings)
        naive_idx, naive_store = bench_naive_indexing(settings, Path(bench_settings.corpus_dir), folder, work, step)
        quality = bench_quality(bench_settings, questions_path, naive_store, step, embedder)
        advisor = quality.pop("_advisor")
        from advisor.evaluate import load_questions

        qs = [q.question for q in load_questions(questions_path)][:60]
        step("retrieval latency: shipped corpus")
        shipped = {"chunks": indexing["chunks"], "retrieval": bench_retrieval(advisor, qs), "index_size_mb": indexing["index_size_mb"]}
        cold = bench_cold_answer(bench_settings, step)
        scale = [shipped]
        for n in scales:
            step(f"scale: {n} synthetic chunks (own process)")
            res = subprocess.run(
                [sys.executable, "-m", "advisor.tools.bench", "scale", str(n), str(work), str(questions_path)],
                capture_output=True, text=True, check=True,
                env={**os.environ, "ADVISOR_INDEX_DIR": str(bench_settings.index_dir), "ADVISOR_MODELS_DIR": str(settings.models_dir),
                     "ADVISOR_CORPUS_DIR": str(bench_settings.corpus_dir)},
            )
            scale.append(json.loads(res.stdout.strip().splitlines()[-1]))
        result = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0], **_cpu()},
            "model": embedder.name,
            "model_load_s": round(model_load, 2),
            "indexing": {"advisor": indexing, "naive": naive_idx},
            "quality": {"advisor": quality["advisor"], "naive": quality["naive"]},
            "answer_latency": {"warm": quality["warm_answer"], "cold": cold},
            "scale": scale,
        }
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "latest.json").write_text(json.dumps(result, indent=1))
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def format_table(r: dict[str, Any]) -> str:
    a, n = r["indexing"]["advisor"], r["indexing"]["naive"]
    lines = [
        "Indexing (shipped corpus)",
        f"  advisor: {a['documents']} docs, {a['chunks']} chunks, {a['full_build_s']} s ({a['chunks_per_s']} chunks/s); stages {a['stages_s']}",
        f"  naive:   {n['documents']} docs, {n['chunks']} chunks, {n['full_build_s']} s ({n['chunks_per_s']} chunks/s); stages {n['stages_s']}",
        f"  embedding bound {a['embed_bound_s']} s -> full build / bound = {a['full_build_over_bound']}",
        f"  no-op re-index {a['noop_reindex_s']} s ({a['noop_reindex_s_per_100_docs']} s per 100 docs); one changed doc {a['one_changed_doc_s']} s ({a['one_changed_doc_embedded']} chunks embedded)",
        "",
        "Quality            recall@1  recall@5  MRR    refusal P  refusal R",
    ]
    for who in ("advisor", "naive"):
        for g, m in r["quality"][who].items():
            if g.startswith(("all", "question_", "cross", "same", "doc_")):
                def f(key: str) -> str:
                    return f"{m[key]:.3f}" if key in m else "  -  "

                lines.append(f"  {who:<7} {g:<16} {f('recall@1')}    {f('recall@5')}    {f('mrr')}  {f('refusal_precision')}      {f('refusal_recall')}")
    lines += [
        "",
        "Retrieval latency, ms p50 / p95 (hybrid and dense-only include embedding the question)",
        "  chunks     hybrid          dense-only      question embedding  hybrid given the vector  size MB  peak RSS MB",
    ]

    def pair(m: dict[str, float] | None) -> str:
        return f"{m['p50_ms']:>6} / {m['p95_ms']:<6}" if m else "     -         "

    for s in r["scale"]:
        t = s["retrieval"]
        lines.append(
            f"  {s['chunks']:>7}    {pair(t['hybrid'])}  {pair(t['dense_only'])}  {pair(t.get('query_embedding'))}      "
            f"{pair(t.get('hybrid_given_vector'))}           {s['index_size_mb']:>6}  {s.get('peak_rss_mb', '-')}"
        )
    w, c = r["answer_latency"]["warm"], r["answer_latency"]["cold"]
    lines += ["", f"Answer latency: warm p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms; cold start p50 {c['p50_s']} s"]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "scale":
        from advisor.core.settings import load_settings
        from advisor.evaluate import load_questions

        qs = [q.question for q in load_questions(Path(sys.argv[4]))][:60]
        print(json.dumps(synthetic_scale(load_settings(), int(sys.argv[2]), Path(sys.argv[3]), qs)))
