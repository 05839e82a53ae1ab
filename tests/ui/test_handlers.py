"""The chat's and the desk's pure helpers, without a server."""

from __future__ import annotations

from pathlib import Path

from advisor.core.settings import load_settings
from advisor.web.chat import check_question, history_from_turns, message, turns_language
from advisor.web.desk import desk_upload_lines, in_upload_cache

TURNS = [
    {"question": "Hoe groeit vertrouwen?", "answer": {"answer": "Door afspraken na te komen [1].", "language": "nl"}},
    {"question": "Why does a shared goal matter?", "answer": {"answer": "It aligns effort [1].", "language": "en"}},
]


def test_the_history_comes_from_the_sessions_turns_as_plain_text() -> None:
    assert history_from_turns(TURNS) == [
        {"role": "user", "content": "Hoe groeit vertrouwen?"},
        {"role": "assistant", "content": "Door afspraken na te komen [1]."},
        {"role": "user", "content": "Why does a shared goal matter?"},
        {"role": "assistant", "content": "It aligns effort [1]."},
    ]
    assert history_from_turns(None) == []


def test_a_too_long_question_is_refused_in_its_own_language() -> None:
    assert check_question("Hoe groeit vertrouwen?", [], 2000) is None
    dutch = check_question("Hoe groeit vertrouwen tussen partners? " * 100, [], 2000)
    assert dutch is not None
    assert "te lang" in dutch
    assert "2000" in dutch
    english = check_question("How does trust grow between partners? " * 100, [], 2000)
    assert english is not None
    assert "too long" in english


def test_the_conversation_language_is_that_of_the_last_answer() -> None:
    assert turns_language(TURNS) == "en"
    assert turns_language([]) == "nl"
    assert message("feedback_first", "en") == "Ask a question first."


def test_only_files_in_the_upload_cache_count_as_uploads(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "abc").mkdir(parents=True)
    inside = cache / "abc" / "doc.md"
    inside.write_text("# Doc\n\nTekst.\n")
    outside = tmp_path / "secret.md"
    outside.write_text("geheim")
    link = cache / "abc" / "link.md"
    link.symlink_to(outside)
    assert in_upload_cache(inside, cache)
    assert not in_upload_cache(outside, cache)
    assert not in_upload_cache(link, cache)  # a link out of the cache is judged by its target
    assert not in_upload_cache(cache / "abc" / ".." / ".." / "secret.md", cache)
    assert not in_upload_cache(cache, cache)
    assert not in_upload_cache("/etc/passwd", cache)


def test_desk_upload_refuses_server_paths_and_keeps_uploaded_files(tmp_path: Path) -> None:
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    cache = tmp_path / "cache"
    (cache / "u1").mkdir(parents=True)
    good = cache / "u1" / "nieuw.md"
    good.write_text("# Nieuw\n\nTekst over allianties.\n")
    lines = desk_upload_lines(settings, [str(good), "/etc/passwd"], cache)
    assert lines[0] == "- nieuw.md: added (32 bytes)"
    assert lines[1] == "- refused: 'passwd' was not uploaded through this page"
    assert (tmp_path / "corpus" / "nieuw.md").exists()
    assert not (tmp_path / "corpus" / "passwd").exists()
    assert not good.exists()  # the cached copy is gone once it is in the corpus
    assert desk_upload_lines(settings, [], cache) == ["Choose one or more files first."]
