"""The advisor service: question (+ history) -> retrieval -> answer, as one LCEL chain.

The UI, the API and the CLI call `Advisor.answer()` / `Advisor.stream()` only. The answer step is
a runnable, so an LLM backend (see `advisor.llm`) can take the extractive composer's place.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.compose import TEXTS, compose
from advisor.text import detect_language, words
from advisor.types import Answer, Hit, Language

if TYPE_CHECKING:
    from advisor.embeddings import Embedder
    from advisor.settings import Settings

log = logging.getLogger(__name__)

History = Sequence[Any]  # user questions as strings, or {"role": ..., "content": ...} messages

_FOLLOW_UP_START = re.compile(
    r"^(en|maar|dus|en als|wat als|hoe dan|waarom dan|and|but|so|what if|how about|what about|also|ook)\b", re.I
)
_REFERRING = frozenset("dat dit daar daarvan daarbij daarmee daarna that this those these they them there".split())


def user_turns(history: History | None) -> list[str]:
    out: list[str] = []
    for turn in history or []:
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict) and turn.get("role") == "user":
            content = turn.get("content")
            if isinstance(content, str):
                out.append(content)
            elif isinstance(content, list):  # gradio multimodal message parts
                out.append(" ".join(p.get("text", "") for p in content if isinstance(p, dict)))
    return [t for t in out if t.strip()]


def is_follow_up(question: str) -> bool:
    w = words(question)
    return bool(_FOLLOW_UP_START.match(question.strip())) or len(w) <= 6 or bool(set(w[:2]) & _REFERRING)


def condense(question: str, history: History | None) -> str:
    """A standalone search query: a follow-up borrows the previous question's words."""
    previous = user_turns(history)
    if previous and is_follow_up(question):
        return f"{previous[-1]} {question}"
    return question


def question_language(question: str, history: History | None = None) -> Language:
    previous = user_turns(history)
    default: Language = detect_language(previous[-1]) if previous else "nl"
    return detect_language(question, default=default)


class _LRU:
    def __init__(self, size: int = 20000) -> None:
        self.size = size
        self.data: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get_many(self, texts: Sequence[str], compute: Any) -> np.ndarray:
        with self.lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self.data]
        if missing:
            vecs = compute(missing)
            with self.lock:
                for t, v in zip(missing, vecs):
                    self.data[t] = v
                while len(self.data) > self.size:
                    self.data.popitem(last=False)
        with self.lock:
            for t in texts:
                if t in self.data:
                    self.data.move_to_end(t)
            return np.stack([self.data[t] for t in texts])


class Advisor:
    """Everything needed to answer: settings, the embedder, the index reader, the answer chain."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        from advisor.embeddings import load_embedder
        from advisor.retrieval import IndexReader

        self.settings = settings
        if embedder is None and settings.answer_threads > 0:
            import torch

            torch.set_num_threads(settings.answer_threads)
        self.embedder = embedder if embedder is not None else load_embedder(settings)
        prepare = getattr(self.embedder, "prepare_queries", None)
        if prepare is not None:
            prepare()
        self.reader = IndexReader(settings, self.embedder)
        self._sentences = _LRU()
        self.llm = None
        self.llm_notice = ""
        if settings.llm_backend != "none":
            from advisor.llm import make_generator

            self.llm, self.llm_notice = make_generator(settings, self)
        self.chain = self._build_chain()

    # ---------------------------------------------------------------- pieces of the chain

    def vectorize_sentences(self, texts: Sequence[str]) -> np.ndarray:
        return self._sentences.get_many(texts, self.embedder.embed_documents)

    def retrieve(self, query: str, qvec: np.ndarray | None = None, svec: np.ndarray | None = None) -> list[Hit]:
        return self.reader.search(query, qvec=qvec, svec=svec)

    def _prepare(self, inputs: dict[str, Any]) -> dict[str, Any]:
        question = inputs["question"].strip()
        history = inputs.get("history")
        query = condense(question, history)
        # The question and the dense side's search text, embedded in one batch (measured: 25 vs 32 ms
        # p50 for two runs): retrieval searches with the second; the refusal rule and the composer
        # measure against the first.
        from advisor.retrieval import search_text

        text = search_text(query, self.settings)
        vecs = self.embedder.embed_queries([query, text] if text != query else [query])
        return {
            "question": question,
            "history": history,
            "language": question_language(question, history),
            "query": query,
            # the question as asked: hits' similarities, the refusal rule and the composer use it
            "qvec": vecs[0],
            "svec": vecs[-1],
        }

    def _extractive(self, inputs: dict[str, Any]) -> Answer:
        return compose(
            inputs["question"],
            inputs["language"],
            inputs["qvec"],
            inputs["hits"],
            self.vectorize_sentences,
            refusal_threshold=self.settings.refusal_threshold,
            refusal_floor=self.settings.refusal_floor,
            refusal_keyword_coverage=self.settings.refusal_keyword_coverage,
            sentence_threshold=self.settings.sentence_threshold,
            max_points=self.settings.max_points,
            sentence_margin=self.settings.sentence_margin,
            retrieval_query=inputs["query"],
        )

    def _answer_step(self, inputs: dict[str, Any]) -> Answer:
        ans = self._extractive(inputs)
        return _with_notice(ans, self.llm_notice) if self.llm_notice else ans

    def _build_chain(self) -> Any:
        from langchain_core.runnables import RunnableLambda, RunnablePassthrough

        retrieve = RunnableLambda(lambda x: self.retrieve(x["query"], x["qvec"], x["svec"]), name="hybrid_retrieve")
        return (
            RunnableLambda(self._prepare, name="condense")
            | RunnablePassthrough.assign(hits=retrieve)
            | RunnableLambda(self._answer_step, name="answer")
        )

    # ---------------------------------------------------------------- what callers use

    def extractive_answer(self, question: str, history: History | None = None) -> Answer:
        """The embedded default, also the fallback of an LLM backend that fails."""
        return self.chain.invoke({"question": question, "history": history})

    def answer(self, question: str, history: History | None = None) -> Answer:
        if not question.strip():
            lang = question_language(question, history)
            return Answer(question=question, language=lang, text=TEXTS[lang]["empty"], refused=True)
        if self.llm is not None:
            try:
                return self.llm.answer(question, history)
            except Exception as exc:  # noqa: BLE001 - a failing model falls back, never a stack trace
                log.warning("LLM backend failed (%s); answering extractively", exc)
                ans = self.extractive_answer(question, history)
                return _with_notice(ans, f"LLM unavailable ({type(exc).__name__}); extractive answer shown.")
        return self.extractive_answer(question, history)

    def stream(self, question: str, history: History | None = None) -> Iterator[tuple[str, Answer | None]]:
        """Partial answer texts as they are produced, then the final answer.

        The extractive composer yields point by point; an LLM backend yields tokens.
        """
        if self.llm is not None and question.strip():
            produced = False
            try:
                for item in self.llm.stream(question, history):
                    produced = True
                    yield item
                return
            except Exception as exc:  # noqa: BLE001
                log.warning("LLM streaming failed (%s); answering extractively", exc)
                if produced:
                    ans = _with_notice(self.extractive_answer(question, history), f"LLM failed ({type(exc).__name__}); extractive answer shown.")
                    yield ans.text, ans
                    return
        ans = self.answer(question, history)
        lines = ans.text.split("\n")
        for i in range(1, len(lines)):
            if lines[i].startswith("- ") or not lines[i]:
                yield "\n".join(lines[:i]), None
        yield ans.text, ans


def _with_notice(ans: Answer, notice: str) -> Answer:
    from dataclasses import replace

    return replace(ans, notice=notice)
