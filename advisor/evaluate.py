"""The gold evaluation: retrieval, citation and refusal quality of the current index.

Metrics (answerable questions unless said otherwise):
- recall@1 / recall@5: an expected document among the first 1 / 5 retrieved passages;
- MRR: mean of 1/rank of the first passage from an expected document (0 when not in the top 10);
- citation precision: share of the answer's citations that point into an expected document;
- refusal precision / recall: over all questions, refusal as the positive class;
- language match: the answer's language equals the question's;
- section recall@5: an expected section among the first five passages; a question's expected
  sections are its gold `section` and every section of an expected document holding one of its
  key points;
- key-point recall: the share of the gold key points (2-4 verbatim corpus sentences a good answer
  contains) that the answer contains: verbatim for an extractive answer, a sentence with cosine
  similarity >= KEY_POINT_SIMILARITY for a model's answer;
- point defects: the share of answer points that are a question, a meta sentence, a heading, a
  lead-in, a fragment without its lead-in or antecedent, or under six words
  (`advisor.answer.points.defect`); lower is better;
- language frame: the answer's own words (its frame, notes and refusal) are in the question's language;
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

from advisor.answer.compose import frame_language
from advisor.answer.points import point_defect

if TYPE_CHECKING:
    from advisor.answer.service import Advisor
    from advisor.core.types import Answer

HIGHER_IS_BETTER = (
    "recall@1",
    "recall@5",
    "mrr",
    "section_recall@5",
    "key_point_recall",
    "citation_precision",
    "refusal_precision",
    "refusal_recall",
    "language_match",
    "language_frame",
    "supported_share",
)
LOWER_IS_BETTER = ("point_defects",)
TIMINGS = ("seconds_median", "seconds_p95")
METRICS = ("questions", *HIGHER_IS_BETTER, *LOWER_IS_BETTER, *TIMINGS)  # the order reports, tables and the desk show them in
KEY_POINT_SIMILARITY = 0.92
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
    key_points: tuple[str, ...] = ()

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
    section_hit: bool | None = None  # an expected section among the first five passages (None: no section known)
    key_points_found: tuple[int, int] = (0, 0)  # key points the answer contains, key points
    defects: tuple[int, int] = (0, 0)  # defective points, points
    framed: bool = True  # the answer's own words are in the question's language

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

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ValueError(f"not valid YAML{where}: {problem} (a text with a comma or a colon in a [list] needs quotes)") from None
    check_question_items(raw)
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
                key_points=tuple(item.get("key_points") or ()),
            )
        )
    return out


KINDS = ("answerable", "cross", "followup", "refusal")
LANGUAGES = ("nl", "en")


def check_question_items(raw: Any) -> None:
    """A questions file's items as `load_questions` needs them, or a `ValueError` that names the item
    and the field (docs/eval/README.md, "Your own questions", describes the format)."""
    if not isinstance(raw, list) or not raw:
        raise ValueError("a questions file is a YAML list of questions, each with id, question and language")
    for n, item in enumerate(raw, start=1):
        where = f"question {n}" + (f" (id {item.get('id')})" if isinstance(item, dict) and item.get("id") is not None else "")
        if not isinstance(item, dict):
            raise ValueError(f"{where} is not a mapping of fields")
        for name in ("id", "question", "language"):
            if item.get(name) in (None, ""):
                raise ValueError(f"{where} has no '{name}'")
        if item["language"] not in LANGUAGES:
            raise ValueError(f"{where}: language '{item['language']}' is not one of {', '.join(LANGUAGES)}")
        kind = item.get("kind", "answerable")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind '{kind}' is not one of {', '.join(KINDS)}")
        for name in ("expected", "history", "key_points"):
            value = item.get(name)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"{where}: '{name}' must be a list of strings")
        if kind == "refusal" and item.get("expected"):
            raise ValueError(f"{where}: a question to refuse has no expected documents")
        if kind == "followup" and not item.get("history"):
            raise ValueError(f"{where}: a follow-up needs its history (the earlier questions)")


_MARKUP = re.compile(r"[*_`]+")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


def normalise_point(text: str) -> str:
    """Text as compared for key points: no emphasis marks, one kind of quote, single spaces, lower case."""
    return _SPACE.sub(" ", _MARKUP.sub("", text.translate(_QUOTES))).strip().lower()


def expected_sections(q: Question, section_texts: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
    """The sections that answer a question: its gold section (with its subsections), and every
    section of an expected document that holds one of its key points (`section_texts`: normalised
    text per section key)."""
    out: set[tuple[str, str]] = set()
    leaf = q.section.rsplit(" > ", 1)[-1] if q.section else None
    points = [normalise_point(k) for k in q.key_points]
    for key, text in section_texts.items():
        if key[0] not in q.expected:
            continue
        if leaf is not None and (key[1] == q.section or key[1].rsplit(" > ", 1)[-1] == leaf or key[1].startswith(q.section + " > ")):
            out.add(key)
        elif any(p in text for p in points):
            out.add(key)
    return out


def key_points_found(q: Question, ans: Answer, vectorize: Callable[[Sequence[str]], np.ndarray]) -> tuple[int, int]:
    """(key points the answer contains, key points) for an answerable question."""
    if not q.answerable or not q.key_points:
        return (0, 0)
    if ans.refused or not ans.points:
        return (0, len(q.key_points))
    if ans.backend == "extractive":
        said = normalise_point(" ".join(p.standalone_text for p in ans.points))
        return (sum(normalise_point(k) in said for k in q.key_points), len(q.key_points))
    sentences = [p.text for p in ans.points]
    sims = vectorize(list(q.key_points)) @ vectorize(sentences).T
    return (int((sims.max(axis=1) >= KEY_POINT_SIMILARITY).sum()), len(q.key_points))


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
        graded = [o.section_hit for o in answerable if o.section_hit is not None]
        if graded:
            m["section_recall@5"] = sum(graded) / len(graded)
        key_total = sum(o.key_points_found[1] for o in answerable)
        if key_total:
            m["key_point_recall"] = sum(o.key_points_found[0] for o in answerable) / key_total
    point_total = sum(o.defects[1] for o in outs)
    if point_total:
        m["point_defects"] = sum(o.defects[0] for o in outs) / point_total
    should = [o for o in outs if not o.question.answerable]
    refused = [o for o in outs if o.refused]
    true_pos = sum(1 for o in refused if not o.question.answerable)
    if should:  # refusal figures only where there are questions that should be refused
        m["refusal_precision"] = true_pos / len(refused) if refused else 0.0
        m["refusal_recall"] = true_pos / len(should)
    m["language_match"] = sum(o.language == o.question.language for o in outs) / len(outs) if outs else 0.0
    m["language_frame"] = sum(o.framed for o in outs) / len(outs) if outs else 0.0
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
    section_texts = {key: normalise_point(" ".join(c.fresh_text for c in searcher.section_chunks(key))) for key in searcher.by_section}

    for i, q in enumerate(questions, start=1):
        t0 = time.perf_counter()
        ans = advisor.answer(q.question, list(q.history))
        seconds = time.perf_counter() - t0
        hits = advisor.passages(q.question, list(q.history), k=RANK_DEPTH)  # the passages the answer step gets
        supported = (sum(p.supported for p in ans.points), len(ans.points)) if ans.backend != "extractive" else (0, 0)
        expected = expected_sections(q, section_texts)
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
                section_hit=any(h.chunk.section_key in expected for h in hits[:5]) if expected else None,
                key_points_found=key_points_found(q, ans, advisor.vectorize_sentences),
                defects=(sum(point_defect(p.text, p.lead) is not None for p in ans.points), len(ans.points)) if not ans.refused else (0, 0),
                framed=frame_language(ans.text) == q.language if ans.backend == "extractive" else ans.language == q.language,
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
                "section_hit": o.section_hit,
                "key_points": list(o.key_points_found),
                "defects": list(o.defects),
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
    for key in (*HIGHER_IS_BETTER, *LOWER_IS_BETTER):
        if key in new and key in old:
            delta = new[key] - old[key] if key in HIGHER_IS_BETTER else old[key] - new[key]
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
        if key.strip() not in (*HIGHER_IS_BETTER, *LOWER_IS_BETTER) or not value:
            raise ValueError(f"unknown bar '{part}'; use one of {', '.join((*HIGHER_IS_BETTER, *LOWER_IS_BETTER))} as name=value")
        bars[key.strip()] = float(value)
    return bars


def below_bars(metrics: dict[str, float], bars: dict[str, float]) -> list[str]:
    """The bars a report misses: a higher-is-better metric under its bar, a lower-is-better one (point
    defects) over it."""
    out = []
    for k, v in bars.items():
        if k in LOWER_IS_BETTER:
            if metrics.get(k, 1.0) > v:
                out.append(f"{k} = {metrics.get(k, 1.0):.3f} > {v:.3f}")
        elif metrics.get(k, 0.0) < v:
            out.append(f"{k} = {metrics.get(k, 0.0):.3f} < {v:.3f}")
    return out


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
