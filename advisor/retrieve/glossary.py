"""A Dutch-English glossary of the domain, for cross-language keyword matching.

BM25 finds nothing for an English question on a Dutch passage. Each question word is matched
together with its translations (dictionary-based cross-language retrieval), so "escalation"
also matches "escalatie". Single words only; both directions.

Which glossary is a setting (`Settings.glossary`): the one shipped for this domain (`builtin`,
beside this module), a maintainer's own file in the same format for another domain, `corpus`
(derived from the indexed corpus by the embedding model: `CorpusGlossary`), or `none`. Its effect
each way is measured in docs/eval/README.md.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from threading import Lock

import numpy as np

from advisor.core.text import detect_query_language, fold, plain_words, stemmer, stopwords
from advisor.index.lexicon import MIN_LETTERS  # a question word is matched as the build's words were chosen

GLOSSARY_FILE = "glossary.txt"  # beside this module: English word, Dutch word; pairs separated by ';'
BUILTIN = "builtin"
NONE = "none"
CORPUS = "corpus"


class GlossaryError(ValueError):
    """A glossary file that cannot be used; the message names the file and the reason."""


def parse_pairs(text: str, name: str = GLOSSARY_FILE) -> tuple[tuple[str, str], ...]:
    """The (English, Dutch) pairs of a glossary text: '#' starts a comment line, pairs of two
    words are separated by ';'. A pair that is not two words is an error naming the file."""

    body = " ".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    out = []
    for n, pair in enumerate(body.split(";"), start=1):
        words = [fold(w) for w in pair.lower().split()]
        if not words:
            continue
        if len(words) != 2:
            raise GlossaryError(f"{name}: pair {n} ({pair.strip()[:60]!r}) is not an English word and a Dutch word")
        out.append((words[0], words[1]))  # "partner partner" too: a word both languages share, a compound's part
    return tuple(out)


@dataclass(frozen=True)
class Glossary:
    """English-Dutch word pairs, and what retrieval does with them."""

    pairs: tuple[tuple[str, str], ...] = ()
    name: str = NONE

    @cached_property
    def translations(self) -> dict[str, frozenset[str]]:
        """word -> its translations (lower case), both directions."""
        out: dict[str, set[str]] = {}
        for en, nl in self.pairs:
            out.setdefault(en, set()).add(nl)
            out.setdefault(nl, set()).add(en)
        return {k: frozenset(v) for k, v in out.items()}

    @cached_property
    def by_stem(self) -> dict[str, dict[str, frozenset[str]]]:
        """language -> stem of a word of that language (Snowball) -> the word's translations."""
        out: dict[str, dict[str, set[str]]] = {"en": {}, "nl": {}}
        for en, nl in self.pairs:
            out["en"].setdefault(stemmer("en").stemWord(en), set()).add(nl)
            out["nl"].setdefault(stemmer("nl").stemWord(nl), set()).add(en)
        return {lang: {k: frozenset(v) for k, v in d.items()} for lang, d in out.items()}

    def compound_parts(self, word: str) -> frozenset[str]:
        """The translations of a Dutch compound's parts when the compound has no entry of its own
        ("partnerkeuze": partner, choice, selection; "kennisdeling": knowledge, sharing): split
        where both parts have four letters or more and the head (or both) has an entry, the longest
        head first, a linking "s" or "e" before the head allowed ("onderhandelingspositie":
        negotiation, position). Empty when no head has an entry ("escalatieladder": the glossary
        has no "ladder")."""
        table = self.translations
        if word in table or len(word) < 8:
            return frozenset()
        by_stem, stem = self.by_stem["nl"], stemmer("nl").stemWord
        found = lambda part: table.get(part) or by_stem.get(stem(part), frozenset())  # noqa: E731
        for cut in range(len(word) - 4, 3, -1):  # the longest head first
            head, modifier = word[cut:], word[:cut]
            if not found(head):
                continue
            for m in (modifier, modifier[:-1] if modifier[-1:] in ("s", "e") else modifier):
                if len(m) >= 4 and found(m):
                    return frozenset(found(m) | found(head))
            return frozenset(found(head))
        return frozenset()

    def query_terms(self, text: str) -> list[tuple[str, ...]]:
        """A question may be in either language: each distinct word with its Dutch and English
        stems, and the stems of its translations in the glossary (a compound's by its parts)."""

        stop = stopwords()["nl"] | stopwords()["en"]
        plain = list(dict.fromkeys(plain_words(text, stop)))
        table = self.translations
        groups: dict[tuple[str, ...], None] = {}
        for word in plain:
            forms = [word, *sorted(table.get(word, ()) or self.compound_parts(word))]
            stems = dict.fromkeys(stem for lang in ("nl", "en") for stem in stemmer(lang).stemWords(forms))  # type: ignore[arg-type]
            groups.setdefault(tuple(stems), None)
        return list(groups)

    def expansion(self, text: str) -> str:
        """The question followed by the glossary translations of its words, for the dense query.

        multilingual-e5-small places an English question nearer English passages than the Dutch
        passage that answers it; appending the translations of its words ("trust" -> "vertrouwen")
        moves the query vector toward the other language, as the glossary already does for BM25. A
        word without an entry of its own is looked up by its stem in the question's language, so
        inflections ("partnerships", "conflicten") find their entry too. Costs nothing at query
        time: the expanded text is embedded instead of the question.
        """

        if not self.pairs:
            return text
        table = self.translations
        lang = detect_query_language(text, default="nl")
        by_stem = self.by_stem[lang]
        stem = stemmer(lang).stemWord
        plain = list(dict.fromkeys(plain_words(text, stopwords()["nl"] | stopwords()["en"])))
        added: dict[str, None] = {}
        for word in plain:
            found = table.get(word) or by_stem.get(stem(word), frozenset()) or (self.compound_parts(word) if lang == "nl" else frozenset())
            for t in sorted(found):
                if t not in plain:
                    added.setdefault(t, None)
        return f"{text} {' '.join(added)}" if added else text


