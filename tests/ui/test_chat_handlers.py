"""The chat's handlers called directly, with a stub advisor: no server, no index, no model."""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
from gradio.utils import get_type_hints

from advisor.core.settings import Settings, load_settings
from advisor.web.access import RateLimit
from advisor.web.api import MAX_QUESTION
from advisor.web.chat import MAX_SUGGESTIONS, ChatHandlers, chat_messages, history_from_turns
from advisor.web.desk import DeskHandlers
from advisor.web.viewer import DocumentCache

# respond yields (chat, question box, sources, turns, *suggestions, copy box, feedback note)
CHAT, BOX, SOURCES, TURNS = 0, 1, 2, 3
SUGGESTIONS = slice(4, 4 + MAX_SUGGESTIONS)


@dataclass
class FinalAnswer:
    answer: str
    language: str = "nl"
    refused: bool = False
    suggestions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        citations = [] if self.refused else [{"n": 1, "source": "doc.md", "page": None, "section": "", "text": "Tekst."}]
        return {
            "answer": self.answer, "citations": citations, "language": self.language,
            "refused": self.refused, "suggestions": self.suggestions,
        }


class StubAdvisor:
    """Streams one partial text, then the final answer; remembers what it was asked."""

    def __init__(self, final: FinalAnswer | None = None, error: Exception | None = None) -> None:
        self.final = final or FinalAnswer("Door afspraken na te komen [1].")
        self.error = error
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    def stream(self, question: str, history: list[dict[str, str]]) -> Any:
        self.calls.append((question, history))
        yield ("Door afspraken", None)
        if self.error is not None:
            raise self.error
        yield (self.final.answer, self.final)


def collect(steps: Any) -> list[tuple[Any, ...]]:
    """Each streamed step as it was when yielded (the handler reuses its chat list between steps)."""
    return [copy.deepcopy(step) for step in steps]


def skipped(value: Any) -> bool:
    return value == gr.skip()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", feedback_path=tmp_path / "data" / "feedback.jsonl")


def handlers(settings: Settings, advisor: Any, per_minute: int = 10) -> ChatHandlers:
    return ChatHandlers(settings, advisor, RateLimit(per_minute, 60.0), DocumentCache(settings.load_timeout, settings.load_memory_mb))


def request(host: str = "10.0.0.1") -> Any:
    return SimpleNamespace(client=SimpleNamespace(host=host))


def answered(question: str, text: str, language: str = "nl") -> dict[str, Any]:
    return {"question": question, "answer": FinalAnswer(text, language).to_json()}


def test_an_answer_streams_and_the_chat_is_rebuilt_from_the_turns(settings: Settings) -> None:
    advisor = StubAdvisor()
    steps = collect(handlers(settings, advisor).respond("  Hoe groeit vertrouwen?  ", []))
    first, partial, last = steps
    assert [m["role"] for m in first[CHAT]] == ["user", "assistant"]
    assert first[BOX] == ""
    assert all(skipped(v) for v in first[SOURCES:])  # nothing but the chat changes before the answer
    assert partial[CHAT][-1]["content"] != first[CHAT][-1]["content"]  # the partial text replaces the placeholder
    assert partial[CHAT][0] == first[CHAT][0]
    turns = last[TURNS]
    assert [t["question"] for t in turns] == ["Hoe groeit vertrouwen?"]
    assert turns[0]["answer"]["answer"] == "Door afspraken na te komen [1]."
    assert last[CHAT] == chat_messages(turns)
    assert 'id="src-0-1"' in last[SOURCES]
    assert all(u["visible"] is False for u in last[SUGGESTIONS])
    assert advisor.calls == [("Hoe groeit vertrouwen?", [])]


def test_the_history_given_to_the_advisor_comes_from_the_turns(settings: Settings) -> None:
    earlier = [answered("Wat is een alliantie?", "Een samenwerking [1]."), answered("Why trust?", "It lowers costs [1].", "en")]
    advisor = StubAdvisor()
    steps = list(handlers(settings, advisor).respond("En daarna?", earlier))
    assert advisor.calls == [("En daarna?", history_from_turns(earlier))]
    assert steps[0][CHAT][:4] == chat_messages(earlier)  # earlier turns are redrawn, never taken from a client
    assert [t["question"] for t in steps[-1][TURNS]] == ["Wat is een alliantie?", "Why trust?", "En daarna?"]
    assert steps[-1][CHAT] == chat_messages(steps[-1][TURNS])


def test_a_too_long_question_is_refused_without_asking_the_advisor(settings: Settings) -> None:
    advisor = StubAdvisor()
    with pytest.warns(UserWarning, match=str(MAX_QUESTION)):  # gr.Warning outside a request: it names the limit
        steps = list(handlers(settings, advisor).respond("x" * (MAX_QUESTION + 1), []))
    assert advisor.calls == []
    assert len(steps) == 1
    assert all(skipped(v) for v in steps[0])  # the question stays in its box; nothing else changes


def test_an_empty_question_is_not_answered(settings: Settings) -> None:
    advisor = StubAdvisor()
    for text in ("", "   ", None):
        (step,) = handlers(settings, advisor).respond(text, [])  # type: ignore[arg-type]
        assert skipped(step[CHAT])
        assert all(skipped(v) for v in step[SOURCES:])
    assert advisor.calls == []


