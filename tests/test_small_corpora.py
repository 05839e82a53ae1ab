"""Small and one-language corpora as first-class cases (issue #13), with the real model and the default settings.

Copies of shipped documents in a temporary folder, indexed alone: one Dutch document, five Dutch
documents (the first by the sha256 of their name, as `scripts/transfer_eval.py` picks them), all
31 Dutch documents, all 16 English ones.
The questions are the gold set's questions on those documents; the questions to refuse are the gold
set's 35. The bar is the issue's: English questions on Dutch text (and Dutch questions on English
text) answered (not refused) and citing their document, and off-topic questions refused, each for
at least 0.85 of the fixture's questions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from advisor.answer.conversation import condense
from advisor.evaluate import Question, load_questions
from advisor.services import build_services
from tests.conftest import index_shipped_documents

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "eval" / "questions.yaml"
BAR = 0.85
ONE_DUTCH = ["organisatiecultuur-en-samenwerking.html"]
FIVE_DUTCH = [
    "organisatiecultuur-en-samenwerking.html",
    "ketenregie-in-de-zorg.pdf",
    "onderhandelen-over-een-alliantie.md",
    "nationale-cultuurmodellen-toegepast.md",
    "wij-zij-denken-en-stereotypen.md",
]


def _questions_on(documents: list[str], language: str) -> list[Question]:
    """The gold answerable questions in `language` on these documents, their expected documents narrowed to them."""
    out = []
    for q in load_questions(GOLD):
        expected = tuple(s for s in q.expected if s in documents)
        if q.answerable and expected and q.language == language:
            out.append(replace(q, expected=expected))
    return out


def _refusals() -> list[Question]:
    return [q for q in load_questions(GOLD) if not q.answerable]


def _corpus(tmp_path_factory: pytest.TempPathFactory, name: str, documents: list[str]) -> Iterator[Any]:
    yield index_shipped_documents(tmp_path_factory, name, documents).advisor

# Every Dutch document of the shipped corpus: the corpus a Dutch maintainer would have, asked in English.
DUTCH_ONLY = [
    "alliantiemanagement-als-vak.pdf", "besluitvaardigheid-in-de-stuurgroep.md", "conflict-en-escalatie.md",
    "cultuurverschillen-als-excuus.md", "de-achterban-meenemen.pdf", "de-levenscyclus-van-een-alliantie.pdf",
    "de-overloper-dynamiek.md", "de-stip-op-de-horizon.md", "de-sturende-en-verbindende-overheid.pdf",
    "exit-en-ontvlechting.md", "gezondheid-van-de-alliantie-meten.html", "governancevormen-in-netwerken.md",
    "horizontale-samenwerking-autonome-eenheden.docx", "kennis-en-intellectueel-eigendom-in-allianties.md",
    "kernboodschap-in-drie-zinnen.html", "ketenafhankelijkheid-en-samenwerking.md", "ketenregie-in-de-zorg.pdf",
    "klein-binnen-groot-netwerkorganisatie.md", "machtsstrijd-in-allianties.pdf", "nationale-cultuurmodellen-toegepast.md",
    "netwerkleiderschap.md", "onderhandelen-over-een-alliantie.md", "organisatiecultuur-en-samenwerking.html",
    "organisatieontwerp-voor-samenwerking.pdf", "partnerkeuze.md", "publiek-private-samenwerking-in-de-praktijk.md",
    "samenwerken-met-concurrenten.md", "sarcasme-en-cynisme-in-samenwerkingen.md", "vertrouwen-in-het-topteam.md",
    "waarom-allianties-mislukken.md", "wij-zij-denken-en-stereotypen.md",
]

# Every English document of the shipped corpus: the reverse case, asked in Dutch.
ENGLISH_ONLY = [
    "alliance-governance-structures.md", "contracts-versus-trust.md", "cross-cultural-alliances-done-well.md",
    "dedicated-alliance-function.html", "escalation-procedures-that-work.md", "international-alliances-practical-guide.pdf",
    "learning-from-alliance-experience.md", "managing-an-alliance-portfolio.md", "network-administrative-organisation.html",
    "ppp-infrastructure-lessons.md", "team-of-teams.md", "the-alliance-manager-role.md", "the-first-100-days.docx",
    "trust-and-respect-in-alliance-boards.pdf", "vicious-circles-between-partners.html", "when-a-partner-does-not-deliver.md",
]


@pytest.fixture(scope="module")
def one_dutch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _corpus(tmp_path_factory, "one-dutch", ONE_DUTCH)


@pytest.fixture(scope="module")
def dutch_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _corpus(tmp_path_factory, "dutch-only", DUTCH_ONLY)


@pytest.fixture(scope="module")
def english_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _corpus(tmp_path_factory, "english-only", ENGLISH_ONLY)


@pytest.fixture(scope="module")
def five_dutch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _corpus(tmp_path_factory, "five-dutch", FIVE_DUTCH)


def _answered_citing(advisor: Any, questions: list[Question]) -> tuple[float, list[str]]:
    """Share of the questions answered with a citation of an expected document, and the ids that were not
    (with what happened), so a failure reports its figures."""
    missed = []
    for q in questions:
        ans = advisor.answer(q.question, list(q.history))
        cited = {c.source for c in ans.citations}
        if ans.refused:
            missed.append(f"{q.id} refused")
        elif not cited & set(q.expected):
            missed.append(f"{q.id} cites {sorted(cited)}")
    return (len(questions) - len(missed)) / len(questions), missed


def _found_in_first(advisor: Any, questions: list[Question], k: int) -> tuple[float, list[str]]:
    """Share of the questions whose expected document is among the first `k` passages retrieved, and the ids that were not."""
    missed = [q.id for q in questions if not {h.chunk.source for h in advisor.retrieve(condense(q.question, list(q.history)))[:k]} & set(q.expected)]
    return (len(questions) - len(missed)) / len(questions), missed


def _refused_share(advisor: Any, questions: list[Question]) -> tuple[float, list[str]]:
    answered = [q.id for q in questions if not advisor.answer(q.question).refused]
    return (len(questions) - len(answered)) / len(questions), answered


@pytest.mark.parametrize("fixture", ["one_dutch", "five_dutch"])
def test_english_questions_on_dutch_text_are_answered_from_it(fixture: str, request: pytest.FixtureRequest) -> None:
    advisor = request.getfixturevalue(fixture)
    questions = _questions_on(ONE_DUTCH if fixture == "one_dutch" else FIVE_DUTCH, "en")
    assert questions
    share, missed = _answered_citing(advisor, questions)
    assert share >= BAR, f"{fixture}: {share:.2f} of {len(questions)} English questions answered from their document; missed: {missed}"


@pytest.mark.parametrize("fixture", ["one_dutch", "five_dutch"])
def test_dutch_questions_on_dutch_text_are_answered_from_it(fixture: str, request: pytest.FixtureRequest) -> None:
    advisor = request.getfixturevalue(fixture)
    questions = _questions_on(ONE_DUTCH if fixture == "one_dutch" else FIVE_DUTCH, "nl")
    share, missed = _answered_citing(advisor, questions)
    assert share >= BAR, f"{fixture}: {share:.2f} of {len(questions)} Dutch questions answered from their document; missed: {missed}"


@pytest.mark.parametrize("fixture", ["one_dutch", "five_dutch"])
def test_off_topic_questions_are_refused_on_a_small_corpus(fixture: str, request: pytest.FixtureRequest) -> None:
    advisor = request.getfixturevalue(fixture)
    share, answered = _refused_share(advisor, _refusals())
    assert share >= BAR, f"{fixture}: {share:.2f} of 35 off-topic questions refused; answered: {answered}"


def test_a_glossary_derived_from_the_corpus_bridges_the_languages_without_a_word_list(five_dutch: Any) -> None:
    # A maintainer's corpus on another domain has no glossary: settings.glossary = "corpus" takes the
    # translations from the indexed words themselves, with the real model (docs/eval/README.md).
    settings = five_dutch.settings
    corpus = build_services(settings.model_copy(update={"glossary": "corpus"})).advisor
    none = build_services(settings.model_copy(update={"glossary": "none"})).advisor
    question = "Where do stereotypes about the partner organisation come from?"
    added = corpus.reader.searcher().search_text(question)[len(question) :].split()
    assert "stereotypen" in added
    vocabulary = {w for c in corpus.reader.searcher().chunks if c.language == "nl" for w in c.embed_text.lower().split()}
    assert added and all(any(w in v for v in vocabulary) for w in added)  # only the corpus's own Dutch words
    assert none.reader.searcher().search_text(question) == question
    # Measured as the bar and the transfer harness measure it: the expected document among
    # the first three passages. (Which document the answer then starts from can differ on a
    # question: on e2-2 the corpus glossary brings the expected document second, and the answer
    # starts from the first; over the harness's 31 English questions on the Dutch documents the
    # corpus glossary answers 0.677 of them from the first three passages, against 0.548 without.)
    english = _questions_on(FIVE_DUTCH, "en")
    with_corpus, missed = _found_in_first(corpus, english, 3)
    without, _ = _found_in_first(none, english, 3)
    assert with_corpus >= without, f"corpus glossary {with_corpus:.2f} < none {without:.2f}; missed: {missed}"


@pytest.mark.parametrize(
    ("fixture", "documents", "language", "asked_in", "at_least"),
    [("dutch_only", DUTCH_ONLY, "nl", "en", 25), ("english_only", ENGLISH_ONLY, "en", "nl", 15)],
    ids=["english-questions-on-dutch-only", "dutch-questions-on-english-only"],
)
def test_questions_on_a_corpus_in_the_other_language_are_answered_from_the_first_passages(
    fixture: str, documents: list[str], language: str, asked_in: str, at_least: int, request: pytest.FixtureRequest
) -> None:
    """The issue's bar on a one-language corpus, both ways: English questions on the 31 Dutch
    documents, Dutch questions on the 16 English ones, answered (not refused) with their document
    among the first three passages; off-topic ones refused."""
    advisor = request.getfixturevalue(fixture)
    assert {h.chunk.language for h in advisor.retrieve("vertrouwen in het topteam")} == {language}
    questions = _questions_on(documents, asked_in)
    assert len(questions) >= at_least
    missed = []
    for q in questions:
        ans = advisor.answer(q.question, list(q.history))
        first = [h.chunk.source for h in advisor.retrieve(condense(q.question, list(q.history)))[:3]]
        if ans.refused or not set(first) & set(q.expected):
            missed.append(f"{q.id} {'refused' if ans.refused else first}")
    share = 1 - len(missed) / len(questions)
    assert share >= BAR, f"{share:.2f} of {len(questions)} {asked_in} questions answered with their document in the first three; missed: {missed}"
    refused, answered = _refused_share(advisor, _refusals())
    assert refused >= BAR, f"{refused:.2f} of 35 off-topic questions refused; answered: {answered}"
