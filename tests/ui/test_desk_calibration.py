"""The desk's calibration: started in its own process, shown in the desk's language, applied so that
the next answer uses it (handlers called directly, as Gradio would; the fake embedder throughout)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest
import yaml

from advisor.answer.service import Advisor
from advisor.core.settings import load_settings
from advisor.index.build import build_index
from advisor.web import maintenance
from advisor.web.access import DeskGate
from advisor.web.desk import DeskHandlers
from tests.conftest import FAKE_EMBEDDER_SETTINGS, FakeEmbedder

FAKE_CALIBRATE = [sys.executable, "-m", "tests.ui.fake_calibrate", "--json"]
REQUEST = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"), headers={})
QUESTIONS = [
    {"id": "nl-1", "question": "Hoe groeit vertrouwen tussen partners?", "language": "nl", "expected": ["vertrouwen.md"]},
    {"id": "nl-2", "question": "Wat doet een ketenregisseur in de zorg?", "language": "nl", "expected": ["keten.html"]},
    {"id": "en-1", "question": "Why does a shared goal matter for independent organisations?", "language": "en", "expected": ["shared-goal.md"]},
    {"id": "r-1", "question": "What pizza goes with <b>pineapple</b>?", "language": "en", "kind": "refusal"},
]
ASKED = "Hoe groeit vertrouwen tussen partners?"


@pytest.fixture
def desk(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A desk on an index where the current rule refuses every question (threshold 0.9 for the fake
    embedder's similarities), so the calibration proposes another one."""
    toml = tmp_path / "advisor.toml"
    toml.write_text("# the server's settings\nchunk_size = 400  # fixture documents\nrefusal_threshold = 0.9\nrefusal_floor = 0.9\n")
    monkeypatch.setenv("ADVISOR_CONFIG", str(toml))
    qfile = tmp_path / "questions.yaml"
    qfile.write_text(yaml.safe_dump(QUESTIONS, allow_unicode=True))
    settings = load_settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", admin_password="pw", questions_file=qfile,
        **{k: v for k, v in FAKE_EMBEDDER_SETTINGS.items() if not k.startswith("refusal_")},
    )
    embedder = FakeEmbedder()
    build_index(settings, embedder)
    advisor = Advisor(settings, embedder)
    runner = maintenance.Runner(settings, calibrate_command=FAKE_CALIBRATE)
    gate = DeskGate("pw")
    handlers = DeskHandlers(settings, runner, gate, lambda values: advisor.reconfigure(**values))
    token = gate.login("pw", "127.0.0.1").token
    yield SimpleNamespace(handlers=handlers, advisor=advisor, token=token, toml=toml, settings=settings, embedder=embedder)
    runner.stop_all()


def _finished(d: Any, language: str) -> tuple[Any, ...]:
    deadline = time.monotonic() + 120
    while True:
        out = d.handlers.calibration_tick(d.token, "", language, REQUEST)
        if not str(out[0]).startswith(("Kalibratie loopt", "Calibration running")):
            return out
        assert time.monotonic() < deadline, "the calibration did not finish"
        time.sleep(0.3)


