"""Write docs/bench/README.md from docs/bench/latest.json (the table of a real `advisor bench` run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.tools.bench import GOLD_GATED, format_table, int8_within  # noqa: E402


def main() -> None:
    r = json.loads((ROOT / "docs/bench/latest.json").read_text())
    a = r["indexing"]["advisor"]
    qa, qn = r["quality"]["advisor"], r["quality"]["naive"]

    def delta(group: str, key: str) -> str:
        if group not in qa or group not in qn or key not in qa[group] or key not in qn[group]:
            return "-"
        return f"{qa[group][key]:.3f} vs {qn[group][key]:.3f} ({qa[group][key] - qn[group][key]:+.3f})"

    cmp = r["indexing"].get("runtimes", {})
    o, t = cmp.get("onnx", {}), cmp.get("torch", {})
    cold = r["answer_latency"].get("cold_by_runtime", {})
    serve = r.get("serve", {})
    load = r.get("machine", {}).get("load_average_1m", "?")
    big = r["scale"][-1]
    x = cmp.get("speedup", {})
    q8, q32 = r["quality"].get("advisor_int8"), r["quality"].get("advisor_fp32")
    int8_line = ""
    quiet = r.get("quiet_full_builds_s") or {}
    # A quiet re-measurement, when the bench run itself was loaded, decides the verdict.
    fp32_ratio = round(quiet["torch"] / quiet["onnx"], 2) if quiet else x.get("full_build", 0)
    int8_quiet = round(quiet["torch"] / quiet["int8"], 2) if quiet.get("int8") else None
    if r.get("passage_runtime") == "onnx-int8":  # the verdict is the default's
        fp32_ratio = int8_quiet if int8_quiet is not None else x.get("full_build_int8", 0)
    quiet_where = f" in process on the quiet machine (load {quiet['load_average']})" if quiet else " in process"
    if cmp.get("int8") and q8 and q32:
        moved = max((k for k in GOLD_GATED if k in q8 and k in q32), key=lambda k: abs(q8[k] - q32[k]))
        int8_line = (
            f"  With `ADVISOR_PASSAGE_PRECISION=int8`: {int8_quiet if int8_quiet is not None else '-'}x quiet; in the bench run {x.get('full_build_int8', '-')}x in process, "
            f"{x.get('index_command_int8', '-')}x as a command; its gated gold figures (recall@5, MRR, section recall@5,\n"
            f"  key-point recall, refusal P/R) are {'within' if int8_within(r) else 'not within'} 0.01 of fp32 passages' "
            f"(largest move: {moved} {q8[moved] - q32[moved]:+.4f}), but it moves single borderline\n"
            + ("  answers at the calibrated thresholds; the language gap (`docs/eval/README.md`) keeps the\n"
               "  gated figures there too, so int8 is the default (`docs/models.md`).\n"
               if r.get("passage_runtime") == "onnx-int8" else
               "  answers at the calibrated thresholds (`docs/models.md`), so it is not the default.\n")
        )
    qe = big["retrieval"]["query_embedding"]
    iv = big["retrieval"]["hybrid_given_vector"]
    iv0 = r["scale"][0]["retrieval"]["hybrid_given_vector"]
    stages = a["stages_s"]
    largest = max(stages, key=lambda k: stages[k])
    m = r.get("machine", {})
    machine = ", ".join(x for x in (f"{m.get('cores', '?')} cores", m.get("cpu"), m.get("isa"), "24 GiB") if x)
    scale_note = (
        f" The rows of {', '.join(str(x['chunks']) for x in r['scale'][1:])} synthetic chunks are from the run of"
        f" {r['scale_run']}: this one ran without the scale runs (`--scales \"\"`)."
        if r.get("scale_run") else ""
    )
    run_note = f"\n\n**This run:** {r['note']}" if r.get("note") else ""
    text = f"""# Benchmarks: the advisor against the naive LangChain recipe

One run of `advisor bench` on this project's machine ({machine}), {r['created']},
model {r['model']} (loaded in {r['model_load_s']} s). Raw figures: `docs/bench/latest.json`.{scale_note}{run_note}

```bash
.venv/bin/advisor bench                       # full run, incl. 10k and 100k synthetic chunks (~25 min here)
.venv/bin/advisor bench --scales ""           # without the scale runs
.venv/bin/python scripts/bench_readme.py      # rewrite this page from docs/bench/latest.json
```

The naive recipe is the tutorial every framework ships: the same loaders' text,
`RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`, `HuggingFaceEmbeddings` with
the same model folder (no query/passage prompts, as a tutorial would), `Chroma.from_documents`
with default settings, and `similarity_search(k)` as the answer's sources (it never refuses).

## Table

```
{format_table(r)}
```

## What it shows

