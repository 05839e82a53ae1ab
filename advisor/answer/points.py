"""The points an extractive answer can make: units of a section that stand alone.

Pure functions. A point is verbatim text of one chunk: a numbered step or a list item with its
name and first sentence, or a sentence of a paragraph (joined with the sentence before it where it
opens by referring back). Never a point: a question, a meta sentence about the text itself, a
heading, a lead-in, a fragment, or anything under six words. `defect` says which of those a text
is; the evaluation counts the same defects in answers (`advisor.evaluate`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from advisor.core.text import split_sentences
from advisor.core.types import Chunk
from advisor.ingest.redact import REDACTED
from advisor.ingest.structure import parse_units, refers_back, tells_a_case

MIN_WORDS = 6
MAX_POINT_CHARS = 360

_META = re.compile(
    r"^(dit|deze) (artikel|hoofdstuk|tekst|stuk|handreiking|notitie|paragraaf|gids|document)\b|^in dit (artikel|hoofdstuk|stuk)\b|"
    r"^hieronder\b|^(this|the present) (article|chapter|guide|text|paper|section|note|document)\b|^in this (article|chapter|guide|section)\b|"
    r"^below,? (we|you)\b|^in what follows\b",
    re.IGNORECASE,
)

# A sentence that ends on a clause about the text itself: "Juridische vragen horen bij een jurist;
# dit artikel gaat over de samenwerkingskant."
_META_CLAUSE = re.compile(
    r"[;:—–]\s+(dit|deze|this) (artikel|hoofdstuk|tekst|handreiking|gids|document|article|chapter|guide|text|paper)\b",
    re.IGNORECASE,
)

# A sentence in which the author states the section's lesson ("De belangrijkste les is om vroeg in te
# grijpen.", "Een praktische les: ...", "The lesson: start with service", "Kortom, ...").
_LESSON = re.compile(
    r"^(?:(?:de|een|the|a|zijn|haar|hun|his|her|their)\s+)?"
    r"(?:(?:belangrijkste|praktische|bruikbare|eerste|grootste|centrale|main|key|practical|useful|central|important)\s+)?"
    r"(?:les|lesson|vuistregel|rule of thumb|kern|kernboodschap|takeaway|moraal|conclusie|conclusion|boodschap|message)"
    r"(?:\s+(?:hier|here))?\s*(?::|\s(?:is|was)\b)"
    r"|^(?:kortom|in short|in sum|samengevat|the bottom line)\b",
    re.IGNORECASE,
)


def states_lesson(text: str) -> bool:
    """Does the sentence state its section's lesson, in the author's words? (`_LESSON`)"""
    return bool(_LESSON.match(text.strip()))


# A sentence that points the reader to another text: "Over het praktisch inrichten van een NAO gaat
# een apart artikel in deze kennisbank."
_META_ELSEWHERE = re.compile(
    r"\b(?:een apart|een ander|a separate|another) (?:artikel|hoofdstuk|article|chapter)\b|\b(?:deze|this) (?:kennisbank|knowledge base)\b",
    re.IGNORECASE,
)

# A sentence that announces what follows by its count, and says no more: "Een bruikbare stip voldoet
# aan een paar eisen.", "With the register in hand, four questions drive the discussion." Alone, it
# is a lead-in (a count after a preposition is content: "verdeeld over drie fasen").
_COUNT = r"(?:een paar|enkele|een aantal|twee|drie|vier|vijf|zes|zeven|a few|several|a number of|two|three|four|five|six|seven)"
_ANNOUNCES = re.compile(
    rf"(?<!\bover )(?<!\bop )(?<!\bin )(?<!\btussen )(?<!\bde )(?<!\bthe )(?<!\binto )(?<!\bof )(?<!\bbetween )"
    rf"\b{_COUNT}\s+(?:[\w-]+\s+)?(?:eisen|vragen|kenmerken|stappen|punten|dingen|redenen|voorwaarden|vormen|soorten|"
    r"requirements|questions|features|steps|points|things|reasons|conditions|forms|kinds|types|criteria|elementen|elements)"
    r"(?:\s+[\w-]+){0,3}[.!]$",
    re.IGNORECASE,
)


def announces(text: str) -> bool:
    """Does a short sentence only announce, by their count, the points that follow? (`_ANNOUNCES`)
    One that names who counts them says who ("Provan en Kenis onderscheiden drie vormen ...")."""
    body = text.strip()
    names = any(w[:1].isupper() for w in body.split()[1:])
    return len(body.split()) <= 14 and not names and bool(_ANNOUNCES.search(body)) and not re.search(r"\b(?:te|to)\s+\w+[.!]$", body)


_HEADING_LIKE = re.compile(r"[.!?…:;)\"'”’]$")
# A case's title, set in bold at the start of its paragraph in the source and a sentence of its own
# once the markup is gone: "Voorbeeld (fictief): een zorgcoalitie die het wel redde."
_CASE_TITLE = re.compile(r"^(voorbeeld|praktijkvoorbeeld|casus|example|case|case study|illustrative case)\b[^:.]{0,20}:\s", re.IGNORECASE)


def _case_title(text: str) -> bool:
    return bool(_CASE_TITLE.match(text)) and len(text.split()) < 12


def opens_case(candidate_text: str, chunk_text: str) -> bool:
    """Does a case's title ("Voorbeeld (fictief): ...") stand right before this text in its chunk?"""
    at = chunk_text.find(candidate_text)
    if at <= 0:
        return False
    return _case_title(re.split(r"(?<=[.!?])\s+|\n", chunk_text[:at].strip())[-1])


