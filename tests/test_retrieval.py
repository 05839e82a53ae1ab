"""Dense ranking with language centring: one collection per language, merged exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.index.layout import builds_dir, current_build_id
from advisor.retrieve.search import Searcher

QUESTIONS = [
    "Hoe bouw je vertrouwen op tussen partners?",
    "Why does a shared goal matter for independent organisations?",
    "Which governance form suits a large network?",
    "Wat doet een ketenregisseur met informatie over de client?",
    "How do thick reports compare with short messages?",
    "escalatieprocedure conflict niveaus termijn",
]


def _exact(searcher: Searcher, qvec: np.ndarray) -> list[float]:
    """Brute force over every stored vector: similarity minus the chunk language's offset, per chunk."""
    by_id: dict[str, np.ndarray] = {}
    for col in searcher.collections.values():
        got = col.get(include=["embeddings"])
        by_id.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32), strict=True))
    s = searcher.settings
    scores = [
        float(by_id[c.id] @ qvec) - searcher.language_stats.offset(qvec, c.language, s.language_centring)
        for c in searcher.chunks
    ]
    return scores


def test_dense_ranking_equals_exact_centred_search_over_both_languages(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    searcher = Searcher(settings, current_build_id(Path(settings.index_dir)) or "", fake_embedder)
    assert sorted(searcher.language_stats.languages) == list(searcher.collections) == ["en", "nl"]
    assert sum(searcher.counts.values()) == len(searcher.chunks)
    for q in QUESTIONS:
        qvec = fake_embedder.embed_queries([q])[0]
        exact = _exact(searcher, qvec)
        best = sorted(exact, reverse=True)
        for k in (1, 4, 8):
            found = searcher.dense(qvec, k)
            # the k best scores (ties may come in either order), each the right score for its chunk
            assert [round(z, 5) for _, _, z in found] == [round(z, 5) for z in best[:k]], (q, k)
            assert all(z == pytest.approx(exact[i], abs=1e-5) for i, _, z in found)


def test_dense_hits_carry_the_raw_cosine_similarity(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    build = current_build_id(Path(settings.index_dir)) or ""
    searcher = Searcher(settings, build, fake_embedder)
    qvec = fake_embedder.embed_queries([QUESTIONS[0]])[0]
    for i, sim, score in searcher.dense(qvec, 5):
        expected = float(fake_embedder.embed_documents([searcher.chunks[i].embed_text])[0] @ qvec)
        assert sim == pytest.approx(expected, abs=1e-5)
        lang = searcher.chunks[i].language
        assert score == pytest.approx(sim - searcher.language_stats.offset(qvec, lang), abs=1e-6)
    assert (builds_dir(Path(settings.index_dir)) / build / "language_stats.npz").exists()
    stored = searcher.vectors([0, len(searcher.chunks) - 1])
    for i, v in stored.items():
        assert np.allclose(v, fake_embedder.embed_documents([searcher.chunks[i].embed_text])[0], atol=1e-6)


def test_a_build_of_an_older_layout_is_not_opened_and_serve_rebuilds_it(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    import json

    from advisor.retrieve.search import NoIndexError
    from advisor.services import build_services
    from advisor.web.app import ensure_index

    first = build_index(settings, fake_embedder)
    info_path = builds_dir(Path(settings.index_dir)) / first.build_id / "build.json"
    info = json.loads(info_path.read_text())
    info.pop("layout")
    info_path.write_text(json.dumps(info))
    with pytest.raises(NoIndexError, match="older version"):
        Searcher(settings, first.build_id, fake_embedder)
    ensure_index(build_services(settings, embedder=fake_embedder))  # the fake comes in through the root
    current = current_build_id(Path(settings.index_dir))
    assert current not in (None, first.build_id)


def test_hits_report_similarity_to_the_question_as_asked_when_the_search_text_is_expanded(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    from advisor.retrieve.glossary import glossary_expansion

    build_index(settings, fake_embedder)
    searcher = Searcher(settings, current_build_id(Path(settings.index_dir)) or "", fake_embedder)
    question = "How do partners build trust?"
    assert glossary_expansion(question) != question
    bare = fake_embedder.embed_queries([question])[0]
    hits = searcher.search(question, k=5, qvec=bare)
    assert hits
    for h in hits:
        stored = searcher.vectors([searcher.by_id[h.chunk.id]])[searcher.by_id[h.chunk.id]]
        assert h.dense_similarity == pytest.approx(float(stored @ bare), abs=1e-6)
    off = settings.model_copy(update={"dense_glossary_expansion": False})
    plain = Searcher(off, searcher.build_id, fake_embedder).search(question, k=5, qvec=bare)
    assert [h.chunk.id for h in plain] != [] and all(h.dense_similarity is not None for h in plain)


def test_a_glossary_changed_on_the_running_advisor_is_used_from_the_next_question(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    # the desk applies a calibration's glossary this way (Advisor.reconfigure), without reopening the index
    from advisor.answer.service import Advisor

    build_index(settings, fake_embedder)
    advisor = Advisor(settings, fake_embedder)
    question = "How do partners build trust?"
    assert "vertrouwen" in advisor.reader.searcher().search_text(question).split()
    advisor.reconfigure(glossary="none")
    assert advisor.reader.searcher().search_text(question) == question
    assert advisor.answer(question).retrieval_query == question
    advisor.reconfigure(glossary="builtin")
    assert "vertrouwen" in advisor.reader.searcher().search_text(question).split()


def test_probe_baseline_is_each_probes_best_similarity_with_its_language_gap() -> None:
    from advisor.index.build import probe_baseline

    # two-dimensional toy space: x is Dutch, y is English; a chunk of each language
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    means = {"nl": np.array([0.5, 0.0], np.float32), "en": np.array([0.0, 0.5], np.float32)}
    probes = np.array([[0.8, 0.6], [0.6, 0.8]], np.float32)
    best = probe_baseline(probes, vectors, ["nl", "en"], means)
    # probe 1 is nearer the Dutch mean (0.4 vs 0.3): the English chunk gets the gap 0.1, 0.6 + 0.1 < 0.8
    # probe 2 is nearer the English mean: the Dutch chunk gets 0.1, 0.6 + 0.1 < 0.8
    assert best == pytest.approx([0.8, 0.8])
    # nearer the Dutch mean by 0.25: the English chunk's 0.5 + 0.25 beats the Dutch chunk's 0.6
    skewed = probe_baseline(np.array([[0.6, 0.5]], np.float32), vectors, ["nl", "en"], {"nl": means["nl"], "en": np.array([0.0, 0.1], np.float32)})
    assert skewed == pytest.approx([0.75])
    assert probe_baseline(probes, vectors, ["nl", "en"], {}) == pytest.approx([0.8, 0.8])  # no means: the plain best


def test_the_refusal_rule_judges_a_passage_against_the_corpus_chance_similarity(settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    searcher = Searcher(settings, current_build_id(Path(settings.index_dir)) or "", fake_embedder)
    chance = searcher.language_stats.chance
    assert set(chance) == {"nl", "en"}  # every build measures its probe questions
    qvec = fake_embedder.embed_queries([QUESTIONS[0]])[0]
    lang = searcher.language_stats.own_language(qvec)
    assert lang in chance
    hit = searcher.search(QUESTIONS[0], qvec=qvec)[0]
    off = Searcher(settings.model_copy(update={"refusal_chance_baseline": False}), searcher.build_id, fake_embedder)
    plain = off.comparable_similarity(hit, qvec)
    # the chance level this corpus shows for the question's language, against the level the rule is set for,
    # weighed by the share of the corpus in other languages (this fixture holds both)
    other_share = 1 - searcher.counts[lang] / sum(searcher.counts.values())
    assert 0 < other_share < 1
    for reference in (chance[lang] - 0.05, chance[lang] + 0.05):
        field = f"refusal_chance_reference_{lang}"
        on = Searcher(settings.model_copy(update={field: reference, "refusal_chance_model": fake_embedder.name}), searcher.build_id, fake_embedder)
        moved = settings.refusal_chance_weight * other_share * (chance[lang] - reference)
        assert on.comparable_similarity(hit, qvec) == pytest.approx(plain - moved, abs=1e-6)
        whole = Searcher(settings.model_copy(update={field: reference, "refusal_chance_model": fake_embedder.name, "refusal_chance_weight": 1.0}),
                         searcher.build_id, fake_embedder)
        assert whole.comparable_similarity(hit, qvec) == pytest.approx(plain - other_share * (chance[lang] - reference), abs=1e-6)
        # levels measured with another model say nothing about this one's similarities
        other = Searcher(settings.model_copy(update={field: reference}), searcher.build_id, fake_embedder)
        assert other.comparable_similarity(hit, qvec) == pytest.approx(plain, abs=1e-6)


def test_the_chance_level_moves_the_rule_by_the_share_of_the_corpus_in_other_languages() -> None:
    from advisor.retrieve.search import chance_weight

    # a corpus with none of the question's language: the whole weight; all of it: nothing; between: in proportion
    assert chance_weight(0.75, {"nl": 71}, "en") == pytest.approx(0.75)
    assert chance_weight(0.75, {"nl": 71}, "nl") == 0.0
    assert chance_weight(0.75, {"nl": 300, "en": 100}, "en") == pytest.approx(0.5625)
    assert chance_weight(0.75, {"nl": 300, "en": 100}, "nl") == pytest.approx(0.1875)
    assert chance_weight(0.75, {}, "nl") == 0.0