- **Quality.** On the same gold questions the advisor beats the naive recipe on
  recall@5 and MRR for Dutch questions, English questions and above all cross-language ones:
  - recall@5, all: {delta('all', 'recall@5')}; MRR, all: {delta('all', 'mrr')}
  - recall@5, Dutch questions: {delta('question_nl', 'recall@5')}; MRR: {delta('question_nl', 'mrr')}
  - recall@5, cross-language: {delta('cross_language', 'recall@5')}; MRR: {delta('cross_language', 'mrr')}
  - the naive recipe cannot refuse; the advisor's refusal precision/recall: {qa['all'].get('refusal_precision', 0):.3f} / {qa['all'].get('refusal_recall', 0):.3f}.
- **Indexing.** A full build takes {a['full_build_s']} s for {a['documents']} documents ({a['chunks']} chunks),
  {a['full_build_over_bound']}x the physical bound of embedding the same chunks in one batch loop
  ({a['embed_bound_s']} s): embedding is {stages['embedding'] / max(a['full_build_s'], 1e-9):.0%} of the build; loading, chunking, storing and
  verifying together take {a['full_build_s'] - stages['embedding']:.1f} s. An unchanged re-index takes {a['noop_reindex_s']} s
  ({a['noop_reindex_s_per_100_docs']} s per hundred documents: hashes compared, nothing embedded); a re-index after
  one changed document takes {a['one_changed_doc_s']} s and embeds {a['one_changed_doc_embedded']} chunk(s) (the embedding cache answers the rest).
- **Scale.** At {big['chunks']} chunks retrieval p95 is {big['retrieval']['hybrid']['p95_ms']} ms hybrid and
  {big['retrieval']['dense_only']['p95_ms']} ms dense-only. Of that, embedding the question's search text (the question and
  the glossary translations of its words, so longer than the question) takes p50/p95
  {qe['p50_ms']} / {qe['p95_ms']} ms and does not grow with the index; the search itself, given the vector,
  takes {iv['p50_ms']} / {iv['p95_ms']} ms at {big['chunks']} chunks against {iv0['p50_ms']} / {iv0['p95_ms']} ms at {r['scale'][0]['chunks']}.
  The index takes {big['index_size_mb']} MB on disk and the process peaks at {big['peak_rss_mb']} MB RSS (model included).
  Synthetic chunks: sentences of the shipped corpus shuffled into new passages, vectors mixed from
  real chunk vectors plus noise, in both languages (embedding 100k passages would take hours here).
- **Answer latency.** A full extractive `ask`: warm p50 {r['answer_latency']['warm']['p50_ms']} ms, p95 {r['answer_latency']['warm']['p95_ms']} ms;
  a cold start (new process, model load) p50 {r['answer_latency']['cold']['p50_s']} s.
