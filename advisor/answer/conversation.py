"""The conversation around a question: history normalisation, follow-ups, condensing, language.

History arrives in several shapes (plain user questions, `{"role", "content"}` messages, gradio
multimodal content parts); `turns` is the one place that reads them, everything else works on
its output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from advisor.core.text import detect_query_language, words
from advisor.core.types import Language

History = Sequence[Any]  # user questions as strings, or {"role": ..., "content": ...} messages
Role = Literal["user", "assistant"]

_FOLLOW_UP_START = re.compile(
    r"^(en|maar|dus|en als|wat als|hoe dan|waarom dan|and|but|so|what if|how about|what about|also|ook)\b", re.I
)

_REFERRING = frozenset("dat dit daar daarvan daarbij daarmee daarna that this those these they them there".split())
# Words that point back wherever they stand in a short question ("En hoe voorkom je dat zo'n meting
# in een la verdwijnt?", "Wat moet de voorzitter daarin doen?"); a long one usually names what they
# stand for itself ("zo'n samenwerkingsverband" after it described one).
_REFERRING_SHORT = frozenset(
    "zo'n zulke zulk such daarvan daarbij daarmee daarin daarop daarvoor daaraan hiervan hierbij hiermee hierin hierop hiervoor".split()
)
_SHORT = 12
# "it" or "them" as what is done, before a preposition or at the end ("How do we apply it in an
# alliance?", "Who should own them?"); not the "it" of "Does it help to ...", "Is it wise to ...".
_REFERRING_OBJECT = re.compile(r"\b(it|them)\s*(\?|$|\b(in|at|for|with|on|into|across|within|between|to)\b)", re.I)


def turns(history: History | None) -> list[tuple[Role, str]]:
    """The user and assistant turns with text, in order, as (role, content)."""
    out: list[tuple[Role, str]] = []
    for turn in history or []:
        content: Any
        if isinstance(turn, str):
            role, content = "user", turn
        elif isinstance(turn, dict):
            role, content = turn.get("role"), turn.get("content")
            if isinstance(content, list):  # gradio multimodal message parts
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        else:
            continue
        if role in ("user", "assistant") and isinstance(content, str) and content.strip():
            out.append((role, content))
    return out


def user_turns(history: History | None) -> list[str]:
    return [content for role, content in turns(history) if role == "user"]


def conversation_text(history: History | None, last: int = 6, width: int = 400) -> str:
    """The last turns of the conversation as plain lines (for the model's condensation prompt)."""
    lines = [
        f"{'User' if role == 'user' else 'Assistant'}: {' '.join(content.split())[:width]}" for role, content in turns(history)
    ]
    return "\n".join(lines[-last:])


def is_follow_up(question: str) -> bool:
    """Does a question lean on the previous one: it starts as a follow-up does ("En als...", "And
    what..."), is very short, or points back ("that" at its start; "zo'n", "daarin", "apply it in" in
    a short question)."""
    w = words(question)
    return (
        bool(_FOLLOW_UP_START.match(question.strip()))
        or len(w) <= 6
        or bool(set(w[:2]) & _REFERRING)
        or (len(w) <= _SHORT and (bool(set(w) & _REFERRING_SHORT) or bool(_REFERRING_OBJECT.search(question))))
    )


FOLLOW_UP_CHAIN = 3  # a follow-up of a follow-up borrows from at most this many questions back


def condense(question: str, history: History | None) -> str:
    """A standalone search query: a follow-up borrows the previous question's words, and when that
    was a follow-up too, the words it borrowed ("Hoe voorkom ik wij-zij-denken?", "Waar komt dat
    vandaan?", "Heb je een voorbeeld?": the third is about wij-zij-denken, not about "vandaan")."""
    previous = user_turns(history)
    borrowed: list[str] = []
    current = question
    while previous and is_follow_up(current) and len(borrowed) < FOLLOW_UP_CHAIN:
        current = previous.pop()
        borrowed.insert(0, current)
    return " ".join([*borrowed, question])


def question_language(question: str, history: History | None = None) -> Language:
    previous = user_turns(history)
    default: Language = detect_query_language(previous[-1]) if previous else "nl"
    return detect_query_language(question, default=default)
