"""The citation check: every generated sentence held to the passages it cites."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from advisor.answer.llm.prompts import tidy
from advisor.core.text import keyword_terms, split_sentences, words
from advisor.core.types import AnswerPoint, Language
from advisor.ingest.redact import REDACTED

UNSUPPORTED: dict[Language, str] = {"nl": "[niet onderbouwd]", "en": "[unsupported]"}

_CITATION = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_CITATIONS_AFTER_END = re.compile(r"([.!?])((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")

Support = Callable[[str, int], float]  # (sentence without citations, passage number as given) -> score


def terms(text: str) -> set[str]:
    """Stemmed keyword terms under both languages' rules."""
    return set(keyword_terms(text, "nl")) | set(keyword_terms(text, "en"))


def normalise_citations(text: str) -> str:
    """`claim. [1] Next` -> `claim [1]. Next`, so a citation stays with the sentence it follows."""
    return _CITATIONS_AFTER_END.sub(lambda m: f" {m.group(2).strip()}{m.group(1)}", text)


def _with_citations(body: str, numbers: Sequence[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    m = re.search(r"([.!?:;]+)$", body)
    if m:
        return f"{body[: m.start()].rstrip()} {marks}{m.group(1)}"
    return f"{body} {marks}"


def _is_structural(body: str) -> bool:
    """A heading or lead-in line: kept as written, not a claim to check."""
    stripped = body.strip()
    return stripped.endswith(":") or stripped.startswith("#") or bool(re.fullmatch(r"\*\*[^*]+\*\*:?", stripped))


def _parse(sentence: str) -> tuple[str, str, list[int]]:
    """A sentence as (list marker, text without citation marks, cited numbers as written)."""
    marker = _LIST_MARKER.match(sentence)
    prefix = marker.group(0) if marker else ""
    body = sentence[len(prefix) :]
    numbers = [int(n) for m in _CITATION.finditer(body) for n in re.split(r"\s*[,;]\s*", m.group(1))]
    return prefix, tidy(_CITATION.sub("", body)), numbers


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without citation marks or list marker
    cited: tuple[int, ...]  # passage numbers as given to the model, in range
    out_of_range: tuple[int, ...]
    backing: tuple[int, ...]  # the cited passages whose support reached the threshold
    scores: tuple[float, ...]  # support per cited passage
    supported: bool


@dataclass(frozen=True)
class CheckResult:
    text: str
    points: tuple[AnswerPoint, ...]
    used: tuple[int, ...]  # given passage numbers in order of first use: used[i] becomes citation i + 1
    sentences: tuple[CheckedSentence, ...]


def _check(plain: str, numbers: Sequence[int], n_passages: int, support: Support, threshold: float) -> CheckedSentence:
    cited = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
    out_of_range = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= n_passages))
    scores = tuple(float(support(plain, n)) for n in cited)
    backing = tuple(n for n, s in zip(cited, scores, strict=True) if s >= threshold)
    return CheckedSentence(plain, cited, out_of_range, backing, scores, bool(backing))


def check_citations(
    text: str,
    n_passages: int,
    support: Support,
    *,
    threshold: float,
    policy: str,
    language: Language,
) -> CheckResult:
    """Hold each generated sentence to the passages it cites.

    Citations outside 1..n_passages are removed. A sentence is supported when at least one cited
    passage scores `threshold` or more; only those passages stay cited, renumbered 1..m in order of
    first use. A sentence without a (valid) citation is unsupported. Unsupported sentences are marked
    (`policy="mark"`) or removed (`policy="drop"`).
    """
    text = normalise_citations(text)
    pieces: list[str] = []
    points: list[AnswerPoint] = []
    checked: list[CheckedSentence] = []
    order: dict[int, int] = {}
    cursor = 0
    for sentence in split_sentences(text):
        at = text.find(sentence, cursor)
        if at < 0:  # split_sentences returns substrings; guard anyway
            continue
        pieces.append(text[cursor:at])
        cursor = at + len(sentence)
        prefix, plain, numbers = _parse(sentence)
        if not words(plain):  # citation marks or punctuation alone
            continue
        if not numbers and _is_structural(plain):
            pieces.append(sentence)
            continue
        result = _check(plain, numbers, n_passages, support, threshold)
        checked.append(result)
        if result.supported:
            new = tuple(order.setdefault(n, len(order) + 1) for n in result.backing)
            pieces.append(prefix + _with_citations(plain, new))
            points.append(AnswerPoint(text=plain, citations=new, supported=True))
        elif policy != "drop":
            pieces.append(f"{prefix}{plain} {UNSUPPORTED[language]}")
            points.append(AnswerPoint(text=plain, citations=(), supported=False))
    pieces.append(text[cursor:])
    return CheckResult(
        text=tidy("".join(pieces)),
        points=tuple(points),
        used=tuple(sorted(order, key=order.__getitem__)),
        sentences=tuple(checked),
    )


class SupportScorer:
    """How well a passage backs a sentence: embedding similarity, checked by stemmed term overlap.

    Similarity is the best cosine between the sentence (embedded as a query) and any sentence of
    the passage (embedded as a document). When sentence and passage share a language, a sentence
    that shares less than `MIN_OVERLAP` of its stemmed terms with the passage loses
    `OVERLAP_PENALTY`: it talks about the passage's topic but says something the passage does not.
    Across languages overlap means little (translations share few stems), so similarity decides.
    Calibrated for multilingual-e5-small (see `Settings.support_threshold`).
    """

    MIN_OVERLAP = 0.2
    OVERLAP_PENALTY = 0.1

    def __init__(
        self,
        passages: Sequence[str],
        language: Language,
        embed_queries: Callable[[Sequence[str]], np.ndarray],
        embed_documents: Callable[[Sequence[str]], np.ndarray],
        passage_languages: Sequence[Language] | None = None,
    ) -> None:
        self.passages = list(passages)
        self.language = language
        self.passage_languages = list(passage_languages or [language] * len(self.passages))
        self.embed_queries = embed_queries
        self.embed_documents = embed_documents
        self._sentences: dict[int, tuple[list[str], np.ndarray]] = {}
        self._terms: dict[int, set[str]] = {}
        self.best_sentence: dict[tuple[str, int], str] = {}

    def _passage(self, n: int) -> tuple[list[str], np.ndarray]:
        if n not in self._sentences:
            text = self.passages[n - 1].replace(REDACTED, "\n")  # a redaction ends a sentence
            sents = [s for s in split_sentences(text) if words(s)] or [text]
            self._sentences[n] = (sents, self.embed_documents(sents))
        return self._sentences[n]

    def _passage_terms(self, n: int) -> set[str]:
        if n not in self._terms:
            self._terms[n] = terms(self.passages[n - 1])
        return self._terms[n]

    def similarity(self, sentence: str, n: int) -> float:
        sents, vecs = self._passage(n)
        sims = vecs @ self.embed_queries([sentence])[0]
        best = int(np.argmax(sims))
        self.best_sentence[(sentence, n)] = sents[best]
        return float(sims[best])

    def overlap(self, sentence: str, n: int) -> float:
        """Share of the sentence's stemmed terms that occur in passage n."""
        sentence_terms = set(keyword_terms(sentence, self.language))
        if not sentence_terms:
            return 0.0
        return len(sentence_terms & self._passage_terms(n)) / len(sentence_terms)

    def __call__(self, sentence: str, n: int) -> float:
        score = self.similarity(sentence, n)
        if self.passage_languages[n - 1] == self.language and self.overlap(sentence, n) < self.MIN_OVERLAP:
            score -= self.OVERLAP_PENALTY
        return score
