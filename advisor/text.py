"""Pure text functions shared by loaders, chunking, BM25 and the answer composer."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from advisor.types import Language

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
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
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
            candidate = block[start : m.start()].strip()
            last = candidate.rsplit(" ", 1)[-1].rstrip(".").lower()
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
            if candidate:
                out.append(candidate)
            start = m.end()
        tail = block[start:].strip()
        if tail:
            out.append(tail)
    return out


@lru_cache(maxsize=2)
def _stemmer(language: Language):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("dutch" if language == "nl" else "english")


@lru_cache(maxsize=1)
def _stopwords() -> dict[str, frozenset[str]]:
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    extra_en = "how do does did what which who whom why when where can could should would we our us i my me you your about".split()
    extra_nl = "hoe wat welke wie waarom wanneer waar kan kunnen moet moeten zou zouden wij we onze ons ik mijn jij je jullie".split()
    return {"nl": frozenset(STOPWORDS_DUTCH) | frozenset(extra_nl), "en": frozenset(STOPWORDS_EN) | frozenset(extra_en)}


def _plain_words(text: str, stop: frozenset[str]) -> list[str]:
    toks = (part for w in words(text) for part in re.split(r"['’-]", w))
    return [w for w in toks if len(w) > 1 and w not in stop]


def keyword_terms(text: str, language: Language) -> list[str]:
    """BM25 terms: lower-cased words without stopwords, Snowball-stemmed in the text's language."""
    return list(_stemmer(language).stemWords(_plain_words(text, _stopwords()[language])))


def query_terms(text: str) -> list[tuple[str, ...]]:
    """A question may be in either language: each distinct word with its Dutch and English stems,
    and the stems of its translations in the domain glossary (`advisor.glossary`)."""
    from advisor.glossary import translations

    stop = _stopwords()["nl"] | _stopwords()["en"]
    plain = list(dict.fromkeys(_plain_words(text, stop)))
    table = translations()
    groups: dict[tuple[str, ...], None] = {}
    for word in plain:
        forms = [word, *sorted(table.get(word, ()))]
        stems = dict.fromkeys(stem for lang in ("nl", "en") for stem in _stemmer(lang).stemWords(forms))  # type: ignore[arg-type]
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
    from advisor.glossary import translations, translations_by_stem

    table = translations()
    lang = detect_language(text, default="nl")
    by_stem = translations_by_stem()[lang]
    stem = _stemmer(lang).stemWord
    plain = list(dict.fromkeys(_plain_words(text, _stopwords()["nl"] | _stopwords()["en"])))
    added: dict[str, None] = {}
    for word in plain:
        found = table.get(word) or by_stem.get(stem(word), frozenset())
        for t in sorted(found):
            if t not in plain:
                added.setdefault(t, None)
    return f"{text} {' '.join(added)}" if added else text


_INSTRUCTION = re.compile(
    r"(?ix)"
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(instructions?|prompts?|rules|directions|guidelines)\b"
    r"|\b(negeer|vergeet|omzeil)\b[^.!?\n]{0,40}\b(instructies?|opdrachten|regels|prompts?)\b"
    r"|\bsystem\s*prompt\b|\bsysteemprompt\b"
    r"|\b(you\s+are\s+now|from\s+now\s+on\s+you|act\s+as\s+(an?\s+)?(ai|assistant|chatbot))\b"
    r"|\b(jij\s+bent\s+nu|je\s+bent\s+nu\s+een|vanaf\s+nu\s+ben\s+je)\b"
    r"|<\|im_(start|end)\|>|\[/?INST\]|\#\#\#\s*(instruction|system)\b"
)
REDACTED = "[removed: text addressed to an AI system]"


def redact_instructions(text: str) -> tuple[str, int]:
    """Document text is data: sentences that address an AI system are replaced, never indexed.

    Returns the text and how many sentences were replaced.
    """
    if not _INSTRUCTION.search(text):
        return text, 0
    count = 0
    lines = []
    for line in text.split("\n"):
        if _INSTRUCTION.search(line):
            parts = []
            for sentence in split_sentences(line) or [line]:
                if _INSTRUCTION.search(sentence):
                    count += 1
                    parts.append(REDACTED)
                else:
                    parts.append(sentence)
            line = " ".join(parts)
        lines.append(line)
    return "\n".join(lines), count
