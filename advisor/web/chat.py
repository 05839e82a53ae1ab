"""The chat's handlers and pure helpers, callable without a server.

    ChatHandlers(settings, advisor, feedback_limit, viewer_cache)
        .respond  .ask_suggestion  .open_cited  .document  .export
        .rate_helpful  .rate_unhelpful  .reset  .relabel  .status   (plus the static .pick_example)

The conversation lives on the server, in the session's `turns`: the chat is always redrawn from
it and the advisor's history is always taken from it, never from what a client sends. Every
handler catches its errors and shows a short message: no stack trace and no server path reaches a page.

The page's labels and the messages written into it are in the language the person chose on the
NL/EN switch (the session's `language`, see `advisor.web.i18n`); an answer keeps its question's
language. Without a choice (an API client) a message follows the conversation, as before.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import Iterator  # at run time: Gradio resolves handlers' annotations
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Imported at module level: handlers' `gr.SelectData` / `gr.Request` annotations must resolve.
import gradio as gr

from advisor.core.text import detect_language
from advisor.index.stores import open_store
from advisor.retrieve.search import NoIndexError
from advisor.web import i18n, render
from advisor.web.access import client_address
from advisor.web.api import MAX_QUESTION, health
from advisor.web.i18n import LANGUAGES, label, ui_language
from advisor.web.feedback import FeedbackFull, append_feedback
from advisor.web.sanitize import plain_text
from advisor.web.viewer import document_html

if TYPE_CHECKING:
    from collections.abc import Sequence

    from advisor.answer.service import Advisor
    from advisor.core.settings import Settings
    from advisor.web.access import RateLimit
    from advisor.web.viewer import DocumentCache

log = logging.getLogger(__name__)

MAX_SUGGESTIONS = 4
MAX_TURNS = 50  # turns kept per session; older ones drop out of the conversation and its sources
EXPORT_MAX_AGE = 3600  # seconds an exported conversation stays on disk

MESSAGES = {
    "too_long": {
        "nl": "Uw vraag is te lang: stel haar in ten hoogste {limit} tekens.",
        "en": "Your question is too long: please ask it in at most {limit} characters.",
    },
    "no_index": {
        "nl": "Er is nog geen index; een beheerder moet die eerst bouwen.",
        "en": "There is no index yet; a maintainer must build it first.",
    },
    "failed": {
        "nl": "Er ging iets mis bij het beantwoorden; probeer het opnieuw.",
        "en": "Something went wrong while answering; please try again.",
    },
    "feedback_first": {"nl": "Stel eerst een vraag.", "en": "Ask a question first."},
    "feedback_thanks": {"nl": "Dank voor uw feedback.", "en": "Thank you for your feedback."},
    "feedback_again": {"nl": "U hebt dit antwoord al beoordeeld.", "en": "You have already rated this answer."},
    "feedback_busy": {
        "nl": "Te veel beoordelingen in korte tijd; probeer het over een minuut opnieuw.",
        "en": "Too many ratings in a short time; please try again in a minute.",
    },
    "feedback_failed": {"nl": "De feedback kon niet worden opgeslagen.", "en": "The feedback could not be stored."},
}



# ---------------------------------------------------------------- pure helpers


def message(key: str, language: str | None, **values: Any) -> str:
    """A short message for the person, in their language."""
    return MESSAGES[key]["en" if language == "en" else "nl"].format(**values)


def chosen(language: str | None) -> str | None:
    """The language the person chose on the switch ("nl" or "en"), or None when they chose none."""
    return ui_language(language) if language else None


def status_line(settings: Settings, language: str | None = None) -> str:
    """Which build answers, and whether a new one is being made (English when no language was chosen)."""
    h = health(settings)
    if h["build"] is None:
        line = i18n.text("no_index_yet", language)
    else:
        line = i18n.text("knowledge_base", language, build=h["build"], documents=h["documents"], chunks=h["chunks"])
    if h["building"]:
        p = open_store(settings).progress() or {}
        stage = f" ({p.get('stage', 'starting')} {p.get('done', 0)}/{p.get('total', 0)})" if p.get("total") else ""
        line += i18n.text("building", language, stage=stage)
    return line


def turns_language(turns: Sequence[dict[str, Any]] | None) -> str:
    """The language of the conversation so far: that of its last answer."""
    return str(((turns or [{}])[-1].get("answer") or {}).get("language") or "nl") if turns else "nl"


def history_from_turns(turns: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """The conversation the server holds, as {role, content} messages for `Advisor.stream`.

    It is built from the session's own turns, never from what a client sends: a conversation
    taken from the client could carry file references that Gradio would copy and serve.
    """
    out: list[dict[str, str]] = []
    for t in turns or []:
        out.append({"role": "user", "content": str(t.get("question", ""))})
        out.append({"role": "assistant", "content": str((t.get("answer") or {}).get("answer", ""))})
    return out


def chat_messages(turns: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """What the chat shows: each turn's question and answer as safe HTML, from the session's turns."""
    out: list[dict[str, str]] = []
    for i, t in enumerate(turns or []):
        out.append({"role": "user", "content": render.question_html(str(t.get("question", "")))})
        out.append({"role": "assistant", "content": render.answer_html(t.get("answer") or {}, i)})
    return out


def check_question(question: str, turns: Sequence[dict[str, Any]] | None, limit: int, language: str | None = None) -> str | None:
    """Why a question is not answered, or None to answer it: in the language chosen on the page,
    else in the question's own."""
    if len(question) > limit:
        if language not in LANGUAGES:
            # The language of a short head is enough to choose the message; never the whole text.
            language = detect_language(question[:300], default=turns_language(turns))  # type: ignore[arg-type]
        return message("too_long", language, limit=limit)
    return None


