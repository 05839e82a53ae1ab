"""The gold evaluation: retrieval, citation and refusal quality of the current index.

Metrics (answerable questions unless said otherwise):
- recall@1 / recall@5: an expected document among the first 1 / 5 retrieved passages;
- MRR: mean of 1/rank of the first passage from an expected document (0 when not in the top 10);
- citation precision: share of the answer's citations that point into an expected document;
- refusal precision / recall: over all questions, refusal as the positive class;
- language match: the answer's language equals the question's;
- seconds per question: median and p95 of a full answer.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.answer.conversation import condense

if TYPE_CHECKING:
    from advisor.answer.service import Advisor

HIGHER_IS_BETTER = ("recall@1", "recall@5", "mrr", "citation_precision", "refusal_precision", "refusal_recall", "language_match", "supported_share")
TIMINGS = ("seconds_median", "seconds_p95")
METRICS = ("questions", *HIGHER_IS_BETTER, *TIMINGS)  # the order reports, tables and the desk show them in
RANK_DEPTH = 10


Sources = tuple[str, ...]  # relative paths of corpus documents


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    language: str
    kind: str
    expected: Sources = ()
    history: tuple[str, ...] = ()  # earlier questions of the conversation
    section: str | None = None
    doc_language: str | None = None

    @property
    def answerable(self) -> bool:
        return self.kind != "refusal"


@dataclass
class Outcome:
    question: Question
    ranked_sources: list[str]
    refused: bool
    language: str
    cited: list[str]
    seconds: float
    supported: tuple[int, int] = (0, 0)  # supported sentences, all sentences (LLM backends)
    answer: str = ""

    def rank(self) -> int | None:
        for i, s in enumerate(self.ranked_sources[:RANK_DEPTH], start=1):
            if s in self.question.expected:
                return i
        return None


@dataclass
class Report:
    metrics: dict[str, float]
    groups: dict[str, dict[str, float]]
    per_question: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"meta": self.meta, "metrics": self.metrics, "groups": self.groups, "questions": self.per_question}


def load_questions(path: Path, corpus_languages: dict[str, str] | None = None) -> list[Question]:
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: list[Question] = []
    seen: set[str] = set()
    for item in raw:
        qid = str(item["id"])
        if qid in seen:
            raise ValueError(f"duplicate question id '{qid}' in {path.name}")
        seen.add(qid)
        expected = tuple(item.get("expected") or ())
        doc_lang = None
        if corpus_languages and expected:
            doc_lang = corpus_languages.get(expected[0])
        out.append(
            Question(
                id=qid,
                question=str(item["question"]),
                language=str(item["language"]),
                kind=str(item.get("kind", "answerable")),
                expected=expected,
                history=tuple(item.get("history") or ()),
                section=item.get("section"),
                doc_language=doc_lang,
            )
        )
    return out


_MARKUP = re.compile(r"[*_`]+")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


def normalise_point(text: str) -> str:
    """Text as compared for key points: no emphasis marks, one kind of quote, single spaces, lower case."""
    return _SPACE.sub(" ", _MARKUP.sub("", text.translate(_QUOTES))).strip().lower()


def percentile(values: Sequence[float], q: float) -> float:
    """The value at quantile `q` (0..1), nearest rank: a value that was measured, never an interpolation."""
    return float(np.percentile(values, 100 * q, method="nearest")) if len(values) else 0.0


def score(outcomes: Iterable[Outcome]) -> dict[str, float]:
    """All metrics over a set of outcomes: a pure function of what the system did."""
    outs = list(outcomes)
    answerable = [o for o in outs if o.question.answerable]
    m: dict[str, float] = {"questions": float(len(outs)), "answerable": float(len(answerable))}
    if answerable:
        ranks = [o.rank() for o in answerable]
        m["recall@1"] = sum(1 for r in ranks if r is not None and r <= 1) / len(ranks)
        m["recall@5"] = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
        m["mrr"] = sum(1 / r for r in ranks if r is not None) / len(ranks)
        cited = [(s in o.question.expected) for o in answerable if not o.refused for s in o.cited]
        m["citation_precision"] = sum(cited) / len(cited) if cited else 0.0
    should = [o for o in outs if not o.question.answerable]
    refused = [o for o in outs if o.refused]
    true_pos = sum(1 for o in refused if not o.question.answerable)
    if should:  # refusal figures only where there are questions that should be refused
        m["refusal_precision"] = true_pos / len(refused) if refused else 0.0
        m["refusal_recall"] = true_pos / len(should)
    m["language_match"] = sum(o.language == o.question.language for o in outs) / len(outs) if outs else 0.0
    total_sentences = sum(o.supported[1] for o in outs)
    if total_sentences:
        m["supported_share"] = sum(o.supported[0] for o in outs) / total_sentences
    secs = [o.seconds for o in outs]
    m["seconds_median"] = statistics.median(secs) if secs else 0.0
    m["seconds_p95"] = percentile(secs, 0.95)
    return m


def group_of(o: Outcome) -> list[str]:
    q = o.question
    groups = [f"question_{q.language}"]
    if q.kind == "refusal":
        groups.append("refusal")
        return groups
    if q.doc_language:
        groups.append(f"doc_{q.doc_language}")
        groups.append("cross_language" if q.doc_language != q.language else "same_language")
    if q.kind == "followup":
        groups.append("followup")
    return groups


def run_eval(
    advisor: Advisor,
    questions: Sequence[Question],
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    searcher = advisor.reader.searcher()
    outcomes: list[Outcome] = []

    for i, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        ans = advisor.answer(q.question, list(q.history))
        seconds = time.perf_counter() - t0
        hits = searcher.search(condense(q.question, list(q.history)), k=RANK_DEPTH)
        supported = (sum(p.supported for p in ans.points), len(ans.points)) if ans.backend != "extractive" else (0, 0)
        outcomes.append(
            Outcome(
                question=q,
                ranked_sources=[h.chunk.source for h in hits],
                refused=ans.refused,
                language=ans.language,
                cited=[c.source for c in ans.citations],
                seconds=seconds,
                supported=supported,
                answer=ans.text,
            )
        )
        if progress:
            progress(i, len(questions))
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        for g in group_of(o):
            groups.setdefault(g, []).append(o)
    info = searcher.info
    return Report(
        metrics=score(outcomes),
        groups={g: score(v) for g, v in sorted(groups.items())},
        per_question=[
            {
                "id": o.question.id,
                "kind": o.question.kind,
                "language": o.question.language,
                "expected": list(o.question.expected),
                "rank": o.rank(),
                "refused": o.refused,
                "cited": o.cited,
                "top": o.ranked_sources[:5],
                "seconds": round(o.seconds, 3),
            }
            for o in outcomes
        ],
        meta={
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build": searcher.build_id,
            "model": info.get("model"),
            "documents": info.get("documents"),
            "chunks": info.get("chunks"),
            "backend": advisor.settings.llm_backend,
            "refusal_threshold": advisor.settings.refusal_threshold,
        },
    )


def compare(new: dict[str, float], old: dict[str, float], tolerance: float = 1e-9) -> tuple[list[str], list[str]]:
    """(regressions, improvements) as readable lines, for metrics where higher is better."""
    worse: list[str] = []
    better: list[str] = []
    for key in HIGHER_IS_BETTER:
        if key in new and key in old:
            delta = new[key] - old[key]
            line = f"{key}: {old[key]:.3f} -> {new[key]:.3f} ({delta:+.3f})"
            if delta < -tolerance:
                worse.append(line)
            elif delta > tolerance:
                better.append(line)
    return worse, better


def parse_bars(spec: str) -> dict[str, float]:
    """'recall@5=0.9,mrr=0.75' -> {'recall@5': 0.9, 'mrr': 0.75}."""
    bars: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        if key.strip() not in HIGHER_IS_BETTER or not value:
            raise ValueError(f"unknown bar '{part}'; use one of {', '.join(HIGHER_IS_BETTER)} as name=value")
        bars[key.strip()] = float(value)
    return bars


def below_bars(metrics: dict[str, float], bars: dict[str, float]) -> list[str]:
    return [f"{k} = {metrics.get(k, 0.0):.3f} < {v:.3f}" for k, v in bars.items() if metrics.get(k, 0.0) < v]


def latest_report(report_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    files = sorted(report_dir.glob("eval-*.json"))
    if not files:
        return None
    return files[-1], json.loads(files[-1].read_text())


def format_table(report: Report) -> str:
    cols = ["all", *report.groups]
    rows = [["metric", *cols]]
    for k in METRICS:
        vals = [report.metrics.get(k)] + [report.groups[g].get(k) for g in report.groups]
        if all(v is None for v in vals):
            continue
        rows.append([k] + ["-" if v is None else (str(int(v)) if k == "questions" else f"{v:.3f}") for v in vals])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)
