"""Structure-aware chunking: sections and paragraphs first, then size with sentence overlap.

Every chunk knows its section's role (`advisor.ingest.structure`) and how much of its start repeats
the previous chunk, so that a section can be read back whole from its chunks.
"""

from __future__ import annotations

import hashlib
import re

from advisor.core.text import split_sentences
from advisor.core.types import Chunk, Document, Piece
from advisor.ingest.structure import parse_units, section_role


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


def _pack(units: list[str], size: int, overlap: int) -> list[tuple[str, int]]:
    """Greedy packing of whole units; the next chunk starts with trailing sentences for context.

    Returns (text, overlap): how many leading characters of the text repeat the previous chunk.
    """
    chunks: list[tuple[str, int]] = []
    cur: list[str] = []
    cur_len = 0
    repeated = 0
    for unit in units:
        if cur and cur_len + len(unit) + 1 > size:
            chunks.append(("\n".join(cur), repeated))
            tail: list[str] = []
            tail_len = 0
            for sentence in reversed(split_sentences(cur[-1])):
                if tail_len + len(sentence) > overlap:
                    break
                tail.insert(0, sentence)
                tail_len += len(sentence) + 1
            cur = [" ".join(tail)] if tail else []
            cur_len = tail_len
            repeated = len(cur[0]) if cur else 0
        cur.append(unit)
        cur_len += len(unit) + 1
    if cur:
        chunks.append(("\n".join(cur), repeated))
    return chunks


_SENTENCE_END = re.compile(r"[.!?…)\]\"'”’]\s*$")


def _mend_page_breaks(groups: list[Piece]) -> list[Piece]:
    """A sentence cut by a page break goes whole onto the page it starts on.

    A PDF page that ends mid-sentence is followed by a page that starts with its rest in lower
    case ("goede afspraken, maar ..."): that rest moves back, so no chunk starts inside a sentence.
    """
    out: list[Piece] = []
    for piece in groups:
        prev = out[-1] if out else None
        text = piece.text.lstrip()
        if (
            prev is not None
            and prev.section == piece.section
            and prev.page != piece.page
            and text[:1].islower()
            and not _SENTENCE_END.search(prev.text)
        ):
            line, _, rest = text.partition("\n")
            head = split_sentences(line)[0] if line else ""
            moved = line[: line.find(head) + len(head)] if head else line
            out[-1] = Piece(text=prev.text.rstrip() + " " + moved.strip(), section=prev.section, page=prev.page)
            remainder = (line[len(moved) :].strip() + "\n" + rest).strip()
            if remainder:
                out.append(Piece(text=remainder, section=piece.section, page=piece.page))
            continue
        out.append(piece)
    return out


def section_roles(doc: Document, groups: list[Piece]) -> dict[str, str]:
    """The role of each section of a document, from its heading and all its lines."""
    lines: dict[str, list[tuple[str, int | None]]] = {}
    for piece in groups:
        lines.setdefault(piece.section, []).extend((line, piece.page) for line in piece.text.split("\n"))
    roles: dict[str, str] = {}
    for i, (section, own) in enumerate(lines.items()):
        # The text before the first heading (or under the document's own title) is its opening.
        heading = "" if section.strip() == doc.title.strip() else section
        roles[section] = section_role(heading, parse_units(own), first=i == 0 and not heading)
    return roles


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
    groups = _mend_page_breaks(groups)
    roles = section_roles(doc, groups)
    out: list[Chunk] = []
    seen: set[str] = set()
    for piece in groups:
        if is_reference_section(piece.section):
            continue
        for text, repeated in _pack(_units(piece, size), size, overlap):
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
                    role=roles.get(piece.section, "background"),
                    overlap=repeated,
                )
            )
    return out
