"""The typed boundaries between pipeline stages.

Every stage hands the next one frozen dataclasses, so a stage can be tested alone and no stage
reaches into another's storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Language = Literal["nl", "en"]


@dataclass(frozen=True)
class Piece:
    """A run of text that shares one section and one page within a document."""

    text: str
    section: str = ""
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """A loaded source file: its pieces in reading order and what we know about it."""

    source: str  # path relative to the corpus root, with forward slashes
    title: str
    language: Language
    pieces: tuple[Piece, ...]
    format: str  # pdf, md, txt, html, docx
    sha256: str = ""


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage with everything a citation needs."""

    id: str
    source: str
    title: str
    language: Language
    section: str
    page: int | None
    position: int
    text: str
    role: str = ""  # what the chunk's section is for (advisor.ingest.structure.ROLES)
    overlap: int = 0  # leading characters of `text` that repeat the end of the section's previous chunk

    @property
    def section_key(self) -> tuple[str, str]:
        """The section this chunk belongs to: (source, section path)."""
        return (self.source, self.section)

    @property
    def fresh_text(self) -> str:
        """The chunk's text without the overlap: a section's chunks' fresh texts, joined by newlines, are the section."""
        return self.text[self.overlap :].lstrip("\n")

    @property
    def embed_text(self) -> str:
        """Text given to the embedder and to BM25: title and section add context the passage lacks."""
        head = f"{self.title} - {self.section}" if self.section else self.title
        return f"{head}\n{self.text}"


@dataclass(frozen=True)
class Hit:
    """A chunk found by retrieval with the scores that put it there."""

    chunk: Chunk
    score: float  # fused score (higher is better)
    dense_similarity: float | None = None  # cosine similarity to the query, when dense found it
    dense_rank: int | None = None
    keyword_rank: int | None = None
    keyword_coverage: float = 0.0  # share of the query's term weight this chunk matches (BM25)


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage and where it lives."""

    n: int
    source: str
    title: str
    section: str
    page: int | None
    text: str
    chunk_id: str = ""
    highlights: tuple[str, ...] = ()  # sentences of the passage that support the answer

    @classmethod
    def from_hit(cls, n: int, hit: Hit, highlights: Sequence[str] = ()) -> Citation:
        """Citation number `n` for a retrieved passage, with the sentences that support the answer."""
        c = hit.chunk
        return cls(n, c.source, c.title, c.section, c.page, c.text, c.id, tuple(highlights))

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "page": self.page,
            "text": self.text,
            "chunk_id": self.chunk_id,
            "highlights": list(self.highlights),
        }


@dataclass(frozen=True)
class AnswerPoint:
    """One point of an answer and the citations that back it.

    Extractive points are verbatim: a sentence, or a list item or step with its name (and, where it
    needs it, its lead-in) joined. `role` and `section` say which unit of which section it came from;
    `language` is the language of the quoted text.
    """

    text: str
    citations: tuple[int, ...]
    supported: bool = True
    role: str = ""
    section: str = ""
    language: str = ""
    kind: str = ""  # step, item, sentence (extractive); empty for a model's sentence
    lead: str = ""  # the lead-in the answer shows before this list item (verbatim, same passage)

    @property
    def standalone_text(self) -> str:
        """The point as a reader meets it: with the lead-in it depends on, where it has one."""
        return f"{self.lead} {self.text}" if self.lead else self.text


@dataclass(frozen=True)
class Answer:
    """What the advisor says, in the language of the question, and what it rests on."""

    question: str
    language: Language
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    points: tuple[AnswerPoint, ...] = ()
    suggestions: tuple[str, ...] = ()  # nearest covered topics, for a refusal
    backend: str = "extractive"
    retrieval_query: str = ""
    notice: str = ""
    lead: str = ""  # the sentence that frames the points (extractive answers)
    intent: str = ""  # what the question asked for (advisor.retrieve.intent)
    uncovered: tuple[str, ...] = ()  # key terms of the question that no passage names

    def to_json(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "language": self.language,
            "citations": [c.to_json() for c in self.citations],
            "suggestions": list(self.suggestions),
            "points": [
                {
                    "text": p.text,
                    "citations": list(p.citations),
                    "supported": p.supported,
                    "role": p.role,
                    "section": p.section,
                    "language": p.language,
                    "kind": p.kind,
                    "lead": p.lead,
                }
                for p in self.points
            ],
            "backend": self.backend,
            "notice": self.notice,
            "lead": self.lead,
            "intent": self.intent,
            "uncovered": list(self.uncovered),
        }
