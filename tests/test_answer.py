from __future__ import annotations

import re

import numpy as np
import pytest

from advisor.answer.compose import compose
from advisor.answer.conversation import condense, is_follow_up, question_language
from advisor.answer.service import Advisor
from advisor.core.settings import Settings
from advisor.core.types import Chunk, Hit
from advisor.index.build import build_index


@pytest.fixture
def advisor(settings: Settings, fake_embedder) -> Advisor:  # type: ignore[no-untyped-def]
    build_index(settings, fake_embedder)
    return Advisor(settings, fake_embedder)


def test_dutch_question_gets_cited_points_from_the_right_document(advisor: Advisor) -> None:
    ans = advisor.answer("Hoe groeit vertrouwen tussen partners?")
    assert not ans.refused
    assert ans.language == "nl"
    assert ans.citations and ans.citations[0].source == "vertrouwen.md"
    assert ans.citations[0].section == "Hoe vertrouwen groeit"
    assert ans.text.startswith("Dit zeggen de bronnen")


def test_every_point_quotes_its_cited_passage_and_citations_point_only_at_retrieved_passages(advisor: Advisor) -> None:
    for q in ["Hoe groeit vertrouwen tussen partners?", "Why do short messages beat thick reports?", "Wat doet een ketenregisseur?"]:
        ans = advisor.answer(q)
        retrieved = {h.chunk.id for h in advisor.retrieve(ans.retrieval_query)}
        by_n = {c.n: c for c in ans.citations}
        assert [c.n for c in ans.citations] == list(range(1, len(ans.citations) + 1))
        for c in ans.citations:
            assert c.chunk_id in retrieved
        for p in ans.points:
            for n in p.citations:
                assert p.text in by_n[n].text
        numbers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)}
        assert numbers == set(by_n)


def test_out_of_corpus_question_is_refused_with_nearest_topics(advisor: Advisor) -> None:
    ans = advisor.answer("Welke pizza smaakt het best met ananas en ham?")
    assert ans.refused
    assert ans.citations == ()
    assert "behandelt deze vraag niet" in ans.text
    en = advisor.answer("What is the best pizza topping with pineapple?")
    assert en.refused and en.language == "en" and "does not cover" in en.text


def test_refusal_threshold_is_what_decides(advisor: Advisor, settings: Settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    strict = Advisor(settings.model_copy(update={"refusal_threshold": 0.999}), fake_embedder)
    assert strict.answer("Hoe groeit vertrouwen tussen partners?").refused


def test_english_question_is_answered_in_an_english_frame(advisor: Advisor) -> None:
    ans = advisor.answer("Why does a shared goal matter for an alliance?")
    assert ans.language == "en"
    assert ans.text.startswith("Here is what the sources")
    assert ans.citations[0].source == "shared-goal.md"


def test_follow_up_uses_the_previous_question() -> None:
    history = [{"role": "user", "content": "Hoe groeit vertrouwen tussen partners?"}, {"role": "assistant", "content": "..."}]
    assert is_follow_up("En wat schaadt het?")
    assert condense("En wat schaadt het?", history) == "Hoe groeit vertrouwen tussen partners? En wat schaadt het?"
    long_q = "Welke governancevorm past bij een netwerk met twintig deelnemers en weinig onderling vertrouwen?"
    assert condense(long_q, history) == long_q
    assert question_language("And why?", ["How does trust grow?"]) == "en"


def test_follow_up_in_the_chain_retrieves_from_context(advisor: Advisor) -> None:
    ans = advisor.answer("En wat schaadt het?", ["Hoe groeit vertrouwen tussen partners?"])
    assert not ans.refused
    assert ans.citations[0].source == "vertrouwen.md"


def test_stream_yields_growing_text_and_ends_with_the_answer(advisor: Advisor) -> None:
    parts = list(advisor.stream("Hoe groeit vertrouwen tussen partners?"))
    texts = [t for t, _ in parts]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:]))
    assert parts[-1][1] is not None and parts[-1][0] == parts[-1][1].text
    assert len(parts) >= 3


def test_compose_is_deterministic_on_hand_made_hits() -> None:
    chunk = Chunk("c1", "a.md", "A", "nl", "S", None, 0, "Vertrouwen groeit door afspraken na te komen. Openheid over belangen helpt daarbij ook.")
    vecs = {
        "q": np.array([1.0, 0.0], np.float32),
        "Vertrouwen groeit door afspraken na te komen.": np.array([0.9, 0.436], np.float32),
        "Openheid over belangen helpt daarbij ook.": np.array([0.0, 1.0], np.float32),
    }
    ans = compose(
        "Hoe groeit vertrouwen?", "nl", vecs["q"], [Hit(chunk, 1.0, dense_similarity=0.9)],
        lambda ts: np.stack([vecs[t] for t in ts]), refusal_threshold=0.5, sentence_threshold=0.5,
    )
    assert [p.text for p in ans.points] == ["Vertrouwen groeit door afspraken na te komen."]
    assert ans.citations[0].highlights == ("Vertrouwen groeit door afspraken na te komen.",)
    refused = compose("x", "en", vecs["q"], [Hit(chunk, 1.0, dense_similarity=0.4)], lambda ts: np.zeros((len(ts), 2)), refusal_threshold=0.5, sentence_threshold=0.5)
    assert refused.refused and refused.suggestions == ("A: S",)


def test_retriever_is_a_langchain_retriever(advisor: Advisor) -> None:
    from langchain_core.retrievers import BaseRetriever

    from advisor.retrieve.search import make_retriever

    retriever = make_retriever(advisor.reader)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("netwerkadministratieorganisatie grote netwerken")
    assert docs[0].metadata["source"] == "governance.pdf"
    assert docs[0].metadata["page"] == 3


def test_keyword_side_counts_only_where_it_really_matches(advisor: Advisor, settings: Settings) -> None:
    searcher = advisor.reader.searcher()
    hits = searcher.keyword("netwerkadministratieorganisatie", 5)
    assert hits and hits[0][2] == pytest.approx(1.0)
    weak = searcher.keyword("partners pizza ananas ham olijven", 5)
    assert all(cov < settings.keyword_min_coverage for _, _, cov in weak)


def test_reader_follows_a_new_build(advisor: Advisor, settings: Settings, fake_embedder, corpus) -> None:  # type: ignore[no-untyped-def]
    first = advisor.reader.searcher().build_id
    (corpus / "nieuw.md").write_text("# Exit\n\n## Uitstappen\n\nEen goede exitregeling beschrijft hoe partners de alliantie beëindigen en bezittingen verdelen.\n")
    build_index(settings, fake_embedder)
    ans = advisor.answer("Hoe regel je de exit en het verdelen van bezittingen?")
    assert advisor.reader.searcher().build_id != first
    assert ans.citations[0].source == "nieuw.md"
