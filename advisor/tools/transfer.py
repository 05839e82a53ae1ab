"""The transfer harness: does the advisor hold on corpora it was not tuned on? (issue #13)

Every threshold was set on the shipped corpus and its gold questions. This harness builds
sub-corpora of `corpus/` in a temporary folder, indexes each with the real model (one embedding
cache shared by every build, seeded from the current index's, so nothing is embedded twice),
and evaluates them with questions drawn from the gold set by document (each question's expected
documents narrowed to the sub-corpus), plus the gold set's questions to refuse.

What is measured per question is what decides the figures, and nothing more: the passages the
extractive chain retrieves and the composer's own refusal decision on them (`advisor.tools.
calibrate`: `coverage`, the rule written once), and the ranking the gold evaluation ranks by
(`advisor.evaluate.run_eval`'s search, k=10), scored by the evaluation's own `score`. Composing
the answers is left out (it is most of an evaluation's time and changes none of these figures);
a spot check answers a sample in full and counts any refusal that differs.

- **Leave documents out.** The documents split in two halves by the sha256 of their file name,
  the questions to refuse by the sha256 of their id. The refusal rule is calibrated on one half
  (`advisor.tools.calibrate`, its sub-corpus and its questions) and tested on the other half's
  sub-corpus and questions, both ways; the shipped (default) rule is tested on each half too.
- **Small and one-language corpora**, with the default settings: single documents (Dutch and
  English), five Dutch documents, the English documents only, the Dutch documents only with only
  the English questions on them. The figure that matters on one document is how many answerable
  questions are answered rather than refused: recall@3 is trivially 1 there.

    .venv/bin/python scripts/transfer_eval.py          # writes docs/eval/transfer.md and transfer.json
"""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from advisor.answer.conversation import condense
from advisor.core.settings import Settings, load_settings
from advisor.embedding.models import EmbeddingCache
from advisor.evaluate import RANK_DEPTH, Outcome, Question, group_of, load_questions, score
from advisor.index.build import build_index, scan_corpus
from advisor.index.layout import read_build_info
from advisor.services import Services, build_services
from advisor.tools.calibrate import Decide, Evidence, Figures, Note, Rule, calibrate_evidence, collect, decider, spread

Step = Callable[[str], None]
GROUPS = ("all", "question_nl", "question_en", "cross_language")
SHOWN_SETTINGS = (
    "embedding_model", "refusal_threshold", "refusal_floor", "refusal_keyword_coverage", "language_debias", "language_centring",
    "glossary", "dense_glossary_expansion", "k_final", "keyword_weight", "section_aware", "refusal_chance_baseline",
    "refusal_chance_weight",
)
ONE_DUTCH = 4  # single Dutch documents, each its own corpus
ONE_ENGLISH = 2  # single English documents
FIVE = 5
SPOT_CHECK = 24  # questions of the full corpus answered in full to check the measured refusals


