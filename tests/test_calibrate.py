"""`advisor calibrate`: the refusal rule proposed from a maintainer's questions (fake embedder: exact and fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from advisor.answer.service import Advisor
from advisor.cli import main
from advisor.core.settings import Settings, load_settings, write_config
from advisor.core.types import Chunk, Hit
from advisor.evaluate import Question
from advisor.index.build import build_index
from advisor.retrieve.search import Passages
from advisor.tools.calibrate import (
    Evidence,
    Rule,
    calibrate_evidence,
    collect,
    decider,
    figures,
    notes_for,
    offtopic_questions,
    questions_for,
)
from tests.conftest import FAKE_EMBEDDER_SETTINGS

QUESTIONS = [
    {"id": "nl-1", "question": "Hoe groeit vertrouwen tussen partners?", "language": "nl", "expected": ["vertrouwen.md"]},
    {"id": "nl-2", "question": "Wat doet een ketenregisseur in de zorg?", "language": "nl", "expected": ["keten.html"]},
    {"id": "en-1", "question": "Why does a shared goal matter for independent organisations?", "language": "en", "expected": ["shared-goal.md"]},
    {"id": "nl-3", "question": "Welke vorm van governance past bij grote netwerken met veel deelnemers?", "language": "nl",
     "expected": ["governance.pdf"]},
    {"id": "f-1", "question": "En wat schaadt het?", "language": "nl", "kind": "followup", "history": ["Hoe groeit vertrouwen tussen partners?"],
     "expected": ["vertrouwen.md"]},
    {"id": "r-1", "question": "What pizza goes with pineapple?", "language": "en", "kind": "refusal"},
    {"id": "r-2", "question": "Hoe lang kook ik een ei?", "language": "nl", "kind": "refusal"},
]


def _write(path: Path, items: list[dict]) -> Path:
    path.write_text(yaml.safe_dump(items, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def indexed(settings: Settings, fake_embedder) -> Advisor:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    return Advisor(settings, fake_embedder)


def test_calibration_decides_every_question_as_the_advisor_answers_it(indexed: Advisor, tmp_path: Path) -> None:
    questions, builtin = questions_for(_write(tmp_path / "q.yaml", QUESTIONS))
    assert not builtin
    evidence = collect(indexed, questions)
    decide = decider(indexed)
    current = Rule.of(indexed.settings)
    for ev in evidence:
        assert decide(ev, current) == indexed.answer(ev.question.question, list(ev.question.history)).refused, ev.question.id


def test_a_file_without_questions_to_refuse_gets_the_builtin_offtopic_ones(tmp_path: Path) -> None:
    questions, builtin = questions_for(_write(tmp_path / "q.yaml", QUESTIONS[:4]))
    offtopic = offtopic_questions()
    assert builtin
    assert len(offtopic) >= 30
    assert {q.language for q in offtopic} == {"nl", "en"}
    assert all(q.kind == "refusal" for q in offtopic)
    assert [q.id for q in questions] == [q["id"] for q in QUESTIONS[:4]] + [q.id for q in offtopic]


def test_builtin_offtopic_questions_repeat_no_gold_refusal() -> None:
    gold = yaml.safe_load((Path(__file__).parent / "eval" / "questions.yaml").read_text())
    gold_refusals = {q["question"].lower() for q in gold if q["kind"] == "refusal"}
    assert not gold_refusals & {q.question.lower() for q in offtopic_questions()}


def _hits(similarity: float, coverage: float = 0.0, text: str = "samenwerking tussen partners") -> Passages:
    chunk = Chunk("c1", "a.md", "A", "nl", "S", None, 0, text)
    return Passages([Hit(chunk, 1.0, similarity, 1, None, coverage)], best_similarity=similarity, best_coverage=coverage)


def _evidence(values: list[tuple[float, bool]]) -> list[Evidence]:
    out = []
    for i, (sim, answerable) in enumerate(values):
        q = Question(f"q{i}", "Hoe werken partners samen?", "nl", "answerable" if answerable else "refusal", ("a.md",) if answerable else ())
        out.append(Evidence(q, _hits(sim), sim, 0.0, ("a.md",)))
    return out


def _decide_with_coverage():  # type: ignore[no-untyped-def]
    from advisor.answer.compose import coverage

    return lambda ev, rule: not coverage(ev.question.question, ev.hits, rule.threshold, rule.floor, rule.keyword_coverage)[0]


@pytest.mark.parametrize("scale", [(0.80, 0.01), (0.0, 1.0), (2.5, -0.5)])
def test_the_grid_follows_the_scale_of_the_observed_similarities(scale: tuple[float, float]) -> None:
    """Cosines near 0.8, centred scores around 0, or any other scale: the proposed rule lies where the evidence is."""
    base, step = scale
    answerable = [base + step * (2 + i * 0.3) for i in range(12)]
    to_refuse = [base + step * (-2 - i * 0.3) for i in range(8)]
    if step < 0:
        answerable, to_refuse = to_refuse, answerable  # higher is more similar: swap so answerable sit on top
    evidence = _evidence([(s, True) for s in answerable] + [(s, False) for s in to_refuse])
    current = Rule(100.0, None, 0.25)  # far off: refuses everything
    cal = calibrate_evidence(evidence, _decide_with_coverage(), current)
    assert cal.proposed_figures.refusal_precision == cal.proposed_figures.refusal_recall == 1.0
    assert max(to_refuse) < cal.proposed.threshold <= min(answerable)
    assert cal.current_figures.refusal_precision == pytest.approx(len(to_refuse) / len(evidence))
    assert len(cal.changed) == len(answerable) and {c["after"] for c in cal.changed} == {"answered"}


def test_a_rule_that_decides_the_same_is_not_proposed_for_nothing() -> None:
    evidence = _evidence([(0.9, True), (0.91, True), (0.7, False), (0.72, False)])
    current = Rule(0.85, 0.84, 0.25)
    cal = calibrate_evidence(evidence, _decide_with_coverage(), current)
    assert cal.proposed == current and cal.changed == []


def test_figures_count_answered_and_recall_at_five() -> None:
    evidence = _evidence([(0.9, True), (0.8, True), (0.7, False)])
    f = figures(evidence, [False, True, True])
    assert (f.refusal_precision, f.refusal_recall, f.answered, f.recall_at_5, f.refused) == (0.5, 1.0, 0.5, 0.5, 2)


def test_poor_calibration_is_explained_with_what_to_do() -> None:
    # few answerable questions, overlapping with the ones to refuse, and a document that is not indexed
    evidence = _evidence([(0.80, True), (0.84, True), (0.86, True), (0.82, False), (0.85, False)])
    evidence[0] = Evidence(Question("q0", "Hoe?", "en", "cross", ("weg.md",), doc_language="nl"), evidence[0].hits, 0.80, 0.0, ())
    cal = calibrate_evidence(evidence, _decide_with_coverage(), Rule(0.83, None, 0.25), indexed={"a.md"})
    codes = {n.code for n in cal.notes}
    assert {"few_answerable", "few_refusals", "below_bar", "overlap", "missing_expected"} <= codes
    text = " ".join(n.message for n in cal.notes)
    assert "weg.md" in text and "Add questions" in text and "add documents" in text
    assert all(n.message and isinstance(n.values, dict) for n in cal.notes)


def test_well_separated_evidence_gets_no_warning() -> None:
    evidence = _evidence([(0.9 + i / 1000, True) for i in range(25)] + [(0.7 + i / 1000, False) for i in range(12)])
    cal = calibrate_evidence(evidence, _decide_with_coverage(), Rule(0.85, 0.84, 0.25), indexed={"a.md"})
    assert cal.notes == []


def test_notes_say_when_the_builtin_offtopic_questions_stand_in() -> None:
    notes = notes_for(_evidence([(0.9, True)] * 25 + [(0.7, False)] * 30), figures(_evidence([(0.9, True)]), [False]), builtin=True)
    assert notes[0].code == "builtin_offtopic" and "built-in off-topic questions" in notes[0].message


def test_write_config_keeps_other_lines_and_comments(tmp_path: Path) -> None:
    toml = tmp_path / "advisor.toml"
    toml.write_text('# my settings\ncorpus_dir = "docs"  # our folder\nrefusal_threshold = 0.9  # old\n\n[other]\nx = 1\n')
    write_config({"refusal_threshold": 0.61, "refusal_floor": 0.55}, toml, note="calibrated")
    text = toml.read_text()
    assert text.startswith('# my settings\ncorpus_dir = "docs"  # our folder\nrefusal_threshold = 0.61  # old\n')
    assert "# calibrated\nrefusal_floor = 0.55\n" in text and text.rstrip().endswith("[other]\nx = 1")
    with pytest.raises(ValueError, match="not a setting"):
        write_config({"no_such_setting": 1}, toml)


# ---------------------------------------------------------------- the command


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, fake_embedder, tmp_path: Path, corpus: Path):  # type: ignore[no-untyped-def]
    toml = tmp_path / "advisor.toml"
    toml.write_text("# Settings of this test\nchunk_size = 400  # small fixture documents\nchunk_overlap = 80\nrefusal_threshold = 0.2\nrefusal_floor = 0.1\n")
    monkeypatch.setenv("ADVISOR_CONFIG", str(toml))
    runner = CliRunner()
    paths = ["--corpus", str(corpus), "--index", str(tmp_path / "idx")]

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, [*args, *paths], catch_exceptions=False, obj={"embedder": fake_embedder})

    assert run("index").exit_code == 0
    return run


def test_calibrate_prints_current_and_proposed_and_writes_only_when_asked(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qfile = _write(tmp_path / "q.yaml", QUESTIONS)
    toml = tmp_path / "advisor.toml"
    before = toml.read_text()
    res = cli("calibrate", "--questions", str(qfile))
    assert res.exit_code == 0, res.output
    assert "7 questions" in res.output and "5 to answer, 2 to refuse" in res.output
    assert "current " in res.output and "proposed " in res.output and "refusal P" in res.output
    assert toml.read_text() == before
    data = json.loads(cli("calibrate", "--questions", str(qfile), "--json").stdout)
    assert set(data) >= {"questions", "current", "proposed", "changed", "evidence", "grid", "notes", "written"}
    assert data["current"]["rule"] == {"refusal_threshold": 0.2, "refusal_floor": 0.1, "refusal_keyword_coverage": 0.25}
    assert data["written"] is None
    lo, hi = data["grid"]["similarity_range"]
    assert lo <= data["proposed"]["rule"]["refusal_threshold"] <= hi  # from the fake embedder's own scale
    res = cli("calibrate", "--questions", str(qfile), "--write")
    assert res.exit_code == 0 and "Written to" in res.output
    text = toml.read_text()
    assert text.startswith("# Settings of this test\nchunk_size = 400  # small fixture documents\n")
    written = load_settings()
    assert written.refusal_threshold == data["proposed"]["rule"]["refusal_threshold"]
    assert written.refusal_floor == data["proposed"]["rule"]["refusal_floor"]


def test_calibrate_says_so_when_builtin_offtopic_questions_are_used(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qfile = _write(tmp_path / "q.yaml", QUESTIONS[:4])
    res = cli("calibrate", "--questions", str(qfile))
    assert res.exit_code == 0
    assert "(built-in off-topic questions)" in res.output
    assert "built-in off-topic questions (Dutch and English" in res.output


def test_calibrate_names_a_bad_file_plainly(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("calibrate", "--questions", str(tmp_path / "missing.yaml"))
    assert res.exit_code == 2 and "does not exist" in res.output
    bad = _write(tmp_path / "bad.yaml", [{"id": "x", "question": "Hoe?"}])
    res = cli("calibrate", "--questions", str(bad))
    assert res.exit_code == 2 and "bad.yaml" in res.output and "language" in res.output
    assert str(tmp_path) not in res.output.replace(str(tmp_path / "missing.yaml"), "")
    broken = tmp_path / "broken.yaml"
    broken.write_text("- id: x\n  question: Hoe?\n  language: nl\n  history: [Wie, wanneer en hoe vaak?]\n  kind: followup\n")
    res = cli("calibrate", "--questions", str(broken))
    assert res.exit_code == 2 and "broken.yaml: not valid YAML at line 4" in res.output and "Traceback" not in res.output


def test_calibrate_warns_when_the_environment_overrides_the_file(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ADVISOR_REFUSAL_THRESHOLD", str(FAKE_EMBEDDER_SETTINGS["refusal_threshold"]))
    res = cli("calibrate", "--questions", str(_write(tmp_path / "q.yaml", QUESTIONS)))
    assert "ADVISOR_REFUSAL_THRESHOLD set in the environment" in res.output


def test_the_glossary_proposed_is_the_one_retrieval_does_best_with_else_the_current() -> None:
    from advisor.tools.calibrate import GlossaryFigures, choose_glossary

    def g(name: str, r5: float, mrr: float, p: float = 1.0) -> GlossaryFigures:
        return GlossaryFigures(name, r5, mrr, None, p, 1.0)

    assert choose_glossary([g("builtin", 0.80, 0.70), g("corpus", 0.90, 0.60), g("none", 0.70, 0.60)]) == "corpus"
    assert choose_glossary([g("builtin", 0.80, 0.70), g("corpus", 0.80, 0.75), g("none", 0.80, 0.70)]) == "corpus"  # MRR decides a tie
    assert choose_glossary([g("none", 0.80, 0.70), g("builtin", 0.80, 0.70, p=0.9)]) == "none"  # as good is no reason to change
    assert choose_glossary([g("mine.txt", 0.8, 0.7)]) == "mine.txt"


def test_calibration_tries_each_glossary_on_the_same_index_and_reports_its_figures(indexed: Advisor, tmp_path: Path) -> None:
    from advisor.tools.calibrate import choose_glossary, glossary_figures, run_calibration

    questions, _ = questions_for(_write(tmp_path / "q.yaml", QUESTIONS))

    def with_glossary(name: str) -> Advisor:
        return Advisor(indexed.settings.model_copy(update={"glossary": name}), indexed.embedder)

    cal = run_calibration(indexed, questions, with_glossary=with_glossary)
    assert [g.glossary for g in cal.glossaries] == ["builtin", "corpus", "none"]
    none = with_glossary("none")
    assert cal.glossaries[2] == glossary_figures("none", collect(none, questions), decider(none), Rule.of(indexed.settings))
    assert cal.glossary == choose_glossary(cal.glossaries)
    assert ("glossary" in cal.values()) == (cal.glossary != "builtin")
    data = cal.to_json()["glossary"]
    assert data["current"] == "builtin" and data["proposed"] == cal.glossary and len(data["tried"]) == 3
    # without a way to make the other advisors, only the current glossary is weighed
    assert [g.glossary for g in run_calibration(indexed, questions).glossaries] == ["builtin"]


def test_the_desk_shows_the_glossaries_and_applies_a_proposed_one_with_the_rule() -> None:
    from advisor.web.maintenance import calibration_html, proposal

    rule = {"refusal_threshold": 0.85, "refusal_floor": 0.82, "refusal_keyword_coverage": 0.25}
    tried = [
        {"glossary": "builtin", "recall_at_5": 0.6, "mrr": 0.5, "cross_language_recall_at_5": 0.3, "refusal_precision": 1.0, "refusal_recall": 0.9},
        {"glossary": "corpus", "recall_at_5": 0.9, "mrr": 0.7, "cross_language_recall_at_5": 0.8, "refusal_precision": 1.0, "refusal_recall": 0.9},
    ]
    result = {"questions": {"file": "q.yaml"}, "current": {"rule": rule}, "proposed": {"rule": rule},
              "glossary": {"current": "builtin", "proposed": "corpus", "tried": tried}}
    assert proposal(result) == {**rule, "glossary": "corpus"}
    shown = calibration_html(result, "en")
    assert "cross-language recall@5" in shown and "<td>corpus</td>" in shown and 'Proposed: glossary = &quot;corpus&quot;' in shown
    assert "Voorgesteld: glossary" in calibration_html(result, "nl")
    kept = {**result, "glossary": {"current": "builtin", "proposed": "builtin", "tried": tried}}
    assert proposal(kept) is None and "does best or as well" in calibration_html(kept, "en")


def test_the_maintainer_sees_the_corpus_chance_level_and_how_far_it_moves_the_rule(indexed: Advisor, tmp_path: Path) -> None:
    from advisor.tools.calibrate import format_text, run_calibration
    from advisor.web.maintenance import calibration_html

    questions, _ = questions_for(_write(tmp_path / "q.yaml", QUESTIONS))
    searcher = indexed.reader.searcher()
    chance = searcher.language_stats.chance
    assert set(chance) == {"nl", "en"}
    # the rule set at a chance level above this corpus's Dutch one, for this model: weighed by the share of
    # the corpus in English, the rule moves by 0.02
    other_share = 1 - searcher.counts["nl"] / sum(searcher.counts.values())
    assert 0 < other_share < 1
    moved = Advisor(
        indexed.settings.model_copy(update={"refusal_chance_reference_nl": chance["nl"] + 0.02 / other_share, "refusal_chance_model": indexed.embedder.name, "refusal_chance_weight": 1.0}),
        indexed.embedder,
    )
    cal = run_calibration(moved, questions)
    assert cal.index["chance"] == {lang: round(v, 4) for lang, v in chance.items()}
    assert cal.index["chance_shift"]["nl"] == pytest.approx(-0.02, abs=1e-4)
    report = format_text(cal)
    assert f"nl {chance['nl']:.3f} (+0.020 to every similarity the rule judges)" in report
    shown = calibration_html(cal.to_json(), "en")
    assert "Chance level" in shown and f"nl {chance['nl']:.3f} (+0.020)" in shown
    assert "Toevalsniveau" in calibration_html(cal.to_json(), "nl")
    # with the rule's own model unknown to this build's embedder, nothing moves and nothing is claimed
    plain = run_calibration(indexed, questions)
    assert plain.index["chance_shift"] == {} and "to every similarity" not in format_text(plain)


def test_a_rule_that_wins_one_question_is_not_proposed_and_the_maintainer_is_told() -> None:
    """One off-topic question near the answerable ones: a higher threshold refuses it, and also one
    answerable question below it (as many right as before), or at best one more right; neither
    moves the rule. Two questions' gain does."""
    current = Rule(0.85, 0.84, 0.25)
    one = _evidence([(0.90, True), (0.91, True), (0.92, True), (0.86, False), (0.70, False), (0.72, False)])
    cal = calibrate_evidence(one, _decide_with_coverage(), current)
    assert cal.proposed == current and cal.changed == []
    note = next(n for n in cal.notes if n.code == "small_gain")
    assert note.values["gain"] == 1 and note.values["threshold"] > 0.86
    two = _evidence([(0.90, True), (0.91, True), (0.92, True), (0.86, False), (0.865, False), (0.70, False)])
    cal = calibrate_evidence(two, _decide_with_coverage(), current)
    assert cal.proposed != current and cal.proposed.threshold > 0.865
    assert not any(n.code == "small_gain" for n in cal.notes)


def test_the_desk_words_the_small_gain_note_in_both_languages() -> None:
    from advisor.web.i18n import text

    values = {"gain": 1, "min": 2, "threshold": 0.87, "floor": 0.86, "coverage": 0.2}
    assert "+1" in text("calib_note_small_gain", "en", **values) and "0.8700" in text("calib_note_small_gain", "en", **values)
    assert "huidige regel blijft" in text("calib_note_small_gain", "nl", **values)
