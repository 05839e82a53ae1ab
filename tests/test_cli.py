from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.cli import EXIT_BUSY, EXIT_NO_INDEX, main
from advisor.index.layout import index_lock
from tests.conftest import FAKE_EMBEDDER_SETTINGS


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, fake_embedder, tmp_path: Path, corpus: Path):  # type: ignore[no-untyped-def]
    for name in ("refusal_threshold", "refusal_floor"):
        monkeypatch.setenv(f"ADVISOR_{name.upper()}", str(FAKE_EMBEDDER_SETTINGS[name]))
    runner = CliRunner()
    paths = ["--corpus", str(corpus), "--index", str(tmp_path / "idx")]

    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        # The fake embedder goes in through the composition root (advisor.services), not a patch.
        return runner.invoke(main, [*args, *paths], input=input, catch_exceptions=False, obj={"embedder": fake_embedder})

    return run


def test_index_prints_a_summary_and_json(cli, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    (corpus / "kapot.pdf").write_bytes(b"not a pdf")
    res = cli("index")
    assert res.exit_code == 0, res.output
    assert "is now current" in res.output
    assert "added 5, changed 0, removed 0, unchanged 0, failed 1" in res.output
    assert "failed: kapot.pdf: corrupt or unreadable PDF" in res.output
    res = cli("index", "--json")
    data = json.loads(res.output)
    assert data["noop"] is True and data["embedded"] == 0
    assert data["failed"] == [{"source": "kapot.pdf", "reason": data["failed"][0]["reason"]}]
    assert cli("index", "--strict").exit_code == 1


def test_ask_json_has_the_documented_fields(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("index").exit_code == 0
    res = cli("ask", "--json", "Hoe groeit vertrouwen tussen partners?")
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert {"answer", "refused", "language", "citations"} <= set(data)
    assert data["refused"] is False and data["language"] == "nl"
    c = data["citations"][0]
    assert {"n", "source", "title", "section", "page", "text"} <= set(c)
    assert c["n"] == 1 and c["source"] == "vertrouwen.md" and c["page"] is None
    assert not Path(c["source"]).is_absolute()


def test_ask_reads_questions_from_stdin_one_json_per_line(cli) -> None:  # type: ignore[no-untyped-def]
    cli("index")
    res = cli("ask", "--json", input="Hoe groeit vertrouwen tussen partners?\n\nWhat pizza goes with pineapple?\nWat doet een ketenregisseur?\n")
    lines = [json.loads(line) for line in res.output.strip().splitlines()]
    assert [d["refused"] for d in lines] == [False, True, False]
    assert lines[2]["citations"][0]["source"] == "keten.html"


def test_ask_prints_text_with_sources(cli) -> None:  # type: ignore[no-untyped-def]
    cli("index")
    res = cli("ask", "Wat doet een ketenregisseur?")
    assert res.exit_code == 0
    assert "[1]" in res.output and "Bronnen:" in res.output and "keten.html" in res.output


def test_ask_and_status_without_an_index_exit_3(cli) -> None:  # type: ignore[no-untyped-def]
    res = cli("ask", "Wat is vertrouwen?")
    assert res.exit_code == EXIT_NO_INDEX
    assert "advisor index" in res.output
    assert cli("status").exit_code == EXIT_NO_INDEX


def test_status_reports_the_current_build(cli) -> None:  # type: ignore[no-untyped-def]
    cli("index")
    data = json.loads(cli("status", "--json").output)
    assert data["documents"] == 5 and data["chunks"] > 5 and data["model"] == "fake-bow"
    assert data["building"] is False
    assert "documents: 5" in cli("status").output


def test_index_while_another_build_runs_exits_75(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with index_lock(tmp_path / "idx"):
        res = cli("index")
    assert res.exit_code == EXIT_BUSY
    assert "another index build is running" in res.output


def test_rollback_without_previous_build_fails_clearly(cli) -> None:  # type: ignore[no-untyped-def]
    cli("index")
    res = cli("rollback")
    assert res.exit_code == 1 and "no previous build" in res.output


def test_missing_corpus_is_a_clear_error(cli, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.rmtree(corpus)
    res = cli("index")
    assert res.exit_code == 1 and "does not exist" in res.output


def test_a_glossary_file_that_is_missing_or_malformed_is_named_before_anything_runs(cli, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ADVISOR_GLOSSARY", "terms.txt")
    res = cli("index")
    assert res.exit_code == 2 and "terms.txt: glossary file not found" in res.output and str(tmp_path) not in res.output
    (tmp_path / "terms.txt").write_text("alliance alliantie; trust", encoding="utf-8")
    res = cli("ask", "Hoe groeit vertrouwen?")
    assert res.exit_code == 2 and "terms.txt: pair 2 ('trust') is not an English word and a Dutch word" in res.output
    (tmp_path / "terms.txt").write_text("alliance alliantie; trust vertrouwen;", encoding="utf-8")
    assert cli("index").exit_code == 0


def test_help_lists_the_commands() -> None:
    res = CliRunner().invoke(main, ["--help"])
    for cmd in ("index", "ask", "status", "rollback", "serve"):
        assert cmd in res.output
