"""The extractive answer: key sentences from the retrieved passages, each with its citation.

No language model is involved, so nothing can be invented: every point is a sentence that
stands in a cited passage. Selection is scored against the question and diversified (MMR,
Carbonell & Goldstein 1998).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from advisor.core.text import split_sentences
from advisor.core.types import Answer, AnswerPoint, Citation, Hit, Language
from advisor.ingest.redact import REDACTED

Vectorize = Callable[[Sequence[str]], np.ndarray]

TEXTS = {
    "nl": {
        "intro": "Dit zeggen de bronnen in de kennisbank over uw vraag:",
        "refusal": (
            "De kennisbank behandelt deze vraag niet, dus ik geef hier geen advies dat ik niet met een "
            "bron kan onderbouwen."
        ),
        "nearest": "Onderwerpen die er het dichtst bij liggen:",
        "other_language": "De passages zijn in het Engels en worden letterlijk geciteerd, niet vertaald.",
        "empty": "Stel een vraag over samenwerking tussen organisaties.",
    },
    "en": {
        "intro": "Here is what the sources in the knowledge base say about your question:",
        "refusal": (
            "The knowledge base does not cover this question, so I will not give advice I cannot back "
            "with a source."
        ),
        "nearest": "Nearest topics it does cover:",
        "other_language": "The passages are in Dutch and are quoted as written, not translated.",
        "empty": "Ask a question about collaboration between organisations.",
    },
}


@dataclass(frozen=True)
class Candidate:
    hit_index: int
    text: str
    similarity: float
    score: float


def usable_sentence(s: str) -> bool:
    """A sentence that can stand alone as advice: long enough, not a heading or a lead-in."""
    body = s.lstrip("-*• ").strip()
    if len(body) < 35 or len(body.split()) < 6:
        return False
    if body.endswith(":") or REDACTED in body:
        return False
    return not re.match(r"^(Bronnen|References|Bron|Source)\b", body)


def candidates(question_vec: np.ndarray, hits: Sequence[Hit], vectorize: Vectorize) -> tuple[list[Candidate], np.ndarray]:
    texts: list[str] = []
    owners: list[int] = []
    for i, h in enumerate(hits):
        for s in split_sentences(h.chunk.text):
            if usable_sentence(s) and s not in texts:
                texts.append(s)
                owners.append(i)
    if not texts:
        return [], np.zeros((0, len(question_vec)), dtype=np.float32)
    vecs = vectorize(texts)
    sims = vecs @ question_vec
    out = []
    for j, (s, i) in enumerate(zip(texts, owners, strict=True)):
        passage = hits[i].dense_similarity or 0.0
        out.append(Candidate(i, s, float(sims[j]), 0.7 * float(sims[j]) + 0.3 * passage))
    return out, vecs


def select(cands: list[Candidate], vecs: np.ndarray, n: int, floor: float, lam: float = 0.75, margin: float = 1.0) -> list[int]:
    """Maximal marginal relevance over sentences above the floor and within `margin` of the best."""
    best = max((c.similarity for c in cands), default=0.0)
    floor = max(floor, best - margin)
    pool = [j for j, c in enumerate(cands) if c.similarity >= floor]
    if not pool and cands:
        pool = [max(range(len(cands)), key=lambda j: cands[j].score)]
    chosen: list[int] = []
    while pool and len(chosen) < n:
        def mmr(j: int) -> float:
            redundancy = max((float(vecs[j] @ vecs[c]) for c in chosen), default=0.0)
            return lam * cands[j].score - (1 - lam) * redundancy

        best = max(pool, key=mmr)
        pool.remove(best)
        if any(float(vecs[best] @ vecs[c]) > 0.95 for c in chosen):
            continue
        chosen.append(best)
    return chosen


def nearest_topics(hits: Sequence[Hit], n: int = 3) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for h in hits:
        topic = h.chunk.title + (f": {h.chunk.section}" if h.chunk.section else "")
        if h.chunk.title not in {t.split(":")[0] for t in seen}:
            seen.setdefault(topic, None)
        if len(seen) >= n:
            break
    return tuple(seen)


def refusal(question: str, language: Language, hits: Sequence[Hit], retrieval_query: str = "") -> Answer:
    t = TEXTS[language]
    topics = nearest_topics(hits)
    text = t["refusal"]
    if topics:
        text += "\n\n" + t["nearest"] + "\n" + "\n".join(f"- {x}" for x in topics)
    return Answer(question, language, text, refused=True, suggestions=topics, retrieval_query=retrieval_query)


def is_covered(hits: Sequence[Hit], threshold: float, floor: float | None = None, keyword_coverage: float = 1.0) -> bool:
    """Does the corpus cover the question? Calibrated on the gold set (scripts/calibrate_refusal.py).

    Covered when the best passage is similar enough, or, between `floor` and `threshold`, when a
    passage also shares enough of the question's words: near-topic questions (a VAT rate for a
    joint venture) come close in meaning but name things no document names.
    """
    best = max((h.dense_similarity or 0.0 for h in hits), default=0.0)
    if best >= threshold:
        return True
    if floor is None or best < floor:
        return False
    return max((h.keyword_coverage for h in hits), default=0.0) >= keyword_coverage


def compose(
    question: str,
    language: Language,
    question_vec: np.ndarray,
    hits: Sequence[Hit],
    vectorize: Vectorize,
    *,
    refusal_threshold: float,
    sentence_threshold: float,
    max_points: int = 4,
    sentence_margin: float = 1.0,
    retrieval_query: str = "",
    refusal_floor: float | None = None,
    refusal_keyword_coverage: float = 1.0,
) -> Answer:
    """Build the answer from the hits, or refuse when none is relevant enough."""
    if not hits or not is_covered(hits, refusal_threshold, refusal_floor, refusal_keyword_coverage):
        return refusal(question, language, hits, retrieval_query)
    cands, vecs = candidates(question_vec, hits, vectorize)
    chosen = select(cands, vecs, max_points, sentence_threshold, margin=sentence_margin)
    if not chosen:
        return refusal(question, language, hits, retrieval_query)
    # Keep the reading order of the sources: by passage rank, then by position in the passage.
    chosen.sort(key=lambda j: (cands[j].hit_index, j))
    numbers: dict[int, int] = {}
    highlights: dict[int, list[str]] = {}
    points: list[AnswerPoint] = []
    for j in chosen:
        c = cands[j]
        n = numbers.setdefault(c.hit_index, len(numbers) + 1)
        highlights.setdefault(c.hit_index, []).append(c.text)
        points.append(AnswerPoint(text=c.text.lstrip("-*• ").strip(), citations=(n,)))
    citations = tuple(
        Citation.from_hit(n, hits[i], highlights[i])
        for i, n in sorted(numbers.items(), key=lambda kv: kv[1])
    )
    t = TEXTS[language]
    lines = [t["intro"], ""] + [f"- {p.text} [{p.citations[0]}]" for p in points]
    if all(hits[i].chunk.language != language for i in numbers):
        lines += ["", f"_{t['other_language']}_"]
    return Answer(
        question=question,
        language=language,
        text="\n".join(lines),
        refused=False,
        citations=citations,
        points=tuple(points),
        retrieval_query=retrieval_query,
    )
