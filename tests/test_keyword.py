"""BM25 against the textbook formula, computed naively here, on chunks small enough to check."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from advisor.core.text import keyword_terms
from advisor.core.types import Chunk
from advisor.index.keyword import BM25Index
from advisor.retrieve.glossary import query_terms

WORDS = "vertrouwen partner alliantie keten conflict escalatie stuurgroep besluit doel netwerk regie trust goal board".split()


def _chunks(n: int, seed: int = 7) -> list[Chunk]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25)))
        lang = "en" if i % 3 == 0 else "nl"  # stemmed two ways: one word, two stems in the index
        out.append(Chunk(id=f"c{i}", source=f"d{i % 7}.md", title="T", language=lang, section="", page=None, position=i, text=text))
    return out


def _reference(chunks: list[Chunk], query: str, k1: float = 1.2, b: float = 0.75) -> list[tuple[int, float, float]]:
    docs = [keyword_terms(c.embed_text, c.language) for c in chunks]
    n, avg = len(docs), sum(map(len, docs)) / len(docs)

    def idf(t: str) -> float:
        df = sum(1 for d in docs if t in d)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    groups = query_terms(query)
    terms = list(dict.fromkeys(t for g in groups for t in g if any(t in d for d in docs)))
    weights = [max((idf(t) for t in g if any(t in d for d in docs)), default=idf(g[0])) for g in groups]
    out = []
    for i, d in enumerate(docs):
        score = sum(idf(t) * d.count(t) * (k1 + 1) / (d.count(t) + k1 * (1 - b + b * len(d) / avg)) for t in terms if t in d)
        covered = sum(w for g, w in zip(groups, weights) if any(t in d for t in g))
        if score > 0:
            out.append((i, score, covered / sum(weights)))
    out.sort(key=lambda t: (-t[1], t[0]))
    return out


@pytest.mark.parametrize("query", ["vertrouwen tussen partners", "conflict escalatie in de stuurgroep", "trust board goal keten", "pizza"])
@pytest.mark.parametrize("k", [1, 5, 40, 500])
def test_bm25_scores_and_coverage_follow_the_formula(query: str, k: int) -> None:
    chunks = _chunks(300)
    index = BM25Index.build(chunks)
    expected = _reference(chunks, query)
    got = index.search(query_terms(query), k)
    assert len(got) == min(k, len(expected))
    for hit, (i, score, coverage) in zip(got, expected):
        assert hit.score == pytest.approx(score, rel=1e-4)
        assert hit.coverage == pytest.approx(coverage, rel=1e-6)
    # ties keep chunk order, so the ids match wherever the scores are distinct
    assert [round(h.score, 3) for h in got] == [round(s, 3) for _, s, _ in expected[: len(got)]]


def test_a_saved_index_searches_the_same(tmp_path) -> None:  # type: ignore[no-untyped-def]
    index = BM25Index.build(_chunks(120))
    index.save(tmp_path / "bm25.pkl")
    again = BM25Index.load(tmp_path / "bm25.pkl")
    assert again.search(query_terms("vertrouwen partner doel"), 10) == index.search(query_terms("vertrouwen partner doel"), 10)


def test_dense_query_gets_the_glossary_translations_of_its_words() -> None:
    from advisor.retrieve.glossary import glossary_expansion

    expanded = glossary_expansion("How do we build trust with the partner?")
    assert expanded.startswith("How do we build trust with the partner? ") and "vertrouwen" in expanded.split()
    assert glossary_expansion("Hoe bouwen we vertrouwen op?").endswith(" trust")
    # an inflected word finds its entry through its stem
    assert "samenwerking" in glossary_expansion("Why do partnerships fail?").split()
    # the stem is taken in the question's language: Dutch 'meet' (to measure) is no English 'meeting'
    dutch = glossary_expansion("Hoe meet je de gezondheid van een alliantie?").split()
    assert {"measure", "health", "alliance"} <= set(dutch) and "vergadering" not in dutch
    assert glossary_expansion("Wat is de beste pizza?") == "Wat is de beste pizza?"


def test_the_glossary_is_a_setting_builtin_none_or_a_maintainers_own_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from advisor.retrieve.glossary import GlossaryError, load_glossary

    builtin, none = load_glossary("builtin"), load_glossary("none")
    assert "vertrouwen" in builtin.expansion("How do we build trust?").split()
    assert none.expansion("How do we build trust?") == "How do we build trust?"
    assert all(len(group) <= 2 for group in none.query_terms("trust escalation"))  # the word's own stems only

    monkeypatch.chdir(tmp_path)
    (tmp_path / "terms.txt").write_text("# ours\nhandshake handdruk; harbour haven;\n", encoding="utf-8")
    own = load_glossary("terms.txt")
    assert own.expansion("Why does the handshake matter?").endswith(" handdruk")
    assert any("handdruk" in group for group in own.query_terms("handshake"))
    assert "vertrouwen" not in own.expansion("How do we build trust?")

    (tmp_path / "bad.txt").write_text("handshake handdruk; one two three;", encoding="utf-8")
    with pytest.raises(GlossaryError, match=r"^bad\.txt: pair 2 .*not an English word and a Dutch word"):
        load_glossary("bad.txt")
    with pytest.raises(GlossaryError, match=r"^missing\.txt: glossary file not found"):
        load_glossary("missing.txt")
    with pytest.raises(GlossaryError) as absolute:
        load_glossary(str(tmp_path / "gone.txt"))
    assert str(tmp_path) not in str(absolute.value) and str(absolute.value).startswith("gone.txt: ")


def test_a_corpus_glossary_translates_a_word_into_the_nearest_word_of_the_other_language() -> None:
    import numpy as np

    from advisor.retrieve.glossary import CorpusGlossary

    def unit(*v: float) -> np.ndarray:
        a = np.array(v, np.float32)
        return a / np.linalg.norm(a)

    dutch = ["vertrouwen", "gebouw", "stuurgroep"]
    lexicon = {"nl": (dutch, np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)]))}
    words = {"trust": unit(1, 0.2, 0), "building": unit(0.3, 1, 0.3), "stuurgroep": unit(0, 0, 1)}
    asked: list[list[str]] = []

    def embed(ws: list[str]) -> np.ndarray:
        asked.append(list(ws))
        return np.stack([words.get(w, unit(1, 1, 1)) for w in ws])

    g = CorpusGlossary(lexicon, embed, threshold=0.93)
    # cos(trust, vertrouwen) 0.98 is a translation; cos(building, gebouw) 0.92 is not; a word
    # the corpus has as it is needs none
    assert g.pairs_for("How do we build trust in the building, and what should the stuurgroep decide about it?") == (("trust", "vertrouwen"),)
    assert g.expansion("How do we build trust?") == "How do we build trust? vertrouwen"
    assert any("vertrouw" in group for group in g.query_terms("How do we build trust?"))
    n = len(asked)
    g.expansion("Trust, again: how do we build trust?")
    assert all("trust" not in batch for batch in asked[n:])  # a word is embedded once
    # a Dutch question has no English words to go to in a Dutch-only corpus
    assert g.pairs_for("Hoe bouwen we vertrouwen op?") == ()
    assert CorpusGlossary({}, embed, 0.93).expansion("How do we build trust?") == "How do we build trust?"


def test_coverage_within_reach_counts_only_the_words_a_language_can_match() -> None:
    """An English question on a Dutch passage: the words only English passages hold do not count
    against the Dutch one, its glossary-translated word does; a word no passage holds counts
    against the question's own language only, as plain coverage would."""
    chunks = [
        Chunk("en1", "a.md", "A", "en", "", None, 0, "Leverage in negotiations can squeeze a small partner."),
        Chunk("en2", "a.md", "A", "en", "", None, 1, "Board meetings need a clear agenda."),
        Chunk("nl1", "b.md", "B", "nl", "", None, 0, "Een onderhandeling die de partner uitknijpt, schaadt het vertrouwen."),
        Chunk("nl2", "b.md", "B", "nl", "", None, 1, "De stuurgroep vergadert elke maand."),
    ]
    bm = BM25Index.build(chunks)
    languages = np.array([c.language for c in chunks])
    groups = query_terms("leverage squeeze trust negotiations")  # "trust" -> "vertrouwen", "negotiations" -> "onderhandelingen"
    _, plain = bm.score_all(groups)
    within = bm.coverage_within_reach(groups, languages, "en")
    assert plain[2] < within[2] == pytest.approx(1.0)  # all that Dutch can match: trust, negotiations
    assert within[3] == 0.0
    # nor does "trust" count against the English passages: here only Dutch text holds it ("vertrouwen")
    assert plain[0] < within[0] == pytest.approx(1.0)
    # a word no passage holds counts against the question's language only
    unknown = query_terms("leverage squeeze trust pizza")
    en, nl = bm.coverage_within_reach(unknown, languages, "en"), bm.coverage_within_reach(unknown, languages, "nl")
    assert en[2] > nl[2] > 0 and en[0] < nl[0]


