"""The transfer harness (advisor/tools/transfer.py): its splits, its question selection, and a whole run on the
fixture corpus with the fake embedder (the real run is `scripts/transfer_eval.py`, report in docs/eval/transfer.md)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from advisor.core.settings import Settings
from advisor.evaluate import Outcome, Question
from advisor.tools.transfer import by_hash, format_markdown, half_of, questions_on, run_transfer, summary
from tests.chroma_server import free_port

GOLD = [
    {"id": "t-nl", "question": "Hoe groeit vertrouwen tussen partners?", "language": "nl", "expected": ["vertrouwen.md"]},
    {"id": "t-en", "question": "How does trust grow between partners?", "language": "en", "kind": "cross", "expected": ["vertrouwen.md"]},
    {"id": "g-en", "question": "Why does a shared goal matter?", "language": "en", "expected": ["shared-goal.md"]},
    {"id": "g-nl", "question": "Waarom is een gedeeld doel belangrijk?", "language": "nl", "kind": "cross", "expected": ["shared-goal.md"]},
    {"id": "k-nl", "question": "Wat doet een ketenregisseur?", "language": "nl", "expected": ["keten.html", "shared-goal.md"]},
    {"id": "r-1", "question": "What pizza goes with pineapple?", "language": "en", "kind": "refusal"},
    {"id": "r-2", "question": "Hoe lang kook ik een ei?", "language": "nl", "kind": "refusal"},
]


def test_halves_follow_the_sha256_of_the_name() -> None:
    for name in ("partnerkeuze.md", "team-of-teams.md", "a-r1"):
        assert half_of(name) == int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2
    names = ["b.md", "a.md", "c.md"]
    assert by_hash(names) == sorted(names, key=lambda n: hashlib.sha256(n.encode()).hexdigest())


def test_questions_are_drawn_by_document_with_their_expected_documents_narrowed() -> None:
    gold = [Question(q["id"], q["question"], q["language"], q.get("kind", "answerable"), tuple(q.get("expected", ()))) for q in GOLD]
    picked = questions_on(gold, ["keten.html", "vertrouwen.md"])
    assert [q.id for q in picked] == ["t-nl", "t-en", "k-nl"]
    assert picked[-1].expected == ("keten.html",)
    assert [q.id for q in questions_on(gold, ["vertrouwen.md"], ("en",))] == ["t-en"]


def test_summary_counts_answered_recall_at_three_and_offtopic_refusals() -> None:
    def q(i: str, lang: str, kind: str = "answerable", doc: str | None = "nl") -> Question:
        return Question(i, "?", lang, kind, ("a.md",) if kind != "refusal" else (), doc_language=doc if kind != "refusal" else None)

    outcomes = [
        Outcome(q("1", "nl"), ["a.md"], False, "nl", [], 0.0),
        Outcome(q("2", "en"), ["b.md", "c.md", "d.md", "a.md"], False, "en", [], 0.0),
        Outcome(q("3", "en"), ["a.md"], True, "en", [], 0.0),
        Outcome(q("4", "en", "refusal"), [], True, "en", [], 0.0),
    ]
    s = summary(outcomes)
    assert s["all"]["answered"] == 2 / 3 and s["all"]["recall@3"] == 2 / 3 and s["all"]["recall@3_answered"] == 1 / 3
    assert s["all"]["offtopic_refused"] == 1.0 and s["all"]["refusal_precision"] == 0.5 and s["all"]["refusal_recall"] == 1.0
    assert s["cross_language"]["answerable"] == 2 and s["cross_language"]["answered"] == 0.5
    assert s["question_nl"]["refusal_precision"] is None  # no Dutch question to refuse: no refusal figures


def test_a_whole_run_on_the_fixture_corpus_writes_every_case(settings: Settings, fake_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qfile = tmp_path / "gold.yaml"
    qfile.write_text(yaml.safe_dump(GOLD, allow_unicode=True))
    steps: list[str] = []
    result = run_transfer(settings, qfile, steps.append, tmp_path, embedder=fake_embedder)
    assert result["corpus"]["documents"] == 5
    ldo = result["leave_documents_out"]
    assert sum(h["documents"] for h in ldo["halves"].values()) == 5
    assert {(r["calibrated_on"], r["tested_on"]) for r in ldo["results"]} == {("default", "A"), ("default", "B"), ("A", "B"), ("B", "A")}
    names = [c["name"] for c in result["small"]]
    assert names[-3:] == ["five-nl", "english-only", "dutch-only-en-questions"] and "one-en-1" in names
    assert result["spot_check"]["refusals_that_differ"] == []
    text = format_markdown(result)
    assert "## Leave documents out" in text and "## Small and one-language corpora" in text and "one English document: shared-goal.md" in text
    assert not list(tmp_path.glob("advisor-transfer-*"))  # the temporary sub-corpora are gone


def test_the_sub_corpora_are_built_in_folders_even_when_a_chroma_server_is_configured(settings: Settings, fake_embedder, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Nothing listens on this port: a build that went to the server would fail; the deployment's
    # current build must never move to a throwaway sub-corpus.
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ADVISOR_CHROMA_SERVER_URL", dead)
    qfile = tmp_path / "gold.yaml"
    qfile.write_text(yaml.safe_dump(GOLD, allow_unicode=True))
    result = run_transfer(settings.model_copy(update={"chroma_server_url": dead}), qfile, lambda _: None, tmp_path, embedder=fake_embedder)
    assert result["corpus"]["documents"] == 5 and result["small"]
