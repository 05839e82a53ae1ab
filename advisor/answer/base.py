"""The contracts between the advisor and its answer paths.

`Answerer` is what an answer path offers the advisor; `AnswerContext` is what a path needs from
the advisor in return (so no path imports the service that holds it); `ChainInput` is what an
answer chain is invoked with.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from advisor.answer.conversation import History
from advisor.core.types import Answer, Hit

if TYPE_CHECKING:
    import numpy as np

    from advisor.core.settings import Settings
    from advisor.embedding.models import Embedder
    from advisor.retrieve.search import Focus

Streamed = Iterator[tuple[str, Answer | None]]  # partial texts with None, then the final text and answer


@dataclass(frozen=True)
class ChainInput:
    """A question and the conversation before it: what an answer chain is invoked with."""

    question: str
    history: History | None = None

    @classmethod
    def of(cls, value: ChainInput | Mapping[str, Any]) -> ChainInput:
        """Also accept LangChain's habitual `{"question": ..., "history": ...}` input."""
        if isinstance(value, ChainInput):
            return value
        return cls(str(value["question"]), value.get("history"))


class Answerer(Protocol):
    """One way to answer: the extractive composer or a language model held to its sources."""

    def answer(self, question: str, history: History | None = None) -> Answer: ...

    def stream(self, question: str, history: History | None = None) -> Streamed: ...


class AnswerContext(Protocol):
    """What an answer path uses of the advisor: settings, embedder, retrieval and the extractive fallback."""

    settings: Settings
    embedder: Embedder

    def retrieve(
        self, query: str, qvec: np.ndarray | None = None, svec: np.ndarray | None = None, focus: Focus | None = None, k: int | None = None
    ) -> list[Hit]: ...

    def vectorize_sentences(self, texts: Sequence[str]) -> np.ndarray: ...

    def extractive_answer(self, question: str, history: History | None = None) -> Answer: ...
