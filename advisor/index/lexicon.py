"""The corpus's own words, embedded: what a corpus-derived glossary translates into.

A maintainer's corpus on another domain has no glossary, and without one an English question
finds a Dutch passage by the dense side alone (measured in docs/eval/README.md: recall@5 of the
cross-language questions 0.65 without a glossary, 0.83 with the shipped one). The build keeps each
language's frequent words with their vectors; at query time a question word is matched to the
nearest word of the other language (`advisor.retrieve.glossary.CorpusGlossary`), so "stereotypes"
finds "stereotypen" and "bigger" finds "groter" in whatever corpus is indexed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from advisor.core.text import plain_words, stopwords
from advisor.core.types import Chunk

MIN_COUNT = 2  # a word that occurs once is seldom what a question asks about
MIN_LETTERS = 4  # shorter words are mostly function words the stopword lists miss
MAX_WORDS = 8000  # per language, the most frequent: bounds the build's cost on a large corpus


def vocabulary(chunks: Sequence[Chunk]) -> dict[str, list[str]]:
    """language -> its frequent content words in the chunks, most frequent first."""
    counts: dict[str, Counter[str]] = {}
    stop = stopwords()
    for chunk in chunks:
        words = plain_words(chunk.embed_text, stop.get(chunk.language, frozenset()))  # with its title and headings
        counts.setdefault(chunk.language, Counter()).update(w for w in words if len(w) >= MIN_LETTERS)
    return {
        lang: [w for w, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) if n >= MIN_COUNT][:MAX_WORDS]
        for lang, c in sorted(counts.items())
    }
