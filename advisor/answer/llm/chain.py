"""The LLM answer as one LCEL chain: condense -> retrieve -> (refuse | frame -> draft -> check).

Each step hands the next a frozen dataclass (`Prepared`, `Condensed`, `Retrieved`, `Framed`,
`Drafted`); the chain streams `Step`s: the draft as it grows, then the checked answer.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from advisor.answer.base import AnswerContext, ChainInput, Streamed
from advisor.answer.compose import TEXTS, coverage, gap_notes, is_near, refusal
from advisor.answer.conversation import History, condense, conversation_text, is_follow_up, question_language
from advisor.answer.llm.backends import BackendUnavailable, make_chat_model
from advisor.answer.llm.check import CheckResult, SupportScorer, check_citations, terms
from advisor.answer.llm.prompts import (
    CONDENSE_SYSTEM,
    CONDENSE_USER,
    LANGUAGE_NAMES,
    REMINDERS,
    SYSTEM_PROMPT,
    USER_PROMPT,
    first_line_question,
    frame_passages,
    sanitize_output,
    stream_preview,
)
from advisor.core.text import words
from advisor.core.types import Answer, Citation, Hit, Language
from advisor.ingest.redact import redact_instructions
from advisor.retrieve.search import Focus

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable, RunnableConfig

    from advisor.core.settings import Settings

log = logging.getLogger(__name__)

NOTICES = {
    "no_usable_answer": "The language model gave no answer its sources support; extractive answer shown.",
}

# ---------------------------------------------------------------------------- the chain's state


@dataclass(frozen=True)
class Prepared:
    """The question with what every later step needs: its conversation, language and nonce."""

    question: str
    history: History | None
    conversation: str  # the last turns as plain lines; empty without history
    language: Language
    nonce: str  # this request's passage delimiter

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES[self.language]


@dataclass(frozen=True)
class Condensed:
    request: Prepared
    standalone: str  # the question as retrieval searches it


@dataclass(frozen=True)
class Retrieved:
    request: Prepared
    standalone: str
    hits: Sequence[Hit]  # a retrieve.search.Passages (see advisor.answer.compose.is_covered)
    covered: bool  # `compose.coverage`, decided once when retrieved
    uncovered: tuple[str, ...]  # the question's key terms no passage names


@dataclass(frozen=True)
class Framed:
    """The passages as the model sees them: screened texts, framed between the nonce's delimiters."""

    retrieved: Retrieved
    screened: tuple[str, ...]  # passage texts without instruction-like sentences, in hit order
    passages: str

    @property
    def reminder(self) -> str:
        return REMINDERS[self.retrieved.request.language]

    def prompt_values(self) -> dict[str, str]:
        request = self.retrieved.request
        return {
            "language_name": request.language_name,
            "nonce": request.nonce,
            "passages": self.passages,
            "standalone": self.retrieved.standalone,
            "reminder": self.reminder,
        }


@dataclass(frozen=True)
class Drafted:
    framed: Framed
    draft: str  # the model's whole reply, unchecked


@dataclass(frozen=True)
class Step:
    """One streamed state of the answer: the text so far and, at the end, the checked answer.

    Not addable, so LangChain's chunk folding keeps the last step rather than adding them up.
    """

    text: str
    answer: Answer | None


# ---------------------------------------------------------------------------- steps


def prepare(inputs: ChainInput | dict[str, Any]) -> Prepared:
    given = ChainInput.of(inputs)
    question = given.question.strip()
    return Prepared(
        question=question,
        history=given.history,
        conversation=conversation_text(given.history),
        language=question_language(question, given.history),
        nonce=secrets.token_hex(8),
    )


def standalone_question(request: Prepared, rewritten: str) -> str:
    """The model's standalone question, or the heuristic one when the model's is unusable.

    Unusable: empty, overlong, the bare follow-up repeated, or off the conversation's subject
    (a rewrite that shares no term with the conversation sends retrieval astray).
    """
    text = first_line_question(rewritten)
    question = request.question
    unchanged = words(text) == words(question) and is_follow_up(question)
    off_subject = not terms(text) & terms(f"{request.conversation} {question}")
    if unchanged or not words(text) or len(text) > 400 or off_subject:
        return condense(question, request.history)
    return text


