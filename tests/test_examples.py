"""The example questions file (examples/questions.yaml) is valid, true to the corpus, and runs as documented."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from advisor.cli import main
from advisor.evaluate import load_questions, normalise_point

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "questions.yaml"


def test_the_example_file_has_ten_questions_of_every_kind_true_to_the_corpus() -> None:
    questions = load_questions(EXAMPLE)
    assert len(questions) == 10
    assert {q.language for q in questions} == {"nl", "en"}
    assert {q.kind for q in questions} == {"answerable", "cross", "followup", "refusal"}
    assert sum(q.kind == "refusal" for q in questions) == 2
    for q in questions:
        if q.answerable:
            assert q.expected and q.key_points, q.id
        for source in q.expected:
            text = normalise_point((ROOT / "corpus" / source).read_text(encoding="utf-8"))
            for point in q.key_points:
                assert normalise_point(point) in text, (q.id, point)  # key points are verbatim corpus sentences


def test_the_example_file_runs_through_advisor_eval(tmp_path: Path, fake_embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ADVISOR_REFUSAL_THRESHOLD", "0.2")
    monkeypatch.setenv("ADVISOR_REFUSAL_FLOOR", "0.1")
    runner = CliRunner()
    paths = ["--corpus", str(ROOT / "corpus"), "--index", str(tmp_path / "idx")]

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, [*args, *paths], catch_exceptions=False, obj={"embedder": fake_embedder})

    assert run("index").exit_code == 0
    res = run("eval", "--questions", str(EXAMPLE), "--limit", "3", "--json", "--report-dir", str(tmp_path / "reports"))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["metrics"]["questions"] == 3
    assert {"recall@5", "mrr", "key_point_recall"} <= set(data["metrics"])
    assert list((tmp_path / "reports").glob("eval-*.json"))
