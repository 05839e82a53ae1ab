"""How much a corpus's chance level should move the refusal rule (`refusal_chance_weight`), chosen
held out by document (issue #13). Writes docs/eval/chance_weight.md and chance_weight.json.

    nice -n 5 .venv/bin/python scripts/chance_weight_sweep.py [--out DIR] [--work DIR] [--seed N]

Small sub-corpora are drawn from each half of the shipped corpus's documents (the halves of
docs/eval/transfer.md, by the sha256 of the file name): one-language ones of 1, 3, 5 and 10
documents, and mixed ones (4+1, 3+2, 2+3, 1+4, 8+2, 5+5 Dutch + English). Each is indexed with the
real model; its answerable gold questions and the questions to refuse (the gold set's 35 and
`advisor/tools/offtopic.yaml`'s 30) are measured once with the rule unmoved, and every weighting is
then judged on the same evidence: *answered* (answerable questions not refused), *refused*
(questions to refuse that are refused) and their mean. A weighting is chosen on one half's corpora
and tested on the other's. About ten minutes; needs a current index of the shipped corpus for its
embedding cache (`advisor index`).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from advisor.core.settings import load_settings
from advisor.evaluate import load_questions
from advisor.index.build import scan_corpus
from advisor.retrieve.search import chance_weight
from advisor.services import build_services
from advisor.tools.calibrate import Rule, collect, decider, offtopic_questions
from advisor.tools.transfer import Workbench, _with_languages, half_of, questions_on

SIZES = (1, 3, 5, 10)
REPEATS = 6  # one-language sub-corpora per half, language and size
MIXES = ((4, 1), (3, 2), (2, 3), (1, 4), (8, 2), (5, 5))
MIX_REPEATS = 4
HALVES = ("A", "B")

# each weighting: the weight of the difference in chance level, given the share of the corpus in the question's language
Policy = Callable[[float], float]
POLICIES: dict[str, Policy] = {
    **{f"constant {w}": (lambda w: lambda share: w)(w) for w in (0.0, 0.25, 0.5, 0.75, 1.0)},
    **{f"by the other languages' share, {w}": (lambda w: lambda share: w * (1 - share))(w) for w in (0.5, 0.75, 1.0)},
}
SHIPPED_BEFORE = "constant 0.5"


def plans(documents: list[str], languages: dict[str, str], rng: random.Random) -> list[tuple[str, str, list[str]]]:
    """(half, kind, documents) of every sub-corpus."""
    out = []
    for h, half in enumerate(HALVES):
        pools = {lang: [d for d in documents if half_of(d) == h and languages[d] == lang] for lang in ("nl", "en")}
        for lang, pool in pools.items():
            for size in SIZES:
                if size <= len(pool):
                    for _ in range(REPEATS if size < len(pool) else 1):
                        out.append((half, lang, sorted(rng.sample(pool, size))))
        for n_nl, n_en in MIXES:
            for _ in range(MIX_REPEATS):
                out.append((half, "mixed", sorted(rng.sample(pools["nl"], n_nl) + rng.sample(pools["en"], n_en))))
    return out


def measure(out_rows: list[dict[str, Any]], bench: Workbench, name: str, half: str, kind: str, docs: list[str], gold: list, refusals: list) -> None:
    built = bench.build(name, docs)
    questions = _with_languages(questions_on(gold, docs) + refusals, built.languages)
    advisor = bench.advisor(built)
    searcher = advisor.reader.searcher()
    differences = searcher.chance_differences()
    decide = decider(advisor)
    base = Rule.of(advisor.settings)
    vectors = searcher.embedder.embed_queries([q.question for q in questions])
    for ev, qvec in zip(collect(advisor, questions), vectors, strict=True):
        lang = searcher.language_stats.own_language(qvec)
        difference = differences.get(lang, 0.0) if lang else 0.0
        share = 1.0 - chance_weight(1.0, searcher.counts, lang) if lang else 0.0  # of the corpus in the question's language
        refused = {}
        for policy, weight in POLICIES.items():
            moved = weight(share) * difference  # the evidence is unmoved: moving it down is moving the rule up
            refused[policy] = decide(ev, Rule(base.threshold + moved, None if base.floor is None else base.floor + moved, base.keyword_coverage))
        q = ev.question
        out_rows.append({"half": half, "kind": kind, "corpus": name, "id": q.id, "answerable": q.answerable,
                         "cross_language": q.answerable and any(built.languages[d] != q.language for d in q.expected),
                         "refused": refused})


def figures(rows: list[dict[str, Any]], policy: str) -> dict[str, float | int]:
    answerable = [r for r in rows if r["answerable"]]
    to_refuse = [r for r in rows if not r["answerable"]]
    cross = [r for r in answerable if r["cross_language"]]
    answered = sum(not r["refused"][policy] for r in answerable) / len(answerable)
    refused = sum(r["refused"][policy] for r in to_refuse) / len(to_refuse)
    return {
        "answerable": len(answerable), "to_refuse": len(to_refuse),
        "answered": answered, "answered_cross_language": sum(not r["refused"][policy] for r in cross) / len(cross) if cross else float("nan"),
        "refused": refused, "mean": (answered + refused) / 2,
    }


def report(rows: list[dict[str, Any]], seconds: float, n_corpora: dict[str, int]) -> dict[str, Any]:
    table = {half: {kind: {p: figures([r for r in rows if r["half"] == half and (kind == "all" or (r["kind"] == "mixed") == (kind == "mixed"))], p)
                           for p in POLICIES} for kind in ("one-language", "mixed", "all")} for half in HALVES}
    chosen = {half: max(POLICIES, key=lambda p: (table[half]["all"][p]["mean"], -list(POLICIES).index(p))) for half in HALVES}
    held_out = {other: {"chosen_on": half, "policy": chosen[half], **table[other]["all"][chosen[half]],
                        "before": table[other]["all"][SHIPPED_BEFORE]}
                for half, other in (("A", "B"), ("B", "A"))}
    return {"created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seconds": round(seconds), "corpora": n_corpora,
            "table": table, "chosen": chosen, "held_out": held_out}


def markdown(result: dict[str, Any]) -> str:
    f = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [
        "# How far the corpus's chance level moves the refusal rule (issue #13)",
        "",
        f"Made by `scripts/chance_weight_sweep.py` on {result['created'][:10]} in {result['seconds'] / 60:.0f} minutes; numbers in `chance_weight.json`. "
        f"Sub-corpora per half: {', '.join(f'{h}: {n}' for h, n in result['corpora'].items())} (one-language ones of 1, 3, 5 and 10 documents, "
        "mixed ones of 5 and 10), each indexed with the real model; their answerable gold questions and 65 questions to refuse "
        "(the gold set's 35 and `advisor/tools/offtopic.yaml`'s 30). *answered*: answerable questions not refused (*cross*: those whose "
        "document is in the other language); *refused*: questions to refuse that are refused; *mean*: of the two, the figure a weighting is chosen by.",
        "",
        "The weighting chosen on each half, tested on the other:",
        "",
        "| tested on | chosen on | weighting | answered | cross | refused | mean | before (constant 0.5): answered / refused / mean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for half, h in result["held_out"].items():
        b = h["before"]
        lines.append(f"| {half} | {h['chosen_on']} | {h['policy']} | {f(h['answered'])} | {f(h['answered_cross_language'])} | {f(h['refused'])} | "
                     f"{f(h['mean'])} | {f(b['answered'])} / {f(b['refused'])} / {f(b['mean'])} |")
    for kind in ("all", "one-language", "mixed"):
        lines += ["", f"Every weighting, {kind} sub-corpora:", "",
                  "| weighting | A: answered | A: cross | A: refused | A: mean | B: answered | B: cross | B: refused | B: mean |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in POLICIES:
            a, b = result["table"]["A"][kind][p], result["table"]["B"][kind][p]
            lines.append(f"| {p} | " + " | ".join(f(x[k]) for x in (a, b) for k in ("answered", "answered_cross_language", "refused", "mean")) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/eval"))
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    # the evidence unmoved (every build measures its chance level all the same)
    settings = load_settings().in_folders().model_copy(update={"refusal_chance_baseline": False})
    found, _ = scan_corpus(Path(settings.corpus_dir))
    documents = sorted(found)
    services = build_services(settings)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="advisor-chance-", dir=args.work) as tmp:
        bench = Workbench(settings, Path(tmp), services, lambda what: print(what, file=sys.stderr, flush=True))
        full = bench.build("full", documents)
        gold = load_questions(Path(settings.questions_file), full.languages)
        refusals = [q for q in gold if not q.answerable] + offtopic_questions()
        todo = plans(documents, full.languages, random.Random(args.seed))
        for i, (half, kind, docs) in enumerate(todo, start=1):
            print(f"[{i}/{len(todo)}] half {half}, {kind}", file=sys.stderr, flush=True)
            measure(rows, bench, f"c{i}", half, kind, docs, gold, refusals)
            gc.collect()
    n_corpora = {h: sum(1 for p in todo if p[0] == h) for h in HALVES}
    result = report(rows, time.perf_counter() - t0, n_corpora)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chance_weight.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.out / "chance_weight.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