def frame(retrieved: Retrieved) -> Framed:
    screened = []
    for h in retrieved.hits:
        # Loading already redacts text addressed to an AI system; an index built before that
        # rule, or a rule that grew since, is covered here too.
        text, found = redact_instructions(h.chunk.text)
        if found:
            log.warning("withheld %d instruction-like sentence(s) of %s from the model", found, h.chunk.source)
        screened.append(text)
    # Headings reach the model too (an index built before loading redacted them included).
    headings = [redact_instructions(h.chunk.title + (f" - {h.chunk.section}" if h.chunk.section else ""))[0] for h in retrieved.hits]
    passages = frame_passages(list(zip(headings, screened, strict=True)), retrieved.request.nonce)
    return Framed(retrieved, tuple(screened), passages)


def refuse(retrieved: Retrieved, threshold: float, floor: float | None, uncovered: Sequence[str] = ()) -> Step:
    request = retrieved.request
    near = is_near(retrieved.hits, threshold, floor)
    ans = refusal(request.question, request.language, retrieved.hits, retrieved.standalone, near=near, uncovered=uncovered)
    return Step(ans.text, ans)


def _highlights(result: CheckResult, scorer: SupportScorer) -> dict[int, list[str]]:
    """Per given passage number, the passage sentences that best backed the answer's sentences."""
    highlights: dict[int, list[str]] = {}
    for s in result.sentences:
        for n in s.backing:
            best = scorer.best_sentence.get((s.text, n))
            if best and best not in highlights.setdefault(n, []):
                highlights[n].append(best)
    return highlights


def _citations(hits: tuple[Hit, ...], result: CheckResult, scorer: SupportScorer) -> tuple[Citation, ...]:
    highlights = _highlights(result, scorer)
    return tuple(
        Citation.from_hit(new, hits[old - 1], highlights.get(old, ()))
        for new, old in enumerate(result.used, start=1)
    )


# ---------------------------------------------------------------------------- the generator


