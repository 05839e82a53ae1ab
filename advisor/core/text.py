"""Lexical helpers: cleaning, words, language, sentences, stems."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from advisor.core.stopwords import DUTCH as STOPWORDS_DUTCH
from advisor.core.stopwords import ENGLISH as STOPWORDS_EN
from advisor.core.types import Language

_NL_WORDS = frozenset(
    """de het een en van in is dat op te zijn met voor niet aan er die dit als ook bij of wat
    hoe wij we je jij u ze zij hun hebben heeft wordt worden kan kunnen moet moeten naar door
    over uit om tot nog maar dan wel geen meer zo al hier daar waar wanneer waarom welke ik
    mijn onze ons jullie samenwerking organisatie partners""".split()
)


_EN_WORDS = frozenset(
    """the a an and of in is that on to are with for not at there this as also by or what how
    we you they their have has be been can could must should from about out into than then
    well no more so all here where when why which i my our us your it its do does partner
    partners organisation organization collaboration""".split()
)


_LETTERS = r"[^\W\d_]+(?:['’-][^\W\d_]+)*"
_WORD = re.compile(_LETTERS, re.UNICODE)
WORD_OR_NUMBER = re.compile(_LETTERS + r"|\d+", re.UNICODE)  # a word as `words` reads it, or a number ("first 100 days")


_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def clean_text(text: str) -> str:
    """Normalise Unicode, drop zero-width and control characters, fold runs of spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def detect_language(text: str, default: Language = "nl") -> Language:
    """Dutch or English, by counting very common words: enough for a two-language product."""
    nl = en = 0
    for w in words(text[:20000]):
        nl += w in _NL_WORDS
        en += w in _EN_WORDS
    if nl == en:
        return default
    return "nl" if nl > en else "en"


# A question shorter than this many words is too short for counting common words; lingua's
# n-gram models tell Dutch from English even on two or three words ("trust top team").
_SHORT_WORDS = 25


@lru_cache(maxsize=1)
def _lingua() -> object:
    from lingua import Language as Lingua  # its models load on first use (~0.4 s), from its own wheel
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Lingua.DUTCH, Lingua.ENGLISH).build()


def detect_query_language(text: str, default: Language = "nl") -> Language:
    """Dutch or English for a question, however short: lingua (restricted to the two languages)
    for short text, the common-word count for longer text; `default` when neither can tell."""
    w = words(text)
    if not w:
        return default
    if len(w) >= _SHORT_WORDS:
        return detect_language(text, default)
    from lingua import Language as Lingua

    confidences = {c.language: c.value for c in _lingua().compute_language_confidence_values(text)}  # type: ignore[attr-defined]
    nl, en = confidences.get(Lingua.DUTCH, 0.0), confidences.get(Lingua.ENGLISH, 0.0)
    if abs(nl - en) < 0.05:
        return detect_language(text, default)
    return "nl" if nl > en else "en"


_ABBREVIATIONS = frozenset(
    """bijv bv o.a e.g i.e etc vs dr mr mrs ms prof nr ca zgn resp d.w.z m.a.w incl excl
    fig cf al jr sr st p pp""".split()
)


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9À-ÖØ-Þ])")


def split_sentences(text: str) -> list[str]:
    """Split into sentences; list items and lines that end without punctuation stand alone."""
    out: list[str] = []
    for block in re.split(r"\n+", text):
        block = block.strip()
        if not block:
            continue
        start = 0
        for m in _SENTENCE_END.finditer(block):
            # Only the last word decides, so look at a short window: slicing the whole candidate
            # at every abbreviation would make a run of them quadratic.
            window = block[max(start, m.start() - 64) : m.start()].strip()
            last = window.rsplit(" ", 1)[-1].rstrip(".").lower()
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
            candidate = block[start : m.start()].strip()
            if candidate:
                out.append(candidate)
            start = m.end()
        tail = block[start:].strip()
        if tail:
            out.append(tail)
    return out


@lru_cache(maxsize=2)
def stemmer(language: Language):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("dutch" if language == "nl" else "english")


@lru_cache(maxsize=1)
def stopwords() -> dict[str, frozenset[str]]:

    extra_en = "how do does did what which who whom why when where can could should would we our us i my me you your about".split()
    extra_nl = "hoe wat welke wie waarom wanneer waar kan kunnen moet moeten zou zouden wij we onze ons ik mijn jij je jullie".split()
    return {"nl": STOPWORDS_DUTCH | frozenset(extra_nl), "en": STOPWORDS_EN | frozenset(extra_en)}


def fold(word: str) -> str:
    """A word without its diacritics: "coördinatie" -> "coordinatie", "cliënt" -> "client". People
    type Dutch words both ways; keyword matching and the glossary compare words folded."""
    if word.isascii():
        return word
    return unicodedata.normalize("NFC", "".join(ch for ch in unicodedata.normalize("NFD", word) if not unicodedata.combining(ch)))


def plain_words(text: str, stop: frozenset[str]) -> list[str]:
    """A text's words in lower case and without diacritics (`fold`), less the stopwords."""
    toks = (fold(part) for w in words(text) for part in re.split(r"['’-]", w))
    return [w for w in toks if len(w) > 1 and w not in stop]


def phrase_pattern(term: str) -> re.Pattern[str]:
    """Where a term of several words stands in a lower-case text: its words together, each as
    written or inflected ("tax rates" for "tax rate", "rate" for "rates"), joined by spaces or
    hyphens ("withholding-tax")."""
    bases = []
    for w in term.lower().split():
        for suffix in ("en", "s"):
            if len(w) > 5 and w.endswith(suffix):
                w = w[: -len(suffix)]
                break
        bases.append(re.escape(w) + r"\w*")
    return re.compile(r"\b" + r"[\s-]+".join(bases))


def keyword_terms(text: str, language: Language) -> list[str]:
    """BM25 terms: lower-cased words without stopwords, Snowball-stemmed in the text's language."""
    return list(stemmer(language).stemWords(plain_words(text, stopwords()[language])))
