"""A small Dutch-English glossary of the domain, for cross-language keyword matching.

BM25 finds nothing for an English question on a Dutch passage. Each question word is matched
together with its translations (dictionary-based cross-language retrieval), so "escalation"
also matches "escalatie". Single words only; both directions; the domain's own vocabulary.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from advisor.core.text import detect_query_language, plain_words, stemmer, stopwords

GLOSSARY_FILE = "glossary.txt"  # beside this module: English word, Dutch word; pairs separated by ';'


@lru_cache(maxsize=1)
def _pairs() -> tuple[tuple[str, str], ...]:
    """The glossary's (English, Dutch) pairs, a word and its translation that differ."""
    text = (resources.files("advisor.retrieve") / GLOSSARY_FILE).read_text(encoding="utf-8")
    body = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    out = []
    for pair in body.split(";"):
        words = pair.split()
        if len(words) == 2 and words[0] != words[1]:
            out.append((words[0], words[1]))
    return tuple(out)


@lru_cache(maxsize=1)
def translations() -> dict[str, frozenset[str]]:
    """word -> its translations (lower case), both directions."""
    out: dict[str, set[str]] = {}
    for en, nl in _pairs():
        out.setdefault(en, set()).add(nl)
        out.setdefault(nl, set()).add(en)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def translations_by_stem() -> dict[str, dict[str, frozenset[str]]]:
    """language -> stem of a word of that language (Snowball) -> the word's translations."""

    out: dict[str, dict[str, set[str]]] = {"en": {}, "nl": {}}
    for en, nl in _pairs():
        out["en"].setdefault(stemmer("en").stemWord(en), set()).add(nl)
        out["nl"].setdefault(stemmer("nl").stemWord(nl), set()).add(en)
    return {lang: {k: frozenset(v) for k, v in d.items()} for lang, d in out.items()}


def query_terms(text: str) -> list[tuple[str, ...]]:
    """A question may be in either language: each distinct word with its Dutch and English stems,
    and the stems of its translations in the domain glossary (`advisor.retrieve.glossary`)."""

    stop = stopwords()["nl"] | stopwords()["en"]
    plain = list(dict.fromkeys(plain_words(text, stop)))
    table = translations()
    groups: dict[tuple[str, ...], None] = {}
    for word in plain:
        forms = [word, *sorted(table.get(word, ()))]
        stems = dict.fromkeys(stem for lang in ("nl", "en") for stem in stemmer(lang).stemWords(forms))  # type: ignore[arg-type]
        groups.setdefault(tuple(stems), None)
    return list(groups)


def glossary_expansion(text: str) -> str:
    """The question followed by the glossary translations of its words, for the dense query.

    multilingual-e5-small places an English question nearer English passages than the Dutch
    passage that answers it; appending the domain translations of its words ("trust" ->
    "vertrouwen") moves the query vector toward the other language, as the glossary already does
    for BM25. A word without an entry of its own is looked up by its stem in the question's
    language, so inflections ("partnerships", "conflicten") find their entry too. Costs nothing
    at query time: the expanded text is embedded instead of the question.
    """

    table = translations()
    lang = detect_query_language(text, default="nl")
    by_stem = translations_by_stem()[lang]
    stem = stemmer(lang).stemWord
    plain = list(dict.fromkeys(plain_words(text, stopwords()["nl"] | stopwords()["en"])))
    added: dict[str, None] = {}
    for word in plain:
        found = table.get(word) or by_stem.get(stem(word), frozenset())
        for t in sorted(found):
            if t not in plain:
                added.setdefault(t, None)
    return f"{text} {' '.join(added)}" if added else text