def load_glossary(spec: str) -> Glossary:
    """The glossary a setting names: `builtin` (this domain's, shipped beside this module),
    `none`, or the path of a maintainer's own file (relative to the working folder; read again
    when it changes). A missing or malformed file is a `GlossaryError` naming it."""

    spec = (spec or BUILTIN).strip()
    if spec.lower() == NONE:
        return Glossary((), NONE)
    if spec.lower() == BUILTIN:
        return _builtin()
    path = Path(spec)
    shown = path.name if path.is_absolute() else spec  # never an absolute server path
    try:
        stamp = path.resolve().stat().st_mtime_ns
    except OSError:
        raise GlossaryError(f"{shown}: glossary file not found (set glossary to 'builtin', 'corpus', 'none' or a file)") from None
    return _from_file(str(path.resolve()), stamp, shown)


@lru_cache(maxsize=1)
def _builtin() -> Glossary:
    text = (resources.files("advisor.retrieve") / GLOSSARY_FILE).read_text(encoding="utf-8")
    return Glossary(parse_pairs(text), BUILTIN)


@lru_cache(maxsize=8)
def _from_file(path: str, stamp: int, shown: str) -> Glossary:  # noqa: ARG001 - `stamp` keys the cache: an edited file is read again
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise GlossaryError(f"{shown}: glossary file cannot be read as UTF-8 text ({type(e).__name__})") from None
    return Glossary(parse_pairs(text, shown), shown)


class CorpusGlossary:
    """A glossary the corpus itself gives: each word of a question is matched to the nearest of the
    corpus's frequent words in the other language (`advisor.index.lexicon`, embedded at build
    time), and taken as its translation when their cosine similarity is at least `threshold`.

    Words are embedded alone, as passages, on both sides. multilingual-e5-small puts a word and its
    translation close ("stereotypes"/"stereotypen" 0.96, "bigger"/"groter" 0.94) and unrelated
    words of the other language lower (0.88-0.92); the threshold and its measurement are in
    docs/eval/README.md. Needs no word list, so it serves a maintainer's corpus on any domain;
    costs one embedding call for the question's words (they are cached).
    """

    CACHE_WORDS = 20000
    CACHE_TEXTS = 256

    def __init__(
        self,
        lexicon: dict[str, tuple[Sequence[str], np.ndarray]],
        embed_words: Callable[[list[str]], np.ndarray],
        threshold: float,
    ) -> None:
        self.lexicon = {lang: (list(words), np.asarray(vecs, dtype=np.float32)) for lang, (words, vecs) in lexicon.items() if len(words)}
        self.embed_words = embed_words
        self.threshold = threshold
        self.name = CORPUS
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._per_text: OrderedDict[str, Glossary] = OrderedDict()
        self._lock = Lock()

    def _word_vectors(self, words: list[str]) -> np.ndarray:
        with self._lock:
            known = {w: self._vectors[w] for w in words if w in self._vectors}
        missing = [w for w in words if w not in known]
        if missing:
            fresh = np.asarray(self.embed_words(missing), dtype=np.float32)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > self.CACHE_WORDS:
                    self._vectors.popitem(last=False)
        return np.stack([known[w] for w in words])

    def pairs_for(self, text: str) -> tuple[tuple[str, str], ...]:
        """(English, Dutch) pairs for the words of `text`: each word with its nearest word of the
        other language when that is close enough and not the same word."""
        lang = detect_query_language(text, default="nl")
        other = "en" if lang == "nl" else "nl"
        if other not in self.lexicon:
            return ()
        vocab, matrix = self.lexicon[other]
        words = [w for w in dict.fromkeys(plain_words(text, stopwords()["nl"] | stopwords()["en"])) if len(w) >= MIN_LETTERS]
        if not words:
            return ()
        sims = self._word_vectors(words) @ matrix.T
        out = []
        for i, word in enumerate(words):
            j = int(np.argmax(sims[i]))
            if sims[i, j] >= self.threshold and vocab[j] != word:
                out.append((word, vocab[j]) if lang == "en" else (vocab[j], word))
        return tuple(out)

    def glossary_for(self, text: str) -> Glossary:
        """The question's own glossary (kept for the last questions: retrieval asks twice)."""
        with self._lock:
            got = self._per_text.get(text)
        if got is None:
            got = Glossary(self.pairs_for(text), CORPUS)
            with self._lock:
                self._per_text[text] = got
                while len(self._per_text) > self.CACHE_TEXTS:
                    self._per_text.popitem(last=False)
        return got

    def query_terms(self, text: str) -> list[tuple[str, ...]]:
        return self.glossary_for(text).query_terms(text)

    def expansion(self, text: str) -> str:
        return self.glossary_for(text).expansion(text)


def check_glossary(spec: str) -> None:
    """Raise `GlossaryError` when the setting names a glossary file that is missing or malformed."""
    if (spec or BUILTIN).strip().lower() != CORPUS:
        load_glossary(spec)


def query_terms(text: str, glossary: Glossary | None = None) -> list[tuple[str, ...]]:
    """`Glossary.query_terms` with the given glossary (the shipped one when None)."""
    return (glossary or _builtin()).query_terms(text)


def glossary_expansion(text: str, glossary: Glossary | None = None) -> str:
    """`Glossary.expansion` with the given glossary (the shipped one when None)."""
    return (glossary or _builtin()).expansion(text)