def half_of(name: str) -> int:
    """0 (half A) or 1 (half B): the split the project's held-out checks use (docs/eval/README.md)."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2


def by_hash(names: Sequence[str]) -> list[str]:
    """Names in the order of their sha256: a fixed choice that favours no document."""
    return sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())


def questions_on(gold: Sequence[Question], documents: Sequence[str], languages: Sequence[str] = ("nl", "en")) -> list[Question]:
    """The gold answerable questions that a sub-corpus answers, their expected documents narrowed to it."""
    docs = set(documents)
    out = []
    for q in gold:
        expected = tuple(s for s in q.expected if s in docs)
        if q.answerable and expected and q.language in languages:
            out.append(replace(q, expected=expected))
    return out


@dataclass
class Built:
    name: str
    settings: Settings
    documents: list[str]
    chunks: int
    seconds: float
    languages: dict[str, str] = field(default_factory=dict)


class Workbench:
    """Sub-corpora in a temporary folder, built with one model and one embedding cache."""

    def __init__(self, settings: Settings, root: Path, services: Services, step: Step) -> None:
        self.settings = settings
        self.root = root
        self.services = services
        self.step = step
        EmbeddingCache.seed(Path(settings.index_dir), root)  # the shipped corpus's vectors, when it was indexed
        self.cache = EmbeddingCache.of_index(root).parent  # every sub-corpus's index links its cache here
        self.cache.mkdir(parents=True, exist_ok=True)

    def build(self, name: str, documents: Sequence[str]) -> Built:
        self.step(f"indexing {name} ({len(documents)} documents)")
        folder = self.root / name
        corpus = folder / "corpus"
        corpus.mkdir(parents=True)
        for doc in documents:
            (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(self.settings.corpus_dir) / doc, corpus / doc)
        index = folder / "index"
        index.mkdir()
        (index / "cache").symlink_to(self.cache, target_is_directory=True)
        settings = self.settings.model_copy(update={"corpus_dir": corpus, "index_dir": index})
        t = time.perf_counter()
        # the passages as a default build embeds them (`Services.index_embedder`), the questions with the shared embedder
        report = build_index(settings, None, load=lambda: self.services.index_embedder)
        if report.failed:
            raise RuntimeError(f"{name}: {', '.join(f.source for f in report.failed)} failed to index")
        manifest = read_build_info(index, report.build_id)["manifest"]
        return Built(name, settings, list(documents), report.chunks, time.perf_counter() - t, {s: m["language"] for s, m in manifest.items()})

    def advisor(self, built: Built) -> Any:
        return build_services(built.settings, embedder=self.services.embedder).advisor


@dataclass
class Measured:
    """A sub-corpus's questions, measured once: every rule is then judged on the same evidence."""

    questions: list[Question]
    evidence: list[Evidence]
    ranked: list[list[str]]  # per question, the sources of the evaluation's ranking
    decide: Decide

    def outcomes(self, rule: Rule) -> list[Outcome]:
        return [
            Outcome(question=e.question, ranked_sources=r, refused=self.decide(e, rule), language=e.question.language, cited=[], seconds=0.0)
            for e, r in zip(self.evidence, self.ranked, strict=True)
        ]


def measure(advisor: Any, questions: list[Question]) -> Measured:
    searcher = advisor.reader.searcher()
    evidence = collect(advisor, questions)
    ranked = [[h.chunk.source for h in searcher.search(condense(q.question, list(q.history)), k=RANK_DEPTH)] for q in questions]
    return Measured(questions, evidence, ranked, decider(advisor))


