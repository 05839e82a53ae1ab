"""Taxes and rates are exact facts (issue #12: near-topic questions on things the corpus never
names are refused or answered with an explicit "not covered" note).

A specific tax or rate ("corporate tax rate", "withholding tax", "vennootschapsbelasting") is a key
term of its own: a passage that names the kind in passing ("the preferred structure ... is taxed
unfavourably", "success rates") does not cover it, nor does the kind's word in the other language.
Before this, the shipped corpus's one mention of "taxed" let five such questions through with no
note; the gold set's payroll-tax question was answered (refusal recall 0.943 -> 0.971).
"""

from __future__ import annotations

from typing import Any

import pytest

from advisor.answer.compose import key_terms, uncovered_terms
from advisor.core.types import Chunk, Hit
from tests.conftest import index_shipped_documents


def _hit(text: str, language: str = "en") -> Hit:
    return Hit(Chunk("c1", "a.md", "A", language, "S", None, 0, text), 1.0, dense_similarity=0.9)


def test_a_tax_or_rate_keeps_the_word_that_says_which() -> None:
    assert key_terms("What is the corporate tax rate for a joint venture in the Netherlands?") == ["corporate tax rate"]
    assert key_terms("Which withholding tax applies to dividends from a joint venture?") == ["withholding tax"]
    assert key_terms("What tax rate applies to profits of an alliance?") == ["tax rate"]
    # Dutch names them in one word; a question word or a generic one says nothing about which
    assert key_terms("Hoeveel vennootschapsbelasting betaalt een joint venture?") == ["vennootschapsbelasting"]
    assert key_terms("What is the current rate?") == ["rate"]
    # "how much" asks for an amount of the kind: a term of its own, as the question words it
    assert key_terms("How much tax does a joint venture pay?") == ["How much tax"]
    assert key_terms("Hoeveel belasting betaalt een joint venture?") == ["Hoeveel belasting"]
    assert key_terms("How much time does a joint venture take?") == []
    # other kinds are unchanged: an authority is covered by its kind in the other language
    assert key_terms("How do you lead a network without any formal authority?") == ["authority"]


def test_a_passing_mention_of_the_kind_does_not_cover_a_specific_tax_or_rate() -> None:
    passing = _hit("Check whether the preferred structure is allowed or is taxed unfavourably.")
    for q, term in (
        ("What is the corporate tax rate for a joint venture?", "corporate tax rate"),
        ("Which withholding tax applies to dividends from a joint venture?", "withholding tax"),
        ("Hoeveel vennootschapsbelasting betaalt een joint venture?", "vennootschapsbelasting"),
        ("Wat is het belastingtarief voor een joint venture?", "belastingtarief"),
    ):
        assert uncovered_terms(q, [passing]) == [term], q
    # a passage that names the specific one covers it, inflected or hyphenated
    assert uncovered_terms("What is the corporate tax rate for a joint venture?", [_hit("Corporate tax rates differ by country.")]) == []
    assert uncovered_terms("What success rates do alliances have?", [_hit("Companies with an alliance function report higher success rates.")]) == []
    assert uncovered_terms("Which withholding tax applies?", [_hit("A withholding-tax of 15% applies.")]) == []
    # an amount is covered only by a sentence that gives the kind with a figure, not by a list number
    assert uncovered_terms("How much tax does a joint venture pay?", [passing]) == ["How much tax"]
    assert uncovered_terms("How much tax does a joint venture pay?", [_hit("7. Tax law. Taxes differ by country.")]) == ["How much tax"]
    assert uncovered_terms("How much tax does a joint venture pay?", [_hit("A joint venture pays corporate tax of 25% on its profit.")]) == []
    assert uncovered_terms("Hoeveel belasting betaalt een joint venture?", [_hit("De belasting bedraagt 19 procent.", "nl")]) == []


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # the shipped guide that says, once, that a structure may be "taxed unfavourably"
    return index_shipped_documents(tmp_path_factory, "exact-terms", ["international-alliances-practical-guide.pdf", "organisatieontwerp-voor-samenwerking.pdf"])


@pytest.mark.integration
def test_the_corpus_knows_a_phrase_only_where_its_words_stand_together(services: Any) -> None:
    searcher = services.advisor.reader.searcher()
    assert searcher.knows("tax") and searcher.knows("joint venture") and searcher.knows("joint ventures")
    assert not searcher.knows("venture joint")  # both words are in the corpus, never in this order
    assert not searcher.knows("corporate tax")


@pytest.mark.integration
@pytest.mark.parametrize(
    "question, term",
    [
        ("What is the corporate tax rate for a joint venture in the Netherlands?", "corporate tax rate"),
        ("Which withholding tax applies to dividends from a joint venture?", "withholding tax"),
        ("Wat is het belastingtarief voor een joint venture?", "belastingtarief"),
    ],
)
def test_a_tax_rate_question_is_refused_or_noted_on_shipped_documents(services: Any, question: str, term: str) -> None:
    ans = services.advisor.answer(question)
    assert ans.refused or term in ans.uncovered, ans.text
    if not ans.refused:
        assert f"noemen {term} niet" in ans.text or f"do not mention {term}" in ans.text, ans.text


@pytest.mark.integration
@pytest.mark.parametrize("question, kind", [("How much tax does a joint venture pay?", "tax"), ("Hoeveel belasting betaalt een joint venture?", "belasting")])
def test_an_amount_the_sources_give_no_figure_for_is_refused_or_noted(services: Any, question: str, kind: str) -> None:
    # the shipped guide names "taxed" once, in passing: no figure, so no answer on the amount
    ans = services.advisor.answer(question)
    assert ans.refused or ans.uncovered, ans.text
    assert f"geen cijfer voor {kind}" in ans.text or f"no figure for {kind}" in ans.text, ans.text