def test_words_match_with_or_without_their_diacritics() -> None:
    # People type "coordinatie" and "enquete" for "coördinatie" and "enquête"; the shipped glossary
    # wrote "enquete", so an English "survey" never matched the Dutch word the corpus has.
    from advisor.core.text import fold
    from advisor.retrieve.glossary import Glossary, parse_pairs

    assert fold("coördinatie") == "coordinatie" and fold("cliënt") == "client" and fold("enquête") == "enquete"
    assert fold("vertrouwen") == "vertrouwen"
    chunks = [
        Chunk(id="a", source="a.md", title="T", language="nl", section="", page=None, position=0, text="Een enquête onder medewerkers over de coördinatie."),
        Chunk(id="b", source="b.md", title="T", language="nl", section="", page=None, position=1, text="Het vertrouwen in de stuurgroep groeit."),
    ]
    index = BM25Index.build(chunks)
    for asked in ("enquete coordinatie", "enquête coördinatie", "survey coordination"):
        hits = index.search(query_terms(asked), 5)
        assert [h.index for h in hits] == [0] and hits[0].coverage == pytest.approx(1.0), asked
    # a maintainer's glossary may be written either way
    plain = Glossary(parse_pairs("survey enquete;"))
    assert [h.index for h in index.search(plain.query_terms("survey"), 5)] == [0]
    assert "enquete" in plain.expansion("How do we set up a survey?").split()