def test_calibrating_at_the_desk_shows_current_and_proposed_and_applying_takes_effect(desk: Any) -> None:
    d = desk
    assert d.advisor.answer(ASKED).refused  # the current rule refuses what the corpus answers
    assert d.handlers.calibrate(d.token, "nl", REQUEST) == "Kalibratie gestart: de vragen gaan door de huidige index."
    status, view, button, key = _finished(d, "nl")
    assert status == "Kalibratie klaar. Er is nog niets gewijzigd."
    assert "voorgesteld" in view and "huidig" in view and "weigering: precisie" in view
    assert "geweigerd &rarr; beantwoord" in view and "nl-1" in view
    assert "<b>pineapple</b>" not in view  # a question's text is escaped, never markup
    assert "Let op:" in view and "Maar 3 beantwoordbare vragen" in view  # the notes, in Dutch
    assert button["visible"] is True and key
    again = d.handlers.calibration_tick(d.token, key, "nl", REQUEST)
    assert again[1:3] == (gr.skip(), gr.skip())  # nothing new: the view is not sent again
    english = d.handlers.calibration_tick(d.token, key, "en", REQUEST)
    assert "proposed" in english[1] and "Only 3 answerable questions" in english[1]
    assert d.toml.read_text().endswith("refusal_threshold = 0.9\nrefusal_floor = 0.9\n")

    note, button = d.handlers.apply_calibration(d.token, "en", REQUEST)
    proposed = d.handlers.runner.calibration()["proposed"]["rule"]
    assert note.startswith("Applied: answers use the new rule from now on, and advisor.toml keeps it")
    assert str(d.toml.parent) not in note
    assert button["visible"] is False
    text = d.toml.read_text()
    assert text.startswith("# the server's settings\nchunk_size = 400  # fixture documents\nrefusal_threshold = ")
    assert load_settings().refusal_threshold == proposed["refusal_threshold"]
    assert d.advisor.settings.refusal_threshold == proposed["refusal_threshold"]
    assert not d.advisor.answer(ASKED).refused  # the next answer uses the applied rule
    env = maintenance.settings_env(d.handlers.runner.settings)
    assert float(env["ADVISOR_REFUSAL_THRESHOLD"]) == proposed["refusal_threshold"]  # and so does the next run


def test_applying_needs_a_login_a_proposal_and_the_same_index(desk: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    d = desk
    with pytest.raises(gr.Error):
        d.handlers.apply_calibration("not-a-token", "en", REQUEST)
    with pytest.raises(gr.Error):
        d.handlers.calibrate(None, "en", REQUEST)
    assert d.handlers.calibration_tick("not-a-token", "", "en", REQUEST) == (gr.skip(),) * 4
    assert d.handlers.apply_calibration(d.token, "en", REQUEST)[0] == "There is no calibration with a different proposal to apply; calibrate first."
    d.handlers.calibrate(d.token, "en", REQUEST)
    _finished(d, "en")
    (d.settings.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nEen nieuw document over netwerken en partners.\n")
    build_index(d.settings, d.embedder)
    assert d.handlers.apply_calibration(d.token, "en", REQUEST)[0] == "The index changed since this calibration: calibrate again before applying."
    assert d.toml.read_text().endswith("refusal_threshold = 0.9\nrefusal_floor = 0.9\n")


def test_the_environment_winning_over_the_file_is_said_when_applying(desk: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    d = desk
    d.handlers.calibrate(d.token, "nl", REQUEST)
    _finished(d, "nl")
    monkeypatch.setenv("ADVISOR_REFUSAL_THRESHOLD", "0.9")
    note, _ = d.handlers.apply_calibration(d.token, "nl", REQUEST)
    assert note.startswith("Toegepast:")
    assert "Let op: ADVISOR_REFUSAL_THRESHOLD in de omgeving van de server gaan bij de volgende start voor advisor.toml" in note


def test_without_a_way_to_apply_live_the_desk_says_a_restart_is_needed(desk: Any) -> None:
    d = desk
    d.handlers.apply_settings = None
    d.handlers.calibrate(d.token, "en", REQUEST)
    _finished(d, "en")
    note, _ = d.handlers.apply_calibration(d.token, "en", REQUEST)
    assert note.startswith("Written to advisor.toml") and "restart the app" in note
    assert d.advisor.answer(ASKED).refused


def test_a_failed_calibration_is_shown_without_server_paths(desk: Any, tmp_path: Path) -> None:
    d = desk
    d.handlers.runner.settings = d.handlers.runner.settings.model_copy(update={"questions_file": tmp_path / "missing.yaml"})
    d.handlers.calibrate(d.token, "en", REQUEST)
    status, view, button, _ = _finished(d, "en")
    assert status.startswith("The calibration failed:") and "does not exist" in status
    assert str(tmp_path) not in status
    assert view in ("", gr.skip()) and button in (gr.skip(), gr.update(visible=False))  # no result is shown


def test_settings_file_is_untouched_by_a_calibration_alone(desk: Any) -> None:
    before = desk.toml.read_text()
    desk.handlers.calibrate(desk.token, "en", REQUEST)
    _finished(desk, "en")
    assert desk.toml.read_text() == before