def defect(text: str) -> str | None:
    """What keeps `text` from standing alone as a point, or None: question, meta, heading, lead-in,
    fragment, short."""
    body = text.strip().lstrip("-*• ").strip()
    if not body:
        return "short"
    if body.endswith("?"):
        return "question"
    if _META.match(body) or _META_CLAUSE.search(body) or _META_ELSEWHERE.search(body):
        return "meta"
    if announces(body):
        return "lead-in"
    if body.endswith(":"):
        return "lead-in"
    if (not _HEADING_LIKE.search(body) and len(body.split()) < 12) or _case_title(body):
        return "heading"
    if len(body.split()) < MIN_WORDS:
        return "short"
    if body[:1].islower() or refers_back(body):
        return "fragment"
    return None


def point_defect(text: str, lead: str = "") -> str | None:
    """`defect` of an answer point; a list item shown with its lead-in is no fragment."""
    found = defect(text)
    return None if lead and found == "fragment" else found


@dataclass(frozen=True)
class Candidate:
    """A unit of a section that can become a point."""

    chunk: Chunk  # the chunk the text stands in (what the point cites)
    text: str  # verbatim
    kind: str  # step, item or sentence
    order: int  # reading order within the section
    name: str = ""  # a step's or item's name, the start of `text`
    lead: str = ""  # the lead-in of the list the unit belongs to


def _clip(sentences: Sequence[str]) -> str:
    """The first sentence, and the next ones while the point stays short."""
    out = sentences[0]
    for s in sentences[1:]:
        if len(out) + 1 + len(s) > MAX_POINT_CHARS:
            break
        out = f"{out} {s}"
    return out


def section_candidates(chunks: Sequence[Chunk]) -> tuple[list[Candidate], bool]:
    """The candidate points of a section (its chunks in reading order), and whether the section is
    a list (two or more items or steps that can stand alone)."""
    lines: list[tuple[str, Chunk]] = []
    for c in chunks:
        lines += [(line, c) for line in c.fresh_text.split("\n") if line.strip()]
    units = parse_units([(line, None) for line, _ in lines])
    owners = [c for _, c in lines]
    out: list[Candidate] = []
    listed = 0
    order = 0
    for unit, chunk in zip(units, owners, strict=True):
        if REDACTED in unit.text:
            continue
        if unit.kind in ("step", "item"):
            sentences = split_sentences(unit.text)
            if not sentences or unit.is_question:
                continue
            if unit.name:
                rest = sentences[1:]
                text = _clip([f"{unit.name} {rest[0]}"] + rest[1:]) if rest else unit.name
            else:
                text = _clip(sentences)
            if defect(text) in (None, "fragment") and len(text.split()) >= MIN_WORDS:
                out.append(Candidate(chunk, text, unit.kind, order, unit.name, unit.lead))
                listed += 1
                order += 1
            continue
        if tells_a_case(unit.text) and chunk.role != "example":
            continue  # a case told inside an advice section illustrates it; its sentences are no advice
        sentences = split_sentences(unit.text)
        for j, s in enumerate(sentences):
            text = s
            if defect(s) == "meta":
                continue  # "Dit artikel gaat over ..." opens with "Dit", but no antecedent makes it advice
            if refers_back(s) and j > 0 and defect(sentences[j - 1]) is None:
                text = f"{sentences[j - 1]} {s}"  # a verbatim span: the sentence with its antecedent
            if len(text) > 2 * MAX_POINT_CHARS or defect(text) is not None:
                continue
            out.append(Candidate(chunk, text, "sentence", order))
            order += 1
    return out, listed >= 2
