"""End to end with the real packaged model (multilingual-e5-small) and a real Chroma on disk."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest

from advisor.core.settings import Settings
from advisor.services import build_services
from tests.chroma_server import chroma_server
from tests.conftest import write_fixture_corpus

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["embedded", "server"])
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The same tests on the embedded client and on a real `chroma run` server on loopback."""
    tmp = tmp_path_factory.mktemp("real")
    settings = Settings(
        corpus_dir=write_fixture_corpus(tmp / "corpus"),
        index_dir=tmp / "index",
        models_dir=tmp_path_factory.getbasetemp() / "shared-models",
    )
    with contextlib.ExitStack() as stack:
        if request.param == "server":
            url = stack.enter_context(chroma_server(tmp / "chroma-data"))
            settings = settings.model_copy(update={"chroma_server_url": url})
        services = build_services(settings)  # one model for the build and the answers
        report = services.build_index()
        assert report.failed == [] and report.documents == 5
        yield settings, services.advisor


def test_dutch_question_is_answered_with_citations_from_the_right_document(real) -> None:  # type: ignore[no-untyped-def]
    _, advisor = real
    ans = advisor.answer("Hoe bouw je vertrouwen op tussen twee partnerorganisaties?")
    assert not ans.refused and ans.language == "nl"
    assert ans.citations[0].source == "vertrouwen.md"
    assert "afspraken" in ans.text


def test_english_question_finds_the_dutch_document(real) -> None:  # type: ignore[no-untyped-def]
    _, advisor = real
    ans = advisor.answer("Which governance form suits a large network with many members?")
    assert not ans.refused and ans.language == "en"
    assert ans.citations[0].source == "governance.pdf"
    assert ans.citations[0].page == 3


def test_questions_outside_the_corpus_are_refused(real) -> None:  # type: ignore[no-untyped-def]
    _, advisor = real
    for q in ("Wat is de beste pizza met ananas?", "What is the capital of France?", "Hoe schrijf ik een Python-functie die een lijst sorteert?"):
        ans = advisor.answer(q)
        assert ans.refused, q
        assert ans.citations == ()
        assert ans.suggestions == (), q  # plainly unrelated: no "nearest topics" that are not near
    # Near the corpus's topics, but on something no passage names: refused, or answered with the
    # note that the sources do not cover that term (issue #12's bar). On this corpus of five short
    # documents the rule is judged against its chance level (`refusal_chance_baseline`), which lies
    # well below the shipped corpus's: the VAT question then passes the threshold on its
    # ketenregisseur passage, and is answered with "De bronnen noemen btw-tarief niet".
    for q in ("Welk btw-tarief geldt voor de diensten van een ketenregisseur?", "Under IFRS 11, how do we account for a joint steering group?"):
        ans = advisor.answer(q)
        term = "btw-tarief" if "btw" in q else "IFRS 11"
        assert ans.refused or term in ans.uncovered, q
        if not ans.refused:
            assert f"noemen {term} niet" in ans.text or f"do not mention {term}" in ans.text, ans.text


def test_cli_ask_json_with_the_real_model(real) -> None:  # type: ignore[no-untyped-def]
    settings, _ = real
    env = {**os.environ, "ADVISOR_MODELS_DIR": str(settings.models_dir), "HF_HUB_OFFLINE": "1"}
    if settings.chroma_server_url:
        env["ADVISOR_CHROMA_SERVER_URL"] = settings.chroma_server_url
    cmd = [sys.executable, "-m", "advisor", "ask", "--json", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    res = subprocess.run(cmd, input="Wat doet een ketenregisseur?\nWhat is the capital of France?\n", capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    first, second = (json.loads(line) for line in res.stdout.strip().splitlines())
    assert first["refused"] is False and first["citations"][0]["source"] == "keten.html"
    assert second["refused"] is True and second["language"] == "en"
    assert str(settings.corpus_dir) not in res.stdout