def suggestion_updates(answer: dict[str, Any] | None) -> list[Any]:
    """The suggestion buttons: a refusal's topics, shown; otherwise all hidden."""
    topics = list((answer or {}).get("suggestions") or []) if (answer or {}).get("refused") else []
    return [
        gr.update(value=plain_text(topics[i]), visible=True) if i < len(topics) else gr.update(value="", visible=False)
        for i in range(MAX_SUGGESTIONS)
    ]


def _cited(turns: Sequence[dict[str, Any]] | None, value: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The answer and citation a source card's "turn:n" value names, or None when there is none."""
    try:
        t, n = (int(x) for x in str(value).split(":"))
        answer = (turns or [])[t]["answer"]
        return answer, next(c for c in answer.get("citations", []) if int(c["n"]) == n)
    except (ValueError, IndexError, KeyError, StopIteration, TypeError):
        return None


# ---------------------------------------------------------------- the handlers


class ChatHandlers:
    """The chat's event handlers; each method's parameters are exactly the event's inputs."""

    def __init__(self, settings: Settings, advisor: Advisor, feedback_limit: RateLimit, viewer_cache: DocumentCache) -> None:
        self.settings = settings
        self.advisor = advisor
        self.feedback_limit = feedback_limit
        self.viewer_cache = viewer_cache
        self.export_dir = Path(tempfile.mkdtemp(prefix="advisor-exports-"))  # Gradio copies each file into its cache

    def respond(self, text: str, turns: list[dict[str, Any]] | None, language: str | None = None) -> Iterator[tuple[Any, ...]]:
        """Answer one question of the session's conversation, streaming; the chat is redrawn from `turns`.

        Yields (chat, question box, sources, turns, *suggestions, copy box, feedback note).
        `language` is the page's (the switch's), for the messages; the answer follows the question.
        """
        language = chosen(language)
        question = (text or "").strip() if isinstance(text, str) else ""
        turns = list(turns or [])[-MAX_TURNS:]
        keep = [gr.skip()] * (2 + MAX_SUGGESTIONS + 2)  # sources, turns, suggestions, copy, feedback note
        if not question:
            yield (gr.skip(), "", *keep)
            return
        refusal = check_question(question, turns, MAX_QUESTION, language)
        if refusal is not None:
            gr.Warning(refusal)
            yield (gr.skip(), gr.skip(), *keep)
            return
        chat = [*chat_messages(turns), {"role": "user", "content": render.question_html(question)}, {"role": "assistant", "content": "…"}]
        yield (chat, "", *keep)
        yield from self._stream(question, turns, chat, keep, language)

    def _stream(
        self, question: str, turns: list[dict[str, Any]], chat: list[dict[str, str]], keep: list[Any], page_language: str | None
    ) -> Iterator[tuple[Any, ...]]:
        language = page_language or turns_language(turns)
        try:
            for partial_text, final in self.advisor.stream(question, history_from_turns(turns)):
                if final is None:
                    chat[-1] = {"role": "assistant", "content": render.partial_html(partial_text)}
                    yield (chat, "", *keep)
                    continue
                answer = final.to_json()
                turns = [*turns, {"question": question, "answer": answer}][-MAX_TURNS:]
                yield (
                    chat_messages(turns), "", render.sources_html(turns, page_language), turns, *suggestion_updates(answer),
                    render.answer_with_sources_markdown(turns[-1]), "",
                )
        except NoIndexError:
            chat[-1] = {"role": "assistant", "content": render.question_html(message("no_index", language))}
            yield (chat, "", *keep)
        except Exception:  # noqa: BLE001 - the person sees a short message, the log has the details
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": render.question_html(message("failed", language))}
            yield (chat, "", *keep)

    def ask_suggestion(self, topic: str, turns: list[dict[str, Any]] | None) -> str:
        """The question a suggestion button asks, in the conversation's language."""
        return render.suggestion_question(topic, turns_language(turns))

    @staticmethod
    def pick_example(evt: gr.SelectData) -> str:
        """The text of the example question chosen in the empty chat."""
        value = evt.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value or "")

    def open_cited(self, turns: list[dict[str, Any]] | None, language: str | None, evt: gr.SelectData) -> tuple[str, bool]:
        """The document viewer's HTML for the source card clicked (its value is "turn:n"), and
        True: the viewer no longer shows its hint (see `relabel`)."""
        found = _cited(turns, evt.value)
        if found is None:
            return render.message_html_text(i18n.text("source_gone", language)), True
        answer, c = found
        try:
            return document_html(
                self.settings, str(c["source"]), c.get("page"), str(c.get("section") or ""), c.get("highlights") or [],
                answer.get("language"), cache=self.viewer_cache,
            ), True
        except Exception:  # noqa: BLE001
            log.exception("document viewer failed")
            return render.message_html_text(i18n.text("open_failed", language)), True

    def document(self, source: str, page: int | None = None, section: str = "") -> str:
        """The document viewer's HTML for an indexed corpus document (relative path), at a page or section."""
        try:
            return document_html(self.settings, source, page, section or "", cache=self.viewer_cache)
        except Exception:  # noqa: BLE001
            log.exception("document viewer failed")
            return render.message_html_text("The document could not be opened.")

    def export(self, turns: list[dict[str, Any]] | None, language: str | None = None) -> Any:
        """The conversation as a Markdown file to download (older exports are removed)."""
        if not turns:
            gr.Info(i18n.text("nothing_to_export", language))
            return gr.update(value=None, visible=False)
        for old in self.export_dir.glob("*/*.md"):
            if time.time() - old.stat().st_mtime > EXPORT_MAX_AGE:
                old.unlink(missing_ok=True)
                old.parent.rmdir()
        folder = self.export_dir / secrets.token_hex(8)
        folder.mkdir()
        path = folder / f"alliantie-adviseur-{datetime.now():%Y%m%d-%H%M%S}.md"
        path.write_text(render.conversation_markdown(turns), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def rate_helpful(
        self, comment: str, turns: list[dict[str, Any]] | None, language: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        return self._feedback("helpful", comment, turns, language, request)

    def rate_unhelpful(
        self, comment: str, turns: list[dict[str, Any]] | None, language: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        return self._feedback("not helpful", comment, turns, language, request)

    def reset(self, language: str | None = None) -> tuple[Any, ...]:
        """A new conversation: (turns, sources, *suggestions, copy box, feedback note, export file)."""
        return ([], render.sources_html([], chosen(language)), *suggestion_updates(None), "", "", gr.update(value=None, visible=False))

    def status(self, language: str | None) -> str:
        """The status line, refreshed by the page's timer."""
        return status_line(self.settings, language)

    def relabel(self, choice: str | None, turns: list[dict[str, Any]] | None, viewer_used: bool) -> tuple[Any, ...]:
        """Everything the chat tab says in the language chosen on the switch.

        Returns (language, title, switch, status line, chat, question box, ask, export, new conversation,
        export file, copy accordion, comment, helpful, not helpful, sources, viewer). The viewer's
        hint is redrawn only while it still shows the hint (`viewer_used` is False).
        """
        language = ui_language(choice)
        return (
            language,
            f"## {label('title', language)}",
            gr.update(label=label("language", language)),
            status_line(self.settings, language),
            gr.update(label=label("conversation", language), placeholder=label("chat_placeholder", language)),
            gr.update(placeholder=label("question", language)),
            gr.update(value=label("ask", language)),
            gr.update(value=label("export", language)),
            gr.update(value=label("new_conversation", language)),
            gr.update(label=label("export_file", language)),
            gr.update(label=label("copy", language)),
            gr.update(label=label("comment", language)),
            gr.update(value=label("helpful", language)),
            gr.update(value=label("not_helpful", language)),
            render.sources_html(list(turns or [])[-MAX_TURNS:], language),
            gr.skip() if viewer_used else render.message_html_text(render.labels(language)["viewer_hint"]),
        )

    def _feedback(
        self, rating: str, comment: str, turns: list[dict[str, Any]] | None, language: str | None, request: gr.Request
    ) -> tuple[Any, ...]:
        """Store one rating of the last answer: once per answer, a few per minute per client, bounded in size.

        Returns (comment box, feedback note, turns), the note in the page's language (else the conversation's).
        """
        language = chosen(language) or turns_language(turns)
        if not turns:
            return comment, message("feedback_first", language), gr.skip()
        last = turns[-1]
        if last.get("rated"):
            return comment, message("feedback_again", language), gr.skip()
        if not self.feedback_limit.allow(client_address(request)):
            return comment, message("feedback_busy", language), gr.skip()
        if not self._store_feedback(last, rating, comment):
            return comment, message("feedback_failed", language), gr.skip()
        return "", message("feedback_thanks", language), [*turns[:-1], {**last, "rated": rating}]

    def _store_feedback(self, turn: dict[str, Any], rating: str, comment: str) -> bool:
        settings = self.settings
        try:
            append_feedback(
                settings.feedback_path, turn["question"], turn["answer"], rating, comment, max_bytes=int(settings.feedback_max_mb * 2**20)
            )
        except FeedbackFull:
            log.warning("feedback log %s is full (%.0f MiB); rating not stored", Path(settings.feedback_path).name, settings.feedback_max_mb)
            return False
        except Exception:  # noqa: BLE001
            log.exception("storing feedback failed")
            return False
        return True
