"""Render Markdown sources into PDF and DOCX corpus documents.

Used by `scripts/build_corpus.py` for the shipped corpus and by tests that need real files with
known text on known pages. Only the Markdown subset the corpus uses: headings, paragraphs,
bullet and numbered lists, and **bold**.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

_FIXED_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)

_REPLACEMENTS = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "..."}


def _latin1(text: str) -> str:
    for a, b in _REPLACEMENTS.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """(kind, text) blocks: h1/h2/h3, p, li."""
    out: list[tuple[str, str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(("p", " ".join(para)))
            para.clear()

    for line in markdown.splitlines():
        s = line.strip()
        if not s:
            flush()
            continue
        m = re.match(r"^(#{1,3})\s+(.*)$", s)
        if m:
            flush()
            out.append((f"h{len(m.group(1))}", m.group(2).strip()))
        elif re.match(r"^([-*]|\d+\.)\s+", s):
            flush()
            out.append(("li", s))
        else:
            para.append(s)
    flush()
    return out


def markdown_to_pdf(markdown: str, dest: Path, *, title: str | None = None, page_breaks_before_h2: bool = False) -> int:
    """Write a PDF; headings in larger type so the loader can tell sections. Returns the page count."""
    from fpdf import FPDF

    blocks = _blocks(markdown)
    doc_title = title or next((t for k, t in blocks if k == "h1"), dest.stem)
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_FIXED_DATE)  # same text, same bytes: the index sees no false change
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_title(_latin1(doc_title))
    pdf.set_author("Alliance Advisor")
    pdf.set_margins(22, 20, 22)
    pdf.add_page()
    first_h2 = True
    for kind, text in blocks:
        text = _latin1(text)
        if kind == "h1":
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 9, text)
            pdf.ln(3)
        elif kind in ("h2", "h3"):
            if kind == "h2" and page_breaks_before_h2 and not first_h2:
                pdf.add_page()
            first_h2 = first_h2 and kind != "h2"
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 14 if kind == "h2" else 12.5)
            pdf.multi_cell(0, 7, text.replace("**", ""))
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.4, text, markdown=True)
            pdf.ln(1.5 if kind == "li" else 2.5)
    dest.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(dest))
    return pdf.page_no()


def markdown_to_docx(markdown: str, dest: Path) -> None:
    """Write a DOCX with real heading styles, so sections survive the round trip."""
    import docx

    d = docx.Document()
    d.core_properties.created = _FIXED_DATE
    d.core_properties.modified = _FIXED_DATE
    d.core_properties.author = "Alliance Advisor"
    d.core_properties.last_modified_by = "Alliance Advisor"
    for kind, text in _blocks(markdown):
        if kind == "h1":
            d.core_properties.title = text
            d.add_heading(text, level=1)
        elif kind in ("h2", "h3"):
            d.add_heading(text, level=int(kind[1]))
        elif kind == "li":
            numbered = bool(re.match(r"^\d+\.", text))
            body = re.sub(r"^([-*]|\d+\.)\s+", "", text)
            p = d.add_paragraph(style="List Number" if numbered else "List Bullet")
            _runs(p, body)
        else:
            _runs(d.add_paragraph(), text)
    dest.parent.mkdir(parents=True, exist_ok=True)
    d.save(str(dest))


def _runs(paragraph, text: str) -> None:  # type: ignore[no-untyped-def]
    for i, part in enumerate(re.split(r"\*\*", text)):
        if part:
            paragraph.add_run(part).bold = i % 2 == 1
