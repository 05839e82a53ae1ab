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
from tests.conftest import FAKE_EMBEDDER_SETTINGS, FakeEmbedder, write_fixture_corpus
from tests.ui.conftest import isolated_env

FAKE_CALIBRATE = [sys.executable, "-m", "tests.ui.fake_calibrate", "--json"]
REQUEST = SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"), headers={})
QUESTIONS = [
    {"id": "nl-1", "question": "Hoe groeit vertrouwen tussen partners?", "language": "nl", "expected": ["vertrouwen.md"]},
    {"id": "nl-2", "question": "Wat doet een ketenregisseur in de zorg?", "language": "nl", "expected": ["keten.html"]},
    {"id": "en-1", "question": "Why does a shared goal matter for independent organisations?", "language": "en", "expected": ["shared-goal.md"]},
    {"id": "r-1", "question": "What pizza goes with <b>pineapple</b>?", "language": "en", "kind": "refusal"},
]
ASKED = "Hoe groeit vertrouwen tussen partners?"


TOML = "# the server's settings\nchunk_size = 400  # fixture documents\nrefusal_threshold = 0.9\nrefusal_floor = 0.9\n"


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An index where the current rule refuses every question (threshold and floor 0.9 for the fake
    embedder's similarities), and one calibration run on it from the desk's runner, in its own process."""
    root = tmp_path_factory.mktemp("desk-calibration")
    with isolated_env(root):
        qfile = root / "questions.yaml"
        qfile.write_text(yaml.safe_dump(QUESTIONS, allow_unicode=True))
        settings = load_settings(
            corpus_dir=write_fixture_corpus(root / "corpus"), index_dir=root / "index", admin_password="pw", questions_file=qfile,
            refusal_threshold=0.9, refusal_floor=0.9, **{k: v for k, v in FAKE_EMBEDDER_SETTINGS.items() if not k.startswith("refusal_")},
        )
        embedder = FakeEmbedder()
        build_index(settings, embedder)
        runner = maintenance.Runner(settings, calibrate_command=FAKE_CALIBRATE)
        gate = DeskGate("pw")
        token = gate.login("pw", "127.0.0.1").token
        assert DeskHandlers(settings, runner, gate).calibrate(token, "nl", REQUEST) == "Kalibratie gestart: de vragen gaan door de huidige index."
        yield SimpleNamespace(settings=settings, embedder=embedder, runner=runner, gate=gate, token=token)
        runner.stop_all()


@pytest.fixture
def desk(calibrated: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The desk of a fresh server on that index (its own settings file and advisor), the calibration done."""
    toml = tmp_path / "advisor.toml"
    toml.write_text(TOML)
    monkeypatch.setenv("ADVISOR_CONFIG", str(toml))
    c = calibrated
    c.runner.settings = c.settings
    advisor = Advisor(c.settings, c.embedder)
    handlers = DeskHandlers(c.settings, c.runner, c.gate, lambda values: advisor.reconfigure(**values))
    d = SimpleNamespace(handlers=handlers, advisor=advisor, token=c.token, toml=toml, settings=c.settings, embedder=c.embedder)
    _finished(d, "nl")
    return d


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
    assert d.toml.read_text() == TOML  # a calibration alone writes nothing

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


def test_applying_needs_a_login_a_proposal_and_the_same_index(desk: Any) -> None:
    d = desk
    with pytest.raises(gr.Error):
        d.handlers.apply_calibration("not-a-token", "en", REQUEST)
    with pytest.raises(gr.Error):
        d.handlers.calibrate(None, "en", REQUEST)
    assert d.handlers.calibration_tick("not-a-token", "", "en", REQUEST) == (gr.skip(),) * 4
    result = d.handlers.runner.calibration()
    fresh = DeskHandlers(d.settings, maintenance.Runner(d.settings, calibrate_command=FAKE_CALIBRATE), d.handlers.gate)
    assert fresh.apply_calibration(d.token, "en", REQUEST)[0] == "There is no calibration with a different proposal to apply; calibrate first."
    older = SimpleNamespace(calibration=lambda: {**result, "index": {**result["index"], "build": "an-older-build"}}, settings=d.settings)
    stale = DeskHandlers(d.settings, older, d.handlers.gate)  # type: ignore[arg-type]
    assert stale.apply_calibration(d.token, "en", REQUEST)[0] == "The index changed since this calibration: calibrate again before applying."
    assert d.toml.read_text() == TOML


def test_the_environment_winning_over_the_file_is_said_when_applying(desk: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    d = desk
    monkeypatch.setenv("ADVISOR_REFUSAL_THRESHOLD", "0.9")
    note, _ = d.handlers.apply_calibration(d.token, "nl", REQUEST)
    assert note.startswith("Toegepast:")
    assert "Let op: ADVISOR_REFUSAL_THRESHOLD in de omgeving van de server gaan bij de volgende start voor advisor.toml" in note


def test_without_a_way_to_apply_live_the_desk_says_a_restart_is_needed(desk: Any) -> None:
    d = desk
    d.handlers.apply_settings = None
    note, _ = d.handlers.apply_calibration(d.token, "en", REQUEST)
    assert note.startswith("Written to advisor.toml") and "restart the app" in note
    assert d.advisor.answer(ASKED).refused


def test_a_failed_calibration_is_shown_without_server_paths(desk: Any, tmp_path: Path) -> None:
    d = desk
    shown = d.handlers.calibration_tick(d.token, "", "en", REQUEST)  # a result on the page ...
    assert "proposed" in shown[1]
    missing = d.settings.model_copy(update={"questions_file": tmp_path / "missing.yaml"})
    failing = DeskHandlers(missing, maintenance.Runner(missing, calibrate_command=FAKE_CALIBRATE), d.handlers.gate)
    failing.calibrate(d.token, "en", REQUEST)
    status = _finished(SimpleNamespace(handlers=failing, token=d.token), "en")[0]
    assert status.startswith("The calibration failed:") and "does not exist" in status
    assert str(tmp_path) not in status
    status, view, button, key = failing.calibration_tick(d.token, shown[3], "en", REQUEST)  # ... then a run that failed
    assert view == "" and button == gr.update(visible=False) and key == ""  # the earlier result is no longer shown
    failing.runner.stop_all()