def test_a_dutch_compound_without_an_entry_is_translated_by_its_parts() -> None:
    from advisor.retrieve.glossary import Glossary, parse_pairs

    g = Glossary(parse_pairs("partner partner; choice keuze; negotiation onderhandeling; position positie; team team; leader leider;"))
    assert g.compound_parts("partnerkeuze") == {"partner", "choice"}
    assert g.compound_parts("onderhandelingspositie") == {"negotiation", "position"}  # with its linking "s"
    assert g.compound_parts("teamleider") == {"team", "leader"}
    assert g.compound_parts("keuze") == frozenset() and g.compound_parts("vergadertijden") == frozenset()
    assert {"partner", "choice"} <= set(g.expansion("Hoe pak je de partnerkeuze aan?").split())
    assert any("choic" in group and "partnerkeuz" in group for group in g.query_terms("partnerkeuze"))
    # an English question gets no Dutch splitting
    assert g.expansion("How do we handle partnerselection?") == "How do we handle partnerselection?"


def test_function_words_are_no_terms_in_either_language() -> None:
    # The same question in both languages searches its content words only: an English question's
    # "how should we ... more than the other" used to be searched (and matched any passage with "more").
    assert keyword_terms("How should we handle it when one partner contributes much more than the other?", "en") == [
        "handl", "one", "partner", "contribut", "much"
    ]
    assert keyword_terms("Hoe moeten we het aanpakken als de ene partner veel meer bijdraagt dan de andere?", "nl") == [
        "aanpak", "ene", "partner", "bijdraagt"
    ]