def spot_check(advisor: Any, measured: Measured, rule: Rule, n: int) -> dict[str, Any]:
    """Answer `n` of the questions in full (spread over the set) and compare their refusal with the
    measured decision: the harness's shortcut must decide as the advisor does."""
    step = max(1, len(measured.questions) // n)
    picked = list(range(0, len(measured.questions), step))[:n]
    differ = [
        measured.questions[i].id
        for i in picked
        if advisor.answer(measured.questions[i].question, list(measured.questions[i].history)).refused
        != measured.decide(measured.evidence[i], rule)
    ]
    return {"answered_in_full": len(picked), "refusals_that_differ": differ}


# ---------------------------------------------------------------- figures


def _share(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def summary(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """Per group (all, Dutch and English questions, cross-language): counts, refusal precision and
    recall, recall@5 and MRR (the gold evaluation's `score`), the answered share of the answerable
    questions, recall@3 (among them, answered), and the share of questions to refuse that are refused."""
    out: dict[str, dict[str, Any]] = {}
    for group in GROUPS:
        rows = [o for o in outcomes if group == "all" or group in group_of(o)]
        metrics = score(rows) if rows else {}
        answerable = [o for o in rows if o.question.answerable]
        refusals = [o for o in rows if not o.question.answerable]
        ranks = [o.rank() for o in answerable]
        out[group] = {
            "answerable": len(answerable),
            "refusal_questions": len(refusals),
            "refusal_precision": metrics.get("refusal_precision"),
            "refusal_recall": metrics.get("refusal_recall"),
            "recall@5": metrics.get("recall@5"),
            "mrr": metrics.get("mrr"),
            "answered": _share([not o.refused for o in answerable]),
            "recall@3": _share([r is not None and r <= 3 for r in ranks]),
            "recall@3_answered": _share([r is not None and r <= 3 and not o.refused for r, o in zip(ranks, answerable, strict=True)]),
            "offtopic_refused": _share([o.refused for o in refusals]),
        }
    return out


def _fit(figures: Figures) -> dict[str, float | None]:
    """A calibrated rule's in-sample figures, as reported."""
    return {"refusal_precision": figures.refusal_precision, "refusal_recall": figures.refusal_recall, "answered": figures.answered}


def _language_counts(languages: dict[str, str]) -> dict[str, int]:
    """Documents per language, from source -> language."""
    return {lang: sum(1 for v in languages.values() if v == lang) for lang in ("nl", "en")}


def _codes(notes: Sequence[Note]) -> list[str]:
    """A calibration's notes as short codes, a language note with its group ("language:question_en")."""
    return [f"{n.code}:{n.values['group']}" if n.code == "language" else n.code for n in notes]


def _with_languages(questions: Sequence[Question], languages: dict[str, str]) -> list[Question]:
    return [replace(q, doc_language=languages.get(q.expected[0])) if q.expected else q for q in questions]


# ---------------------------------------------------------------- the cases


def leave_documents_out(bench: Workbench, documents: list[str], gold: list[Question], step: Step) -> dict[str, Any]:
    halves = {h: [d for d in documents if half_of(d) == i] for i, h in enumerate("AB")}
    refusals = [q for q in gold if not q.answerable]
    default = Rule.of(bench.settings)
    built: dict[str, Built] = {}
    measured: dict[str, Measured] = {}
    calibrated: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    for h, docs in halves.items():
        built[h] = bench.build(f"half-{h}", docs)
        own_refusals = [q for q in refusals if half_of(q.id) == "AB".index(h)]
        questions = _with_languages(questions_on(gold, docs) + own_refusals, built[h].languages)
        step(f"measuring half {h} ({len(questions)} questions)")
        measured[h] = measure(bench.advisor(built[h]), questions)
        cal = calibrate_evidence(measured[h].evidence, measured[h].decide, default, source=f"half {h}")
        calibrated[h] = {"rule": cal.proposed, "fit": cal.proposed_figures, "notes": _codes(cal.notes)}
        results.append({"calibrated_on": "default", "tested_on": h, "rule": default.values(), "groups": summary(measured[h].outcomes(default))})
        gc.collect()
    for source, target in (("A", "B"), ("B", "A")):
        rule = calibrated[source]["rule"]
        results.append({"calibrated_on": source, "tested_on": target, "rule": rule.values(), "groups": summary(measured[target].outcomes(rule))})
    transferred = [r for r in results if r["calibrated_on"] != "default"]
    gaps: dict[str, dict[str, float | None]] = {}
    for group in GROUPS:
        gaps[group] = {}
        for key in ("refusal_precision", "refusal_recall", "recall@5", "mrr", "answered"):
            a, b = (r["groups"][group][key] for r in transferred)
            gaps[group][key] = None if a is None or b is None else round(abs(a - b), 4)
    return {
        "halves": {
            h: {"documents": len(built[h].documents), "chunks": built[h].chunks,
                "answerable": sum(q.answerable for q in measured[h].questions),
                "refusal_questions": sum(not q.answerable for q in measured[h].questions),
                "languages": _language_counts(built[h].languages)}
            for h in halves
        },
        "calibrated": {
            h: {"rule": c["rule"].values(), "fit": _fit(c["fit"]), "notes": c["notes"]}
            for h, c in calibrated.items()
        },
        "results": results,
        "spread": gaps,
    }


def small_cases(documents: list[str], languages: dict[str, str]) -> list[tuple[str, str, list[str], tuple[str, ...]]]:
    """(name, description, documents, question languages) of each small or one-language corpus."""
    dutch = by_hash([d for d in documents if languages[d] == "nl"])
    english = by_hash([d for d in documents if languages[d] == "en"])
    cases = [(f"one-nl-{i + 1}", f"one Dutch document: {d}", [d], ("nl", "en")) for i, d in enumerate(dutch[:ONE_DUTCH])]
    cases += [(f"one-en-{i + 1}", f"one English document: {d}", [d], ("nl", "en")) for i, d in enumerate(english[:ONE_ENGLISH])]
    cases.append(("five-nl", f"five Dutch documents ({', '.join(dutch[:FIVE])})", dutch[:FIVE], ("nl", "en")))
    cases.append(("english-only", f"English only: the {len(english)} English documents", english, ("nl", "en")))
    cases.append(("dutch-only-en-questions", f"Dutch only: the {len(dutch)} Dutch documents, English questions only", dutch, ("en",)))
    return cases


def run_small(bench: Workbench, documents: list[str], languages: dict[str, str], gold: list[Question], step: Step) -> list[dict[str, Any]]:
    refusals = [q for q in gold if not q.answerable]
    default = Rule.of(bench.settings)
    out = []
    for name, description, docs, question_languages in small_cases(documents, languages):
        built = bench.build(name, docs)
        questions = _with_languages(questions_on(gold, docs, question_languages) + refusals, built.languages)
        step(f"{name}: {sum(q.answerable for q in questions)} answerable, {len(refusals)} to refuse")
        m = measure(bench.advisor(built), questions)
        outcomes = m.outcomes(default)
        cal = calibrate_evidence(m.evidence, m.decide, default, source=name, indexed=set(docs))
        out.append({
            "name": name,
            "description": description,
            "documents": docs,
            "chunks": built.chunks,
            "build_seconds": round(built.seconds, 1),
            "groups": summary(outcomes),
            "calibrate": {
                "proposed": cal.proposed.values(),
                "fit": _fit(cal.proposed_figures),
                "notes": _codes(cal.notes),
            },
            "evidence": spread(m.evidence),
            "refused_answerable": [o.question.id for o in outcomes if o.question.answerable and o.refused],
            "answered_offtopic": [o.question.id for o in outcomes if not o.question.answerable and not o.refused],
        })
        gc.collect()
    return out


def run_transfer(settings: Settings, questions_path: Path, step: Step, work: Path | None = None, embedder: Any = None) -> dict[str, Any]:
    """Every case; the result as one JSON-ready object (`embedder`: the tests' fake, else the settings' model)."""
    settings = settings.in_folders()  # the sub-corpora are throwaway builds
    t0 = time.perf_counter()
    found, _ = scan_corpus(Path(settings.corpus_dir))
    documents = sorted(found)
    services = build_services(settings, embedder=embedder)
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="advisor-transfer-", dir=work) as tmp:
        bench = Workbench(settings, Path(tmp), services, step)
        full = bench.build("full", documents)
        gold = load_questions(questions_path, full.languages)
        step(f"measuring the full corpus ({len(gold)} questions)")
        advisor = bench.advisor(full)
        whole = measure(advisor, gold)
        step("spot check: answers in full")
        check = spot_check(advisor, whole, Rule.of(settings), SPOT_CHECK)
        full_figures = summary(whole.outcomes(Rule.of(settings)))
        del advisor
        ldo = leave_documents_out(bench, documents, gold, step)
        small = run_small(bench, documents, full.languages, gold, step)
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 1),
        "corpus": {"documents": len(documents), "chunks": full.chunks,
                   "languages": _language_counts(full.languages)},
        "questions": str(questions_path),
        "settings": {k: getattr(settings, k) for k in SHOWN_SETTINGS},
        "full": full_figures,
        "spot_check": check,
        "leave_documents_out": ldo,
        "small": small,
    }