class Generator:
    """The LLM answer path (an `Answerer`): condense -> retrieve -> (refuse | prompt -> model -> check)."""

    def __init__(self, advisor: AnswerContext, chat_model: BaseChatModel, settings: Settings | None = None) -> None:
        self.advisor = advisor
        self.settings = settings or advisor.settings
        self.model = chat_model
        backend = self.settings.llm_backend
        self.backend = backend if backend != "none" else "custom"
        self.chain = self._build_chain()

    # -------------------------------------------------------------- steps that need the advisor or the model

    def _condense(self, request: Prepared, config: RunnableConfig) -> Condensed:
        rewritten = ""
        if request.conversation:  # without a conversation there is nothing to resolve: no model call
            rewritten = self._rewrite.invoke({"conversation": request.conversation, "question": request.question}, config)
        return Condensed(request, standalone_question(request, rewritten))

    def _retrieve(self, condensed: Condensed) -> Retrieved:
        request = condensed.request
        focus = None
        if request.conversation and self.settings.followup_sections_by_own_words and condensed.standalone != request.question:
            # As the extractive path: the documents by the standalone question, their sections by the
            # follow-up's own words (`advisor.retrieve.search.Focus`).
            focus = Focus(request.question, self.advisor.embedder.embed_queries([request.question])[0])
        hits = self.advisor.retrieve(condensed.standalone, focus=focus)
        s = self.settings
        covered, uncovered = coverage(
            request.question, hits, s.refusal_threshold, s.refusal_floor, s.refusal_keyword_coverage, self.advisor.reader.searcher().knows
        )
        return Retrieved(request, condensed.standalone, hits, covered, uncovered)

    def _covered(self, retrieved: Retrieved) -> bool:
        return retrieved.covered

    def _refuse(self, retrieved: Retrieved) -> Step:
        return refuse(retrieved, self.settings.refusal_threshold, self.settings.refusal_floor, retrieved.uncovered)

    def _draft_and_check(self, framed: Framed, config: RunnableConfig) -> Iterator[Step]:
        """Stream the draft as it grows, then the checked answer."""
        draft = ""
        shown = ""
        for token in self._draft.stream(framed.prompt_values(), config):
            draft += token or ""
            preview = stream_preview(draft)
            # the text on screen only grows: a preview that would take back what was shown waits
            if preview.startswith(shown) and len(preview) > len(shown):
                shown = preview
                yield Step(preview, None)
        answer = self.finalize(Drafted(framed, draft))
        yield Step(answer.text, answer)

    def finalize(self, drafted: Drafted) -> Answer:
        """The checked answer for a finished draft."""
        framed = drafted.framed
        retrieved = framed.retrieved
        request = retrieved.request
        hits = retrieved.hits
        system = SYSTEM_PROMPT.format(language_name=request.language_name, nonce=request.nonce)
        cleaned = sanitize_output(drafted.draft, request.nonce, [system, framed.reminder])
        scorer = SupportScorer(
            framed.screened,
            request.language,
            self.advisor.embedder.embed_queries,
            self.advisor.vectorize_sentences,
            [h.chunk.language for h in hits],
        )
        result = check_citations(
            cleaned,
            len(hits),
            scorer,
            threshold=self.settings.support_threshold,
            policy=self.settings.unsupported_policy,
            language=request.language,
        )
        if not result.points:
            log.warning("the model's answer had no usable sentence; answering extractively")
            ans = self.advisor.extractive_answer(request.question, request.history)
            return replace(ans, notice=NOTICES["no_usable_answer"])
        # As the extractive answer: the question's key terms that no passage names are said to be
        # not covered, whatever the model wrote about them (its sentences are held to the passages).
        uncovered = retrieved.uncovered
        notes = " ".join(f"_{note}_" for note in gap_notes(TEXTS[request.language], uncovered))
        return Answer(
            question=request.question,
            language=request.language,
            text=f"{result.text}\n\n{notes}" if notes else result.text,
            uncovered=uncovered,
            refused=False,
            citations=_citations(hits, result, scorer),
            points=result.points,
            backend=self.backend,
            retrieval_query=retrieved.standalone,
        )

    def _build_chain(self) -> Runnable[Any, Step]:
        # langchain_core waits until a generator is built, so importing this package stays cheap.
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate
        from langchain_core.runnables import RunnableBranch, RunnableLambda

        condense_prompt = ChatPromptTemplate.from_messages([("system", CONDENSE_SYSTEM), ("human", CONDENSE_USER)])
        answer_prompt = ChatPromptTemplate.from_messages([("system", SYSTEM_PROMPT), ("human", USER_PROMPT)])
        self._rewrite = (condense_prompt | self.model | StrOutputParser()).with_config(run_name="rewrite")
        self._draft = (answer_prompt | self.model | StrOutputParser()).with_config(run_name="draft")
        # A generator function: RunnableLambda streams what it yields, and folding keeps the last step.
        generate: Any = RunnableLambda(frame, name="frame_passages") | RunnableLambda(self._draft_and_check, name="check_citations")
        return (
            RunnableLambda(prepare, name="prepare")
            | RunnableLambda(self._condense, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableBranch(
                (RunnableLambda(self._covered, name="is_covered"), generate),
                RunnableLambda(self._refuse, name="refuse"),
            )
        )

    # -------------------------------------------------------------- the Answerer protocol

    def stream(self, question: str, history: History | None = None) -> Streamed:
        for step in self.chain.stream(ChainInput(question, history)):
            yield step.text, step.answer

    def answer(self, question: str, history: History | None = None) -> Answer:
        final: Answer | None = None
        for _, ans in self.stream(question, history):
            final = ans if ans is not None else final
        if final is None:
            raise RuntimeError("the answer chain ended without an answer")
        return final


def make_generator(
    settings: Settings, advisor: AnswerContext, chat_model: BaseChatModel | None = None
) -> tuple[Generator | None, str]:
    """A generator for the configured backend, or None and the notice saying why not.

    `chat_model` replaces the configured backend (tests pass LangChain's fake chat models).
    """
    if chat_model is None:
        try:
            chat_model = make_chat_model(settings)
        except BackendUnavailable as exc:
            log.warning("%s", exc)
            return None, str(exc)
    return Generator(advisor, chat_model, settings), ""
