"""The page's words: every label and message in both languages, one language at a time."""

from __future__ import annotations

import string
from pathlib import Path
from types import SimpleNamespace

import pytest

from advisor.core.settings import Settings, load_settings
from advisor.web import chat, i18n, render
from advisor.web.chat import ChatHandlers, check_question, status_line
from advisor.web.desk import DeskHandlers, desk_upload_lines

TABLES = {
    "i18n.UI": i18n.UI,
    "i18n.MESSAGES": i18n.MESSAGES,
    "render.LABELS": render.LABELS,
    "chat.MESSAGES": {lang: {k: v[lang] for k, v in chat.MESSAGES.items()} for lang in i18n.LANGUAGES},
}


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("name", list(TABLES))
def test_every_key_is_in_both_languages_with_the_same_fields(name: str) -> None:
    table = TABLES[name]
    assert set(table) == set(i18n.LANGUAGES)
    assert set(table["nl"]) == set(table["en"]), name
    for key in table["nl"]:
        assert table["nl"][key].strip() and table["en"][key].strip(), (name, key)
        assert fields(table["nl"][key]) == fields(table["en"][key]), (name, key)


@pytest.mark.parametrize("name", list(TABLES))
def test_no_label_holds_two_languages(name: str) -> None:
    for language, words in TABLES[name].items():
        assert [k for k, v in words.items() if " · " in v or "/documents" in v] == [], (name, language)


@pytest.mark.parametrize(
    ("value", "language"),
    [("NL", "nl"), ("nl", "nl"), ("nl-BE", "nl"), ("EN", "en"), ("en-GB", "en"), ("de", "en"), ("<script>", "en"), (None, "en")],
)
def test_any_switch_value_means_dutch_or_english(value: object, language: str) -> None:
    assert i18n.ui_language(value) == language


def test_the_switch_choices_name_the_two_languages() -> None:
    assert [i18n.ui_language(c) for c in i18n.CHOICES] == ["nl", "en"]
    assert [i18n.choice_of(x) for x in i18n.LANGUAGES] == list(i18n.CHOICES)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", feedback_path=tmp_path / "data" / "feedback.jsonl", admin_password="pw"
    )


def test_the_chat_relabels_in_one_language(settings: Settings) -> None:
    handlers = ChatHandlers(settings, advisor=None, feedback_limit=None, viewer_cache=None)  # type: ignore[arg-type]
    for choice, language in (("NL", "nl"), ("EN", "en")):
        out = handlers.relabel(choice, [], False)
        assert out[0] == language
        assert out[1] == f"## {i18n.UI[language]['title']}"
        texts = [str(v) for v in out[1:]]
        assert not any(" · " in t for t in texts)
        assert out[-1] == render.message_html_text(render.labels(language)["viewer_hint"])
        assert render.labels(language)["no_sources"] in out[-2]
    kept = handlers.relabel("EN", [], True)[-1]  # a viewer showing a document is left as it is
    assert isinstance(kept, dict) and kept.get("__type__") == "update" and set(kept) == {"__type__"}


def test_the_desk_relabels_in_one_language(settings: Settings) -> None:
    desk = DeskHandlers(settings, runner=None, gate=None)  # type: ignore[arg-type]
    nl, en = desk.relabel("NL"), desk.relabel("EN")
    assert len(nl) == len(en) == 21
    assert nl[0]["label"] == "Beheer" and en[0]["label"] == "Maintainer"
    assert nl[2]["value"] == "Ontgrendel" and en[2]["value"] == "Unlock"


def test_server_messages_follow_the_chosen_language_not_the_question(settings: Settings) -> None:
    dutch_question = "Hoe groeit vertrouwen tussen partners? " * 100
    assert "too long" in (check_question(dutch_question, [], 2000, "en") or "")
    assert "te lang" in (check_question(dutch_question, [], 2000, None) or "")  # no choice: the question's language
    assert "te lang" in (check_question("How does trust grow? " * 200, [], 2000, "nl") or "")
    assert status_line(settings, "nl") == "Nog geen index"
    assert status_line(settings, "en") == status_line(settings) == "No index yet"


def test_feedback_and_viewer_notes_follow_the_chosen_language(settings: Settings) -> None:
    handlers = ChatHandlers(settings, advisor=None, feedback_limit=None, viewer_cache=None)  # type: ignore[arg-type]
    request = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"), headers={})
    assert handlers.rate_helpful("", [], "en", request)[1] == "Ask a question first."  # type: ignore[arg-type]
    assert handlers.rate_helpful("", [], "nl", request)[1] == "Stel eerst een vraag."  # type: ignore[arg-type]
    html, _ = handlers.open_cited([], "en", SimpleNamespace(value="0:1"))  # type: ignore[arg-type]
    assert i18n.text("source_gone", "en") in html


def test_desk_notes_follow_the_chosen_language(settings: Settings, tmp_path: Path) -> None:
    assert desk_upload_lines(settings, [], tmp_path, "nl") == [i18n.text("choose_files", "nl")]
    assert desk_upload_lines(settings, [], tmp_path) == ["Choose one or more files first."]
    lines = desk_upload_lines(settings, ["/etc/passwd"], tmp_path, "nl")
    assert lines == ["- geweigerd: 'passwd' is niet via deze pagina geüpload"]


def test_the_sources_panel_headings_follow_the_page() -> None:
    turns = [{"question": "Why trust?", "answer": {"language": "en", "refused": True, "citations": []}}] * 2
    out = render.sources_html(turns, "nl")
    assert render.labels("nl")["sources"] in out
    assert render.labels("nl")["earlier"] in out
    assert render.labels("nl")["refused"] in out
    # the panel promises nearest topics only when the refusal has some
    assert "dichtst bij" not in out
    near = [{"question": "Why trust?", "answer": {"language": "en", "refused": True, "citations": [], "suggestions": ["A: S"]}}]
    assert render.labels("en")["refused_near"] in render.sources_html(near, "en")
    assert render.labels("en")["sources"] in render.sources_html(turns)  # no choice: the answer's language
