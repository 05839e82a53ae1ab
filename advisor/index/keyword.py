"""BM25 over chunks, stemmed per chunk language (Robertson & Zaragoza 2009, Okapi BM25).

Own implementation rather than bm25s so that a hit reports which query terms it matched: the
fusion lets the keyword side count only where it really matches (see `coverage`).
"""

from __future__ import annotations

import math
import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from advisor.core.text import keyword_terms
from advisor.core.types import Chunk


@dataclass(frozen=True)
class KeywordHit:
    index: int  # position of the chunk in the build's chunk list
    score: float
    coverage: float  # share of the query's idf weight that this chunk matched


class BM25Index:
    def __init__(self, postings: dict[str, tuple[np.ndarray, np.ndarray]], doc_len: np.ndarray, k1: float = 1.2, b: float = 0.75) -> None:
        self.postings = postings
        self.doc_len = doc_len
        self.k1 = k1
        self.b = b
        self.n = len(doc_len)
        self.avg_len = float(doc_len.mean()) if self.n else 0.0
        self._impacts: dict[str, np.ndarray] = {}

    @classmethod
    def build(cls, chunks: list[Chunk]) -> BM25Index:
        rows: dict[str, list[tuple[int, int]]] = {}
        lengths = np.zeros(len(chunks), dtype=np.float32)
        for i, chunk in enumerate(chunks):
            terms = keyword_terms(chunk.embed_text, chunk.language)
            lengths[i] = len(terms)
            for term, tf in Counter(terms).items():
                rows.setdefault(term, []).append((i, tf))
        postings = {
            t: (np.array([d for d, _ in r], dtype=np.int32), np.array([f for _, f in r], dtype=np.float32))
            for t, r in rows.items()
        }
        return cls(postings, lengths)

    def idf(self, term: str) -> float:
        df = len(self.postings[term][0]) if term in self.postings else 0
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def impacts(self, term: str) -> np.ndarray:
        """The term's BM25 score in each chunk of its posting list; computed once per term, then kept."""
        got = self._impacts.get(term)
        if got is None:
            docs, tf = self.postings[term]
            norm = self.k1 * (1 - self.b + self.b * self.doc_len[docs] / max(self.avg_len, 1e-9))
            got = (self.idf(term) * tf * (self.k1 + 1) / (tf + norm)).astype(np.float32)
            self._impacts[term] = got  # a benign race: two threads compute the same array
        return got

    def score_all(self, groups: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk's BM25 score and coverage (share of the query's idf weight it matches) for a
        query given as term groups (`retrieve.glossary.query_terms`): each group is one word of the
        question with its stems in both languages and translations."""
        scores = np.zeros(self.n, dtype=np.float32)
        matched = np.zeros(self.n, dtype=np.float32)
        total_weight = 0.0
        seen: set[str] = set()
        for group in groups:
            # A word weighs as its rarest known stem; a word unknown to the corpus weighs fully.
            known = [t for t in group if t in self.postings]
            weight = max((self.idf(t) for t in known), default=self.idf(group[0]))
            total_weight += weight
            for t in known:
                if t not in seen:
                    scores[self.postings[t][0]] += self.impacts(t)
                    seen.add(t)
            if known:
                # a chunk holding several of the word's stems counts once: with repeated indices,
                # a buffered `a[idx] += w` writes the same a[i] + w for each, so adds w once
                matched[np.concatenate([self.postings[t][0] for t in known])] += weight
        return scores, matched / (total_weight or 1.0)

    def coverage_within_reach(self, groups: Sequence[tuple[str, ...]], languages: np.ndarray, asked_in: str | None = None) -> np.ndarray:
        """Each chunk's coverage of the query words its own language can match at all.

        A chunk can only match a question word that some chunk of its language contains (itself
        or a glossary translation). An English question on a Dutch passage matches "partner" and
        the glossary's words, never "leverage" or "squeezing"; measured against every word (as
        `score_all` does) no Dutch passage reaches the share at which fusion lets the keyword side
        vote, and the English passages vote alone. Here a chunk's matched weight is divided by the
        weight of the words its language holds, and of the words no chunk holds when the chunk is in
        `asked_in`, the question's language (they are that language's words; without `asked_in` they
        count against every chunk, as in `score_all`): a question in one language no longer sets the
        other aside. (`languages`: each chunk's language, in build order.)"""
        matched = np.zeros(self.n, dtype=np.float32)
        codes, per_chunk = np.unique(languages, return_inverse=True)
        reach = np.zeros(len(codes), dtype=np.float64)
        for group in groups:
            known = [t for t in group if t in self.postings]
            if not known:  # a word no chunk holds counts against the chunks of the question's language
                if asked_in is None:
                    reach += self.idf(group[0])
                else:
                    reach[codes == asked_in] += self.idf(group[0])
                continue
            weight = max(self.idf(t) for t in known)
            rows = np.concatenate([self.postings[t][0] for t in known])
            matched[rows] += weight  # repeated rows add once (see `score_all`)
            reach[np.unique(per_chunk[rows])] += weight
        within = reach[per_chunk]
        return np.where(within > 0, matched / np.maximum(within, 1e-9), 0.0).astype(np.float32)

    def search(self, groups: Sequence[tuple[str, ...]], k: int) -> list[KeywordHit]:
        """The k best chunks for a query given as term groups (see `score_all`)."""
        if not groups or not self.n:
            return []
        return self.top(*self.score_all(groups), k)

    @staticmethod
    def top(scores: np.ndarray, coverage: np.ndarray, k: int) -> list[KeywordHit]:
        """The k best chunks of a `score_all` result."""
        candidates = np.flatnonzero(scores)
        if not len(candidates):
            return []
        if len(candidates) > k:  # keep the k best, and every chunk tied with the k-th: ties go by position
            kth = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= kth]
        top = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
        return [KeywordHit(int(i), float(scores[i]), float(coverage[i])) for i in top]

    def save(self, path: Path) -> None:
        with path.open("wb") as f:
            pickle.dump({"postings": self.postings, "doc_len": self.doc_len, "k1": self.k1, "b": self.b}, f, protocol=5)

    @classmethod
    def load(cls, path: Path) -> BM25Index:
        with path.open("rb") as f:
            data = pickle.load(f)  # noqa: S301 - our own build artifact, never user input
        return cls(data["postings"], data["doc_len"], data["k1"], data["b"])