# ---------------------------------------------------------------- the report


def _f(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _rule(r: dict[str, float]) -> str:
    return f"{r['refusal_threshold']:.4f} / {r['refusal_floor']:.4f} / {r['refusal_keyword_coverage']:.2f}"


def format_markdown(result: dict[str, Any]) -> str:
    ldo = result["leave_documents_out"]
    s = result["settings"]
    lines = [
        "# Transfer: the advisor on corpora it was not tuned on (issue #13)",
        "",
        f"Made by `scripts/transfer_eval.py` on {result['created'][:10]} in {result['seconds'] / 60:.1f} minutes; the numbers are in "
        "`transfer.json`. Sub-corpora of the shipped corpus "
        f"({result['corpus']['documents']} documents: {result['corpus']['languages']['nl']} Dutch, {result['corpus']['languages']['en']} "
        f"English; {result['corpus']['chunks']} chunks), each indexed on its own with the real model; questions drawn from the gold "
        f"set (`{Path(result['questions']).name}`) by document, their expected documents narrowed to the sub-corpus; the 35 gold "
        "questions to refuse.",
        "",
        f"Settings: model `{s['embedding_model']}`; default refusal rule (threshold / floor / keyword coverage) "
        f"{_rule({k: s[k] for k in ('refusal_threshold', 'refusal_floor', 'refusal_keyword_coverage')})}; language debias "
        f"{s['language_debias']}, centring {s['language_centring']}, glossary {s['glossary']}, dense glossary expansion {s['dense_glossary_expansion']}, "
        f"k_final {s['k_final']}, keyword weight {s['keyword_weight']}, section-aware {s['section_aware']}, "
        f"chance baseline {s.get('refusal_chance_baseline', False)} (weight {s.get('refusal_chance_weight', '-')}, times the share of the corpus in other languages than the question's).",
        "",
        "How it measures: per question, the passages the extractive chain retrieves and the composer's own refusal decision on "
        "them (`compose.coverage`, through `advisor.tools.calibrate`), and the ranking the gold evaluation ranks by (k = 10), "
        "scored by `advisor.evaluate.score`; answers are not composed (that changes none of these figures). Spot check: "
        f"{result['spot_check']['answered_in_full']} questions of the full corpus answered in full, refusals that differ from the "
        f"measured decision: {', '.join(result['spot_check']['refusals_that_differ']) or 'none'}.",
        "",
        "## The full corpus (reference)",
        "",
        "| group | answerable | refusal P | refusal R | recall@5 | MRR | answered |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {g} | {v['answerable']} | {_f(v['refusal_precision'])} | {_f(v['refusal_recall'])} | {_f(v['recall@5'])} | {_f(v['mrr'])} | {_f(v['answered'])} |"
            for g, v in result["full"].items()
        ],
        "",
        "## Leave documents out",
        "",
        "Halves by the sha256 of the file name (questions to refuse by the sha256 of their id). The rule is calibrated with "
        "`advisor calibrate`'s search on one half (its sub-corpus and questions) and tested on the other; *fit* is the calibrated "
        "rule on its own half.",
        "",
        "| half | documents (nl / en) | chunks | answerable | to refuse | calibrated rule | fit: refusal P / R |",
        "|---|---|---|---|---|---|---|",
    ]
    for h, info in ldo["halves"].items():
        c = ldo["calibrated"][h]
        lines.append(
            f"| {h} | {info['documents']} ({info['languages']['nl']} / {info['languages']['en']}) | {info['chunks']} | {info['answerable']} | "
            f"{info['refusal_questions']} | {_rule(c['rule'])} | {_f(c['fit']['refusal_precision'])} / {_f(c['fit']['refusal_recall'])} |"
        )
    lines += [
        "",
        "Held-out figures (refusal precision and recall over the group's questions; recall@5 and MRR over its answerable ones; "
        "*answered*: share of the answerable questions not refused):",
        "",
        "| rule | tested on | group | answerable | refusal P | refusal R | recall@5 | MRR | answered |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ldo["results"]:
        who = "default" if r["calibrated_on"] == "default" else f"calibrated on {r['calibrated_on']}"
        for g in GROUPS:
            v = r["groups"][g]
            lines.append(
                f"| {who} | {r['tested_on']} | {g} | {v['answerable']} | {_f(v['refusal_precision'])} | {_f(v['refusal_recall'])} | "
                f"{_f(v['recall@5'])} | {_f(v['mrr'])} | {_f(v['answered'])} |"
            )
    lines += ["", "Spread between the two directions (|A→B − B→A|):", "", "| group | refusal P | refusal R | recall@5 | MRR | answered |", "|---|---|---|---|---|---|"]
    for g, v in ldo["spread"].items():
        lines.append(f"| {g} | {_f(v['refusal_precision'])} | {_f(v['refusal_recall'])} | {_f(v['recall@5'])} | {_f(v['mrr'])} | {_f(v['answered'])} |")
    lines += [
        "",
        "## Small and one-language corpora (default settings)",
        "",
        "*answered*: answerable questions answered, not refused; *recall@3*: the expected document among the first three passages "
        "and the question answered (trivially the answered share on one document); *off-topic refused*: the 35 gold questions to "
        "refuse that are refused.",
        "",
        "| corpus | chunks | answerable (nl / en) | answered nl | answered en | answered cross-language | recall@3 | off-topic refused |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in result["small"]:
        g = c["groups"]
        lines.append(
            f"| {c['description']} | {c['chunks']} | {g['all']['answerable']} ({g['question_nl']['answerable']} / {g['question_en']['answerable']}) | "
            f"{_f(g['question_nl']['answered'])} | {_f(g['question_en']['answered'])} | {_f(g['cross_language']['answered'])} | "
            f"{_f(g['all']['recall@3_answered'])} | {_f(g['all']['offtopic_refused'])} |"
        )
    lines += [
        "",
        "The evidence the refusal rule weighs on each of these corpora (best similarity, min / median of the answerable "
        "questions, median / max of the questions to refuse), and what `advisor calibrate` proposes there on the corpus's own "
        "questions (in-sample, so an upper bound) with the notes it shows the maintainer:",
        "",
        "| corpus | answerable: min / median | to refuse: median / max | overlap | calibrate proposes | in-sample P / R / answered | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in result["small"]:
        e, cal = c["evidence"], c["calibrate"]
        lines.append(
            f"| {c['name']} | {_f(e['answerable'].get('min'))} / {_f(e['answerable'].get('median'))} | {_f(e['refusal'].get('median'))} / "
            f"{_f(e['refusal'].get('max'))} | {_f(e['overlap'])} | {_rule(cal['proposed'])} | {_f(cal['fit']['refusal_precision'])} / "
            f"{_f(cal['fit']['refusal_recall'])} / {_f(cal['fit']['answered'])} | {', '.join(cal['notes']) or '-'} |"
        )
    lines += ["", "Answerable questions refused, and questions to refuse that were answered, per corpus:", ""]
    for c in result["small"]:
        lines.append(f"- {c['name']}: refused {', '.join(c['refused_answerable']) or 'none'}; answered off-topic {', '.join(c['answered_offtopic']) or 'none'}")
    return "\n".join(lines) + "\n"


def write_report(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "transfer.md", out_dir / "transfer.json"
    js.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    md.write_text(format_markdown(result), encoding="utf-8")
    return md, js


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from tqdm import tqdm

    parser = argparse.ArgumentParser(description="The transfer harness (issue #13): sub-corpora of corpus/, indexed and evaluated.")
    parser.add_argument("--questions", type=Path, default=None, help="The gold questions (default: the setting questions_file).")
    parser.add_argument("--out", type=Path, default=Path("docs/eval"), help="Where transfer.md and transfer.json go.")
    parser.add_argument("--work", type=Path, default=None, help="Folder for the temporary sub-corpora (default: the system's).")
    args = parser.parse_args(argv)
    settings = load_settings()
    bar = tqdm(desc="transfer", unit="step", file=sys.stderr, dynamic_ncols=True)

    def step(what: str) -> None:
        bar.set_postfix_str(what[:70])
        bar.update(1)

    result = run_transfer(settings, args.questions or Path(settings.questions_file), step, args.work)
    bar.close()
    md, js = write_report(result, args.out)
    print(f"written {md} and {js} ({result['seconds']:.0f} s)")
    return 0
