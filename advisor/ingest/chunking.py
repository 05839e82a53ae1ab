"""Structure-aware chunking: sections and paragraphs first, then size with sentence overlap."""

from __future__ import annotations

import hashlib
import re

from advisor.core.text import split_sentences
from advisor.core.types import Chunk, Document, Piece


def chunk_id(source: str, text: str, position: int) -> str:
    """Stable id from (relative path, content hash, position): same input, same id, every run."""
    content = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return hashlib.sha256(f"{source}\0{content}\0{position}".encode()).hexdigest()[:32]


# Headings of a reference list. Its entries are bibliography, not advice: indexed, they match
# almost any question a little (names, years, title words) and crowd real passages out of the
# results. They stay in the document, and in the viewer; they are not retrievable passages.
_REFERENCE_HEADING = re.compile(
    r"^(bronnen|bronvermelding|geraadpleegde bronnen|gebruikte bronnen|literatuur|literatuurlijst|referenties"
    r"|verder lezen|references|sources|bibliography|further reading|works cited)\W*$",
    re.IGNORECASE,
)


def is_reference_section(section: str) -> bool:
    """True for a section that is a reference list (its own heading is 'Bronnen', 'References', ...)."""
    return bool(_REFERENCE_HEADING.match(section.rsplit(" > ", 1)[-1].strip()))


def _units(piece: Piece, size: int) -> list[str]:
    """Paragraphs (one per line), with any longer than `size` broken into its sentences."""
    units: list[str] = []
    for para in (p.strip() for p in piece.text.split("\n")):
        if not para:
            continue
        if len(para) <= size:
            units.append(para)
            continue
        for sentence in split_sentences(para):
            # a single sentence longer than a chunk (a run-on line) is cut at word boundaries
            while len(sentence) > size:
                cut = sentence.rfind(" ", 0, size)
                cut = cut if cut > size // 2 else size
                units.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            if sentence:
                units.append(sentence)
    return units


def _pack(units: list[str], size: int, overlap: int) -> list[str]:
    """Greedy packing of whole units; the next chunk starts with trailing sentences for context."""
    chunks: list[str] = []
    cur: list[str] = []
    cur_len = 0
    for unit in units:
        if cur and cur_len + len(unit) + 1 > size:
            chunks.append("\n".join(cur))
            tail: list[str] = []
            tail_len = 0
            for sentence in reversed(split_sentences(cur[-1])):
                if tail_len + len(sentence) > overlap:
                    break
                tail.insert(0, sentence)
                tail_len += len(sentence) + 1
            cur = [" ".join(tail)] if tail else []
            cur_len = tail_len
        cur.append(unit)
        cur_len += len(unit) + 1
    if cur:
        chunks.append("\n".join(cur))
    return chunks


def chunk_document(doc: Document, size: int = 900, overlap: int = 150) -> list[Chunk]:
    """Split a document into chunks that never cross a section or page boundary."""
    # Merge consecutive pieces that share section and page: loaders may emit several.
    groups: list[Piece] = []
    for piece in doc.pieces:
        if groups and groups[-1].section == piece.section and groups[-1].page == piece.page:
            last = groups[-1]
            groups[-1] = Piece(text=last.text + "\n" + piece.text, section=last.section, page=last.page)
        else:
            groups.append(piece)
    out: list[Chunk] = []
    seen: set[str] = set()
    for piece in groups:
        if is_reference_section(piece.section):
            continue
        for text in _pack(_units(piece, size), size, overlap):
            if len(text.strip()) < 3 or text in seen:  # a repeated passage adds nothing but noise
                continue
            seen.add(text)
            position = len(out)
            out.append(
                Chunk(
                    id=chunk_id(doc.source, text, position),
                    source=doc.source,
                    title=doc.title,
                    language=doc.language,
                    section=piece.section,
                    page=piece.page,
                    position=position,
                    text=text,
                )
            )
    return out
