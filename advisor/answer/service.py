"""The advisor service: question (+ history) -> retrieval -> answer.

The UI, the API and the CLI call `Advisor.answer()` / `Advisor.stream()` only. The advisor holds
one `Answerer` (see `advisor.answer.base`): the extractive composer (`Extractive`, an LCEL chain
over typed steps) or, when a backend is configured and reachable, the language model path
(`advisor.answer.llm.Generator`), which falls back to the extractive one when it fails.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from cachetools import LRUCache

from advisor.answer import llm
from advisor.answer.base import Answerer, ChainInput, Streamed
from advisor.answer.compose import TEXTS, ComposeOptions, compose, gave
from advisor.answer.conversation import History, condense, question_language, user_turns
from advisor.core.types import Answer, Hit, Language
from advisor.retrieve.intent import question_intent
from advisor.retrieve.search import Focus, IndexReader

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from advisor.core.settings import Settings
    from advisor.embedding.models import Embedder


log = logging.getLogger(__name__)


class _SentenceVectors:
    """Vectors of passage sentences, most recently used kept (cachetools' LRU), computed in one
    batch for those not seen yet."""

    def __init__(self, size: int = 20000) -> None:
        self.cache: LRUCache[str, np.ndarray] = LRUCache(size)
        self.lock = threading.Lock()

    def get_many(self, texts: Sequence[str], compute: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        with self.lock:
            found = {t: v for t in dict.fromkeys(texts) if (v := self.cache.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, compute(missing), strict=True))
            with self.lock:
                for t in missing:
                    self.cache[t] = found[t]
        return np.stack([found[t] for t in texts])


# ---------------------------------------------------------------------------- the extractive chain's state


@dataclass(frozen=True)
class Query:
    """A question made ready for retrieval: condensed with its history and embedded."""

    question: str
    history: History | None
    language: Language
    text: str  # the standalone search query
    qvec: np.ndarray  # the query as asked: hits' similarities and the refusal rule use it
    svec: np.ndarray  # the dense side's search text (the query, or its expansion)
    avec: np.ndarray  # what the composer scores sentences against (see `Extractive.embed_query`)


@dataclass(frozen=True)
class Found:
    query: Query
    hits: Sequence[Hit]  # a retrieve.search.Passages: the passages and the refusal rule's evidence


def replay(ans: Answer) -> Streamed:
    """A finished answer as a stream: the text up to each point (or blank line), then the answer."""
    lines = ans.text.split("\n")
    for i in range(1, len(lines)):
        if lines[i].startswith("- ") or not lines[i] or re.match(r"\d+\. ", lines[i]):
            yield "\n".join(lines[:i]), None
    yield ans.text, ans


def _with_notice(ans: Answer, notice: str) -> Answer:
    return replace(ans, notice=notice)


class Extractive:
    """The extractive answer path (an `Answerer`): condense -> embed -> retrieve -> compose."""

    def __init__(self, advisor: Advisor) -> None:
        self.advisor = advisor
        self.chain = self._build_chain()
        # the sections each recent answer drew on, by (question, earlier questions), for its follow-ups
        self._drew_on: LRUCache[tuple[str, tuple[str, ...]], frozenset[tuple[str, str]]] = LRUCache(maxsize=512)
        self._drew_on_for: tuple[int, int] = (0, 0)
        self._drew_on_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The advisor's: a reconfigured advisor answers with its new settings from the next question on."""
        return self.advisor.settings

    def embed_query(self, given: ChainInput) -> Query:
        question = given.question.strip()
        query = condense(question, given.history)
        # The question and the dense side's search text, embedded in one batch (measured: 25 vs 32 ms
        # p50 for two runs): retrieval searches with the second; the refusal rule and the composer
        # measure against the first.
        text = self.advisor.reader.searcher().search_text(query)
        asked = [query, text] if text != query else [query]
        if query != question:
            asked.append(question)
        vecs = self.advisor.embedder.embed_queries(asked)
        qvec, svec = vecs[0], vecs[1 if text != query else 0]
        # A follow-up's own words choose among the sections its condensed query retrieved: "and what
        # should the chair do?" is about the chair, not about the previous question's topic.
        # (Measured on the gold set's 25 follow-ups: the section the answer starts from is an expected
        # one for 0.44 of them with the condensed query, 0.52 with the follow-up's own words.)
        avec = vecs[-1] if query != question else qvec
        return Query(question, given.history, question_language(question, given.history), query, qvec, svec, avec)

    def find(self, query: Query, k: int | None = None) -> Found:
        # A follow-up's own words choose among its documents' sections (`Focus`).
        focus = Focus(query.question, query.avec) if query.avec is not query.qvec else None
        return Found(query, self.advisor.retrieve(query.text, query.qvec, query.svec, focus=focus, k=k))

    def passages(self, question: str, history: History | None = None, k: int | None = None) -> list[Hit]:
        """The passages the answer step gets for this question, as many as `k`: what the evaluation
        measures retrieval on."""
        return list(self.find(self.embed_query(ChainInput(question.strip(), history)), k).hits)

    def _conversation_key(self, question: str, history: History | None) -> tuple[str, tuple[str, ...]]:
        return question.strip(), tuple(user_turns(history))

    def _remembered(self, key: tuple[str, tuple[str, ...]], searcher: object) -> frozenset[tuple[str, str]] | None:
        with self._drew_on_lock:
            now = (id(self.settings), id(searcher))
            if now != self._drew_on_for:  # other settings or another index: other answers
                self._drew_on.clear()
                self._drew_on_for = now
            return self._drew_on.get(key)

    def _remember(self, key: tuple[str, tuple[str, ...]], ans: Answer) -> None:
        with self._drew_on_lock:
            self._drew_on[key] = gave(ans)

    def given_before(self, q: Query, searcher: object) -> frozenset[tuple[str, str]]:
        """For a follow-up, the sections the previous answer gave (`gave`): remembered when this advisor
        gave it (the app's conversation), else answered again from the earlier questions (an API
        call or an evaluation that sends only the questions)."""
        asked = user_turns(q.history)
        if not asked or q.text == q.question:  # not a follow-up: condensing borrowed nothing
            return frozenset()
        key = self._conversation_key(asked[-1], asked[:-1])
        found = self._remembered(key, searcher)
        if found is None:
            self.answer(asked[-1], asked[:-1])
            found = self._remembered(key, searcher) or frozenset()
        return found

    def compose(self, found: Found) -> Answer:
        s = self.settings
        q = found.query
        searcher = self.advisor.reader.searcher()
        given = self.given_before(q, searcher)
        # centred as retrieval centres: the sentences against the question, the chunks against its own words
        offsets = searcher.language_offsets(q.qvec)
        own_offsets = offsets if q.avec is q.qvec else searcher.language_offsets(q.avec)
        ans = compose(
            q.question,
            q.language,
            q.avec,
            found.hits,
            self.advisor.vectorize_sentences,
            refusal_threshold=s.refusal_threshold,
            refusal_floor=s.refusal_floor,
            refusal_keyword_coverage=s.refusal_keyword_coverage,
            intent=question_intent(q.question),
            section_of=searcher.section_chunks,
            sections_in=searcher.document_sections,
            language_offsets=offsets,
            known_term=searcher.knows,
            options=ComposeOptions(
                max_steps=s.max_steps, max_points=s.max_points, sentence_margin=s.sentence_margin, chunk_weight=s.section_chunk_weight,
                similarity_document_rank=s.dense_document_rank,
            ),
            # a section's best chunk weighs in its choice (section_chunk_weight)
            section_similarity=lambda key: searcher.section_similarity(key, q.avec, own_offsets),
            retrieval_query=q.text,
            given=given,
        )
        self._remember(self._conversation_key(q.question, q.history), ans)
        # Every extractive answer says why a configured language model is not answering.
        notice = self.advisor.llm_notice
        return _with_notice(ans, notice) if notice else ans

    def _build_chain(self) -> Runnable[ChainInput, Answer]:
        # langchain_core waits until an advisor is built, so importing this module stays cheap.
        from langchain_core.runnables import RunnableLambda

        return (
            RunnableLambda(self.embed_query, name="condense")
            | RunnableLambda(self.find, name="hybrid_retrieve")
            | RunnableLambda(self.compose, name="answer")
        )

    def answer(self, question: str, history: History | None = None) -> Answer:
        return self.chain.invoke(ChainInput(question, history))

    def stream(self, question: str, history: History | None = None) -> Streamed:
        """The composer writes the whole answer at once; it is replayed point by point."""
        return replay(self.answer(question, history))


class Advisor:
    """Everything needed to answer: settings, the embedder, the index reader, one answerer."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        """`embedder` comes from the composition root (`advisor.services`), which owns the model."""
        self.settings = settings
        self.embedder = embedder
        prepare = getattr(self.embedder, "prepare_queries", None)
        if prepare is not None:
            prepare()
        self.reader = IndexReader(settings, self.embedder)
        self._sentences = _SentenceVectors()
        self.llm: llm.Generator | None = None
        self.llm_notice = ""
        self.extractive = Extractive(self)
        if settings.llm_backend != "none":
            self.llm, self.llm_notice = llm.make_generator(settings, self)
        self.answerer: Answerer = self.llm if self.llm is not None else self.extractive

    def reconfigure(self, **values: object) -> None:
        """Answer with changed settings from the next question on, without reloading the model or the
        index: the maintainer's desk applies a calibrated refusal rule this way. Only settings the
        answer and search paths read per question take effect (the refusal rule, the composer's limits,
        retrieval's weights)."""
        settings = self.settings.model_copy(update=values)
        self.settings = settings
        self.reader.reconfigure(settings)
        if self.llm is not None:
            self.llm.settings = settings

    def vectorize_sentences(self, texts: Sequence[str]) -> np.ndarray:
        return self._sentences.get_many(texts, self.embedder.embed_documents)

    def retrieve(
        self, query: str, qvec: np.ndarray | None = None, svec: np.ndarray | None = None, focus: Focus | None = None, k: int | None = None
    ) -> list[Hit]:
        return self.reader.search(query, k=k, qvec=qvec, svec=svec, focus=focus)

    def passages(self, question: str, history: History | None = None, k: int | None = None) -> list[Hit]:
        """The passages the extractive answer is built from (condensed, expanded, a follow-up's sections
        chosen by its own words), as many as `k`."""
        return self.extractive.passages(question, history, k)

    def extractive_answer(self, question: str, history: History | None = None) -> Answer:
        """The embedded default, also the fallback of an LLM backend that fails."""
        return self.extractive.answer(question, history)

    def answer(self, question: str, history: History | None = None) -> Answer:
        if not question.strip():
            lang = question_language(question, history)
            return Answer(question=question, language=lang, text=TEXTS[lang]["empty"], refused=True)
        if self.answerer is self.extractive:
            return self.extractive.answer(question, history)
        try:
            return self.answerer.answer(question, history)
        except Exception as exc:  # noqa: BLE001 - a failing model falls back, never a stack trace
            log.warning("LLM backend failed (%s); answering extractively", exc)
            ans = self.extractive_answer(question, history)
            return _with_notice(ans, f"LLM unavailable ({type(exc).__name__}); extractive answer shown.")

    def stream(self, question: str, history: History | None = None) -> Streamed:
        """Partial answer texts as they are produced, then the final answer.

        An LLM backend yields its draft as the tokens arrive, then the checked answer. The
        extractive composer writes the whole answer at once, which is then replayed point by point
        (so are an empty question's reply and a fallback after a model failed before its first token).
        """
        if self.answerer is not self.extractive and question.strip():
            produced = False
            try:
                for item in self.answerer.stream(question, history):
                    produced = True
                    yield item
                return
            except Exception as exc:  # noqa: BLE001
                log.warning("LLM streaming failed (%s); answering extractively", exc)
                if produced:
                    ans = _with_notice(self.extractive_answer(question, history), f"LLM failed ({type(exc).__name__}); extractive answer shown.")
                    yield ans.text, ans
                    return
        yield from replay(self.answer(question, history))