def test_a_failing_advisor_leaves_the_turns_as_they_were(settings: Settings) -> None:
    advisor = StubAdvisor(error=RuntimeError("boom /secret/path"))
    last = list(handlers(settings, advisor).respond("Hoe groeit vertrouwen?", []))[-1]
    assert skipped(last[TURNS])
    assert "/secret/path" not in last[CHAT][-1]["content"]
    assert "boom" not in last[CHAT][-1]["content"]


def test_a_refusal_shows_its_topics_as_suggestions(settings: Settings) -> None:
    final = FinalAnswer("Dat staat niet in de bronnen.", refused=True, suggestions=["vertrouwen", "escalatie"])
    last = list(handlers(settings, StubAdvisor(final)).respond("Wat is de hoofdstad van Peru?", []))[-1]
    shown = [u for u in last[SUGGESTIONS] if u["visible"]]
    assert [u["value"] for u in shown] == ["vertrouwen", "escalatie"]
    question = handlers(settings, StubAdvisor()).ask_suggestion("vertrouwen", last[TURNS])
    assert "vertrouwen" in question


def test_feedback_is_stored_once_per_answer(settings: Settings) -> None:
    chat = handlers(settings, StubAdvisor())
    turns = [answered("Hoe groeit vertrouwen?", "Door afspraken [1].")]
    comment, _, rated = chat.rate_helpful("Duidelijk.", turns, None, request())
    assert comment == ""
    assert rated[-1]["rated"] == "helpful"
    assert "rated" not in turns[-1]  # the input is not changed in place
    comment, _, again = chat.rate_unhelpful("Toch niet.", rated, None, request())
    assert comment == "Toch niet."
    assert skipped(again)
    lines = Path(settings.feedback_path).read_text(encoding="utf-8").splitlines()
    assert [json.loads(ln)["rating"] for ln in lines] == ["helpful"]


def test_feedback_needs_an_answer_and_is_rate_limited(settings: Settings) -> None:
    chat = handlers(settings, StubAdvisor(), per_minute=1)
    comment, _, turns = chat.rate_helpful("Eerst?", [], None, request())
    assert (comment, skipped(turns)) == ("Eerst?", True)
    chat.rate_helpful("", [answered("Een?", "Ja [1].")], None, request())
    _, _, limited = chat.rate_helpful("", [answered("Twee?", "Ja [1].")], None, request())
    assert skipped(limited)
    _, _, other = chat.rate_helpful("", [answered("Twee?", "Ja [1].")], None, request("10.0.0.2"))
    assert other[-1]["rated"] == "helpful"


def test_reset_empties_the_conversation(settings: Settings) -> None:
    turns, sources, *rest = handlers(settings, StubAdvisor()).reset()
    assert turns == []
    assert 'id="src-' not in sources
    assert len(rest) == MAX_SUGGESTIONS + 3
    assert rest[-1]["visible"] is False


def test_a_source_that_is_gone_opens_a_message_not_an_error(settings: Settings) -> None:
    chat = handlers(settings, StubAdvisor())
    turns = [answered("Hoe groeit vertrouwen?", "Door afspraken [1].")]
    for value in ("7:1", "0:9", "nonsense", None):
        html, used = chat.open_cited(turns, None, SimpleNamespace(value=value))  # type: ignore[arg-type]
        assert used is True
        assert html
        assert "Traceback" not in html
    assert chat.document("../../etc/passwd")
    assert "root:" not in chat.document("../../etc/passwd")


def test_export_writes_the_conversation_and_refuses_an_empty_one(settings: Settings) -> None:
    chat = handlers(settings, StubAdvisor())
    assert chat.export([])["visible"] is False
    update = chat.export([answered("Hoe groeit vertrouwen?", "Door afspraken [1].")])
    assert update["visible"] is True
    path = Path(update["value"])
    assert path.is_relative_to(chat.export_dir)
    assert "Hoe groeit vertrouwen?" in path.read_text(encoding="utf-8")


def test_handler_signatures_are_what_gradio_expects(settings: Settings) -> None:
    """Gradio passes `gr.Request` by annotation and counts the other parameters against the inputs."""
    import inspect

    chat = handlers(settings, StubAdvisor())
    desk = DeskHandlers(settings, runner=None, gate=None)  # type: ignore[arg-type]
    with_request = {
        chat.rate_helpful, chat.rate_unhelpful, desk.unlock, desk.upload, desk.remove, desk.reindex,
        desk.evaluate, desk.tick, desk.refresh_feedback, desk.status, desk.calibrate, desk.calibration_tick, desk.apply_calibration,
    }
    for fn in [*with_request, chat.respond, chat.open_cited, chat.export, chat.reset, chat.document, desk.lock]:
        hints = get_type_hints(fn)
        assert hints, fn.__name__  # every annotation resolves at run time
        assert (hints.get("request") is gr.Request) == (fn in with_request), fn.__name__
    assert get_type_hints(chat.open_cited)["evt"] is gr.SelectData
    assert inspect.isgeneratorfunction(chat.respond)
    assert list(inspect.signature(chat.respond).parameters) == ["text", "turns", "language"]


def test_building_the_app_gives_no_signature_warning(settings: Settings) -> None:
    from advisor.web.app import build_app

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app, blocks = build_app(settings.model_copy(update={"admin_password": "pw"}), StubAdvisor())
    try:
        assert [str(w.message) for w in caught if "argument" in str(w.message)] == []
        assert blocks.has_launched is True
    finally:
        app.state.runner.stop_all()
        app.state.viewer_cache.close()
        blocks.close()