- **Cold starts and builds, ONNX Runtime against torch (issue #14).** In the same run, alternating:
  a cold `advisor ask` takes {cold.get('onnx', {}).get('p50_s', '-')} s and peaks at {cold.get('onnx', {}).get('peak_rss_mb', '-')} MB
  (torch, before: {cold.get('torch', {}).get('p50_s', '-')} s, {cold.get('torch', {}).get('peak_rss_mb', '-')} MB); `advisor serve` answers
  `/api/health` after {serve.get('onnx', {}).get('health_s', '-')} s, shows the page after {serve.get('onnx', {}).get('page_s', '-')} s and gives a first
  answer after {serve.get('onnx', {}).get('first_answer_s', '-')} s (before, it listened only once the app was ready: page
  {serve.get('torch', {}).get('page_s', '-')} s, first answer {serve.get('torch', {}).get('first_answer_s', '-')} s). A full build from an empty cache takes
  {o.get('full_build_s', '-')} s against {t.get('full_build_s', '-')} s ({cmp.get('speedup', {}).get('full_build', '-')}x; passages/s at the embedding bound {o.get('passages_per_s_bound', '-')}
  against {t.get('passages_per_s_bound', '-')}), and the `advisor index --full` command {o.get('index_command_s', '-')} s against
  {t.get('index_command_s', '-')} s ({cmp.get('speedup', {}).get('index_command', '-')}x). Load average {load} at the end of the run: on a busy machine
  every figure is longer. How the runtimes were chosen: `docs/models.md`.

## Targets

- A cold `advisor ask` on the shipped corpus under 3 s and 1 GB: **{'met' if cold.get('onnx', {}).get('p50_s', 99) < 3 and cold.get('onnx', {}).get('peak_rss_mb', 9999) < 1024 else 'not met'}**
  ({cold.get('onnx', {}).get('p50_s', '-')} s, {cold.get('onnx', {}).get('peak_rss_mb', '-')} MB).
- `advisor serve` answers `/api/health` within 5 s of start: **{'met' if serve.get('onnx', {}).get('health_s', 99) < 5 else 'not met'}** ({serve.get('onnx', {}).get('health_s', '-')} s).
- A full build at least twice as fast as the torch path in the same run: **{'met' if fp32_ratio >= 2 else 'not met'}** with the default
  passages ({r.get('passage_runtime', '-')}: {fp32_ratio}x{quiet_where}; {x.get('full_build', '-')}x in process, {x.get('index_command', '-')}x as a command in the bench run).
{int8_line}  The torch path measured here is the path before this branch but for one shared change: the
  embedding cache now sends its steps of 64 texts shortest first (`CachedEmbedder`), which pads
  the shipped corpus's passages to 107,063 tokens in sentence-transformers' batches of 16 instead of
  118,190 in corpus order (+10%), so the torch path of `main` would take about a tenth longer than
  the "before" column and every ratio here is against the faster of the two.
- Unchanged re-index well under a second per hundred documents: **{'met' if a['noop_reindex_s_per_100_docs'] < 1 else 'not met'}**
  ({a['noop_reindex_s_per_100_docs']} s per hundred documents).
- Retrieval p95 under 50 ms at 100k chunks: **{'met' if big['retrieval']['hybrid']['p95_ms'] < 50 else 'not met'}** for hybrid
  retrieval ({big['retrieval']['hybrid']['p95_ms']} ms), {'met' if big['retrieval']['dense_only']['p95_ms'] < 50 else 'not met'} for dense-only
  ({big['retrieval']['dense_only']['p95_ms']} ms). The index side is well inside it ({iv['p95_ms']} ms p95 given the
  vector); embedding the question is most of the rest.

The previous run, on an earlier machine of this project (2 cores, AMD EPYC, AVX2 only, eager
PyTorch about 2.5x slower), measured 71.3 ms hybrid p95 at 100k chunks, 55.0 ms of it embedding
the question. Faster cores explain most of the difference. On this machine, before the first two
changes below, the same 100k-chunk measurement gave 31.04 / 38.92 ms hybrid p50 / p95 (question
embedding 21.42 / 29.37 ms); the second ONNX session raised peak RSS by about 460 MB.

What the last rounds changed (p50 unless said otherwise; the first three rows from this run, the
next two measured on the Sapphire Rapids machine, the others on the earlier one):

| change | before | after |
|---|---|---|
| issue #14: the answer path on ONNX Runtime alone (no torch, transformers or Chroma imported; the optimized graph saved once and memory-mapped; the Latin-script part of the tokenizer first; no interpreter teardown) | cold `ask` {cold.get('torch', {}).get('p50_s', '-')} s, {cold.get('torch', {}).get('peak_rss_mb', '-')} MB | {cold.get('onnx', {}).get('p50_s', '-')} s, {cold.get('onnx', {}).get('peak_rss_mb', '-')} MB |
| issue #14: passages on ONNX Runtime (the default: fp32, one single-threaded session per core, runs of about 256 tokens) | full build {t.get('full_build_s', '-')} s | {o.get('full_build_s', '-')} s |
| issue #14: `advisor serve` listens at once and builds the page meanwhile | health when the page is ready, {serve.get('torch', {}).get('page_s', '-')} s | health {serve.get('onnx', {}).get('health_s', '-')} s, page {serve.get('onnx', {}).get('page_s', '-')} s |
| a lone question embedded on both cores (a second, 2-thread ONNX session used only when no other question is in flight; overlapping questions keep one thread each, so throughput under load holds: 94 vs 98 queries/s with two in flight) | 20.0 / 26.6 ms p50 / p95 | 15.8 / 20.6 ms |
| an answer embeds the question and the search text in one batch instead of two runs | 32.0 ms | 25.1 ms |
| questions embedded with ONNX Runtime instead of eager PyTorch (same vectors, cosine 0.9999999) | 73 ms | 31 ms |
| one collection per language, searched without a filter, instead of a metadata-filtered search per language (100k chunks) | 541 ms | 3.3 ms per language |
| BM25: per-term impacts computed once, no sort to de-duplicate stems (100k chunks) | 17.3 ms | 4.5 ms |
| stored vectors of keyword-only hits read from `vectors.npy` instead of Chroma (100k chunks) | 2.6 ms | 0.2 ms |

## The largest remaining cost

At question time: embedding the question ({qe['p50_ms']} ms p50), still the bulk of every search
and independent of the corpus size; int8 weights would roughly halve it again (measured 17 ms on the earlier machine) but
move query vectors by up to 1% (cosine 0.990 to the full-precision ones), which the calibrated
refusal threshold would have to absorb: not done. At indexing time: embedding,
{stages['embedding']} s of the {a['full_build_s']} s full build ({largest} is the largest stage),
bounded by the model's speed on two cores (about {a['chunks'] / max(a['embed_bound_s'], 1e-9):.0f} passages/s). The build is
within {a['full_build_over_bound']}x of that bound, and everything after the first build is cached.
"""
    (ROOT / "docs/bench/README.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
