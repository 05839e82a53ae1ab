"""Load source files into `Document`s, one loader per file suffix.

A loader either returns a document or raises `LoadError` with a reason a maintainer can act on;
it never names an absolute path, only the file's path relative to the corpus.
"""

from __future__ import annotations

import bisect
import logging
import re
import zipfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

from advisor.core.fsutil import sha256_file
from advisor.core.text import clean_text, detect_language
from advisor.core.types import Document, Piece
from advisor.ingest.redact import redact_instructions

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TEXT_CHARS = 5_000_000  # far beyond any article; guards memory against bombs
MAX_PDF_PAGES = 2000


class LoadError(Exception):
    """A file could not be turned into a document; the message says why, for a person."""


def with_heading(trail: list[str], depth: int, heading: str) -> list[str]:
    """The heading trail after a heading at `depth` (0 = just below the title): deeper ones end,
    skipped levels stay empty."""
    return trail[:depth] + [""] * (depth - len(trail)) + [heading]


def section_path(trail: list[str]) -> str:
    """A section's path as chunks and citations show it: 'Heading > Subheading'."""
    return " > ".join(t for t in trail if t)


def _read_text_file(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise LoadError("UTF-16 text; save it as UTF-8")
    if b"\x00" in raw[:8192]:
        raise LoadError("binary content, not text (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (invalid byte at offset {exc.start})") from None
    return text


def _title_from(source: str) -> str:
    stem = Path(source).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:]


# ---------------------------------------------------------------- Markdown and plain text

# Everything below runs in time linear in the line, whatever the line: a file is data someone
# else wrote, and a regex that re-scans the rest of the line from every opening bracket costs
# minutes on one long line. Each pattern therefore also matches, and leaves as it is, the stretch
# where every later opener would fail for the same reason, so no stretch is scanned twice; the
# results are those of the plain patterns (tests/test_loaders_linear.py compares them).

_MD_HEADING = re.compile(r"(#{1,6})\s+(.+)")


def _md_heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line, as `^(#{1,6})\\s+(.+?)\\s*#*\\s*$` would give, in linear time."""
    m = _MD_HEADING.fullmatch(line)
    if m is None:
        return None
    rest = m.group(2)
    # The lazy (.+?) leaves the longest tail of the form \s* #* \s*, but keeps at least one character.
    core = rest.rstrip().rstrip("#").rstrip()
    return len(m.group(1)), rest[: max(len(core), 1)]


_IMAGE = re.compile(r"!\[([^\]]*+)\]\([^)]*+\)|!\[[^\]]*+\](?!\()|!\[[^\]]*+\]\([^)]*+$|!\[[^\]]*+$")
_LINK = re.compile(r"\[\]|\[([^\]]++)\]\([^)]*+\)|\[[^\]]*+\](?!\()|\[[^\]]*+\]\([^)]*+$|\[[^\]]*+$")
_STRONG = re.compile(r"(\*\*|__)(.+?)\1")
_CODE = re.compile(r"`([^`]*)`")
_TAG = re.compile(r"<[^>]++>|<[^>]*+$")


def _kept_or(group: int) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(0) if m.group(group) is None else m.group(group)


def _emphasis(line: str) -> str:
    """`re.sub(r"(?<!\\w)([*_])(.+?)\\1(?!\\w)", r"\\2", line)` in linear time.

    The regex scans to the end of the line from every opener without a closer; here each opener
    looks up the first closer after it in a precomputed list.
    """
    if "*" not in line and "_" not in line:
        return line
    n = len(line)

    def word(i: int) -> bool:
        return 0 <= i < n and (line[i].isalnum() or line[i] == "_")

    closers: dict[str, list[int]] = {"*": [], "_": []}
    for i, ch in enumerate(line):
        if ch in closers and not word(i + 1):
            closers[ch].append(i)
    out: list[str] = []
    pos = i = 0
    while i < n:
        ch = line[i]
        if ch in closers and not word(i - 1):
            found = closers[ch]
            k = bisect.bisect_left(found, i + 2)
            if k < len(found):
                q = found[k]
                out.append(line[pos:i])
                out.append(line[i + 1 : q])
                pos = i = q + 1
                continue
        i += 1
    out.append(line[pos:])
    return "".join(out)


_INLINE_MARKUP = re.compile(r"[\[*_`<]")


def _strip_markdown_inline(line: str) -> str:
    if not _INLINE_MARKUP.search(line):  # most lines: nothing to strip
        return line
    line = _IMAGE.sub(_kept_or(1), line)  # images become their alt text
    line = _LINK.sub(_kept_or(1), line)  # links become their text
    line = _STRONG.sub(r"\2", line)
    line = _emphasis(line)
    line = _CODE.sub(r"\1", line)
    line = _TAG.sub(lambda m: "" if m.group(0).endswith(">") else m.group(0), line)  # inline HTML is markup, not content
    return line


def load_markdown(path: Path, source: str) -> Document:
    text = clean_text(_read_text_file(path))
    title = ""
    trail: list[str] = []  # heading texts by level, below the title
    pieces: list[Piece] = []
    buf: list[str] = []
    in_code = False

    def flush() -> None:
        body = _unwrap(buf)
        if body:
            pieces.append(Piece(text=body, section=section_path(trail)))
        buf.clear()

    for line in text.split("\n"):
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else _md_heading(line)
        if m:
            flush()
            level, heading = m[0], _strip_markdown_inline(m[1]).strip()
            if level == 1 and not title:
                title = heading
                continue
            depth = max(level - 2, 0)
            trail = with_heading(trail, depth, heading)
            continue
        if re.match(r"^\s*([-*_])(\s*\1){2,}\s*$", line):  # horizontal rule
            continue
        buf.append(_strip_markdown_inline(line))
    flush()
    return _document(source, title, pieces, "md")


_ITEM = re.compile(r"([-*+\u2022]|\d+[.)])\s")
_LEAD_IN_WORDS = 6  # "Niet doen:", "Don'ts:", "Wat in deze fase telt:"
_SENTENCE_END = (".", "!", "?", ";", ".)", '."', ".”")


def _is_lead_in(line: str, previous: str) -> bool:
    """Is a line after a list item a short lead-in of its own ("Niet doen:") rather than the item
    wrapping on? Only when the item's line ended its sentence: set at the list's line spacing (or
    without a blank line), it would otherwise end that item, and the items under it would read as
    the previous lead-in's ("Doen:")."""
    return line.endswith(":") and len(line.split()) <= _LEAD_IN_WORDS and previous.endswith(_SENTENCE_END)


def _unwrap(lines: list[str]) -> str:
    """One line per paragraph or list item: hard-wrapped lines are joined back together.

    Linear: a paragraph's lines are collected and joined once (appending to a growing string
    copied it for every line: minutes for a paragraph of 200k short lines).
    """
    paragraphs: list[list[str]] = []
    joinable = False
    in_item = False  # the paragraph being joined is a list item
    for line in lines:
        s = line.strip()
        if not s:
            joinable = False
            continue
        item = bool(_ITEM.match(s))
        if joinable and paragraphs and not item and not (in_item and _is_lead_in(s, paragraphs[-1][-1])):
            paragraphs[-1].append(s)
        else:
            paragraphs.append([s])
            in_item = item
        joinable = True
    return "\n".join(" ".join(parts) for parts in paragraphs)


def load_text(path: Path, source: str) -> Document:
    text = clean_text(_read_text_file(path))
    lines = [ln for ln in text.split("\n") if ln.strip()]
    title = lines[0].strip() if lines and len(lines[0]) < 120 else ""
    body = _unwrap(text.split("\n")[1:] if title else text.split("\n"))
    return _document(source, title, [Piece(text=body)], "txt")


# ---------------------------------------------------------------- HTML

_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "canvas"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_BLOCK = {"p", "div", "li", "ul", "ol", "section", "article", "tr", "br", "blockquote", "pre", "table", "dd", "dt"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d])", re.I)


class _VisibleText(HTMLParser):
    """Collect visible text by heading; anything a browser would not show is dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Open elements as (tag, hidden), with counts kept alongside so that neither "is anything
        # open hidden?" nor "is this end tag open?" scans the stack: a file of 100k unclosed
        # <div>s would make every tag cost 100k steps.
        self.stack: list[tuple[str, bool]] = []
        self.hidden_open = 0
        self.open_tags: dict[str, int] = {}
        self.title = ""
        self.head_title_parts: list[str] = []
        self.in_title = False
        self.heading: tuple[int, list[str]] | None = None
        self.trail: list[str] = []
        self.pieces: list[Piece] = []
        self.buf: list[str] = []

    @property
    def hidden(self) -> bool:
        return self.hidden_open > 0

    @property
    def head_title(self) -> str:
        return "".join(self.head_title_parts)

    def close(self) -> None:
        # What the feed could not finish starts with a tag, comment or declaration that never ends.
        # As in HTML5 (and CPython from 3.11.13 on) it runs to the end of the file and shows
        # nothing; older html.parser re-scanned the rest of the file once per '<' (quadratic).
        if len(self.rawdata) > 1 and self.rawdata.startswith("<") and not self.cdata_elem:
            self.rawdata = ""
        super().close()

    def flush(self) -> None:
        body = clean_text("".join(self.buf))
        if body:
            self.pieces.append(Piece(text=body, section=section_path(self.trail)))
        self.buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "title":
            self.in_title = True
        hidden = (
            tag in _SKIP_TAGS
            or "hidden" in a
            or a.get("aria-hidden", "").lower() == "true"
            or bool(_HIDDEN_STYLE.search(a.get("style", "")))
            or (tag == "input" and a.get("type", "").lower() == "hidden")
        )
        if tag in _VOID:
            if tag == "br" and not self.hidden:
                self.buf.append("\n")
            return
        self.stack.append((tag, hidden))
        self.hidden_open += hidden
        self.open_tags[tag] = self.open_tags.get(tag, 0) + 1
        if tag in _HEADINGS and not self.hidden:
            self.flush()
            self.heading = (_HEADINGS[tag], [])
        elif tag in _BLOCK and not self.hidden:
            self.buf.append("\n")
            if tag == "li":
                self.buf.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _VOID:
            return
        # pop to the matching tag; tolerate unclosed children (amortised: each element is popped once)
        if not self.open_tags.get(tag):
            return
        while True:
            name, hidden = self.stack.pop()
            self.hidden_open -= hidden
            self.open_tags[name] -= 1
            if name == tag:
                break
        if tag in _HEADINGS and self.heading is not None:
            level, parts = self.heading
            text = clean_text("".join(parts))
            self.heading = None
            if level == 1 and not self.title:
                self.title = text
            elif text:
                depth = max(level - 2, 0)
                self.trail = with_heading(self.trail, depth, text)
        elif tag in _BLOCK and not self.hidden:
            self.buf.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.head_title_parts.append(data)
            return
        if self.hidden:
            return
        if self.heading is not None:
            self.heading[1].append(data)
        else:
            self.buf.append(data)


def load_html(path: Path, source: str) -> Document:
    parser = _VisibleText()
    parser.feed(_read_text_file(path))
    parser.close()
    parser.flush()
    title = parser.title or clean_text(parser.head_title)
    return _document(source, title, parser.pieces, "html")


# ---------------------------------------------------------------- PDF


def load_pdf(path: Path, source: str) -> Document:
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings repeat what LoadError says
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except DependencyError:
                raise LoadError(
                    "encrypted PDF using AES; reading it needs the 'cryptography' package and no password"
                ) from None
            except (NotImplementedError, FileNotDecryptedError) as exc:
                raise LoadError(f"encrypted PDF that cannot be opened ({exc})") from None
            if not ok:
                raise LoadError("encrypted PDF: a password is required to read it")
        n_pages = len(reader.pages)
        if n_pages > MAX_PDF_PAGES:
            raise LoadError(f"PDF has {n_pages} pages, more than the limit of {MAX_PDF_PAGES}")
        meta_title = ""
        try:
            if reader.metadata and reader.metadata.title:
                meta_title = str(reader.metadata.title).strip()
        except Exception:  # noqa: BLE001 - broken metadata must not lose the text
            meta_title = ""
        pages: list[list[tuple[str, float, float]]] = []
        total = 0
        for page in reader.pages:
            pages.append(_pdf_lines(page))
            total += sum(len(t) for t, _, _ in pages[-1])
            if total > MAX_TEXT_CHARS:
                raise LoadError("PDF text is larger than the limit (possible decompression bomb)")
        title, pieces = _pdf_pieces(pages, meta_title)
    except LoadError:
        raise
    except LimitReachedError:
        raise LoadError("a PDF stream decompresses beyond the safety limit (possible decompression bomb)") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise LoadError(f"corrupt or unreadable PDF ({type(exc).__name__}: {_short(exc)})") from None
    pieces = [p for p in pieces if p.text]
    if not pieces:
        raise LoadError("PDF contains no extractable text (scanned images or empty pages)")
    return _document(source, title, pieces, "pdf")


def _pdf_pieces(pages: list[list[tuple[str, float, float]]], meta_title: str) -> tuple[str, list[Piece]]:
    """The title and the pieces of a PDF's pages of (text, font size, y) lines. A line set larger
    than the page's body text is a heading; its size gives its level, largest first, so a
    subheading's section is "Heading > Subheading" as in Markdown, HTML and DOCX."""
    bodies = [_body_font_size(lines) for lines in pages]

    def heading(line: tuple[str, float, float], body: float) -> bool:
        return bool(body) and line[1] >= body * 1.15 and len(line[0]) < 120

    def rounded(size: float) -> float:  # to half a point: one level is one size, whatever the scaling
        return round(size * 2) / 2

    sizes = sorted({rounded(ln[1]) for lines, body in zip(pages, bodies) for ln in lines if heading(ln, body)}, reverse=True)
    pieces: list[Piece] = []
    title = meta_title
    trail: list[str] = []
    for number, (lines, body) in enumerate(zip(pages, bodies), start=1):
        buf: list[tuple[str, float, float]] = []
        # the heading line just before, when no body text came between: ("title" | "section", size, y)
        previous: tuple[str, float, float] | None = None
        for line in lines:
            text, size, y = line
            if not heading(line, body):
                buf.append(line)
                previous = None
                continue
            if previous is not None and _wraps_on(previous[1], previous[2], size, y):
                # a heading too long for one line goes on, at its own size, on the next
                kind = previous[0]
                if kind == "title" and not meta_title:
                    title = f"{title} {text}"
                elif kind == "section":
                    trail[-1] = f"{trail[-1]} {text}"
                previous = (kind, size, y)
                continue
            if number == 1 and not pieces and not buf and (not title or title.startswith(text)):
                title = title or text  # the title, or its first line
                previous = ("title", size, y)
                continue
            if buf:
                pieces.append(Piece(text=clean_text(_paragraphs(buf)), section=section_path(trail), page=number))
                buf = []
            if title and text == title:  # the title repeated at the top of a page
                previous = ("title", size, y)
                continue
            trail = with_heading(trail, sizes.index(rounded(size)), text)
            previous = ("section", size, y)
        if buf:
            pieces.append(Piece(text=clean_text(_paragraphs(buf)), section=section_path(trail), page=number))
    return title, pieces


def _pdf_lines(page: object) -> list[tuple[str, float, float]]:
    """Lines of a page as (text, font size, y), so headings and paragraphs can be told apart."""
    parts: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font_dict: object, font_size: float) -> None:
        if text:
            scale = abs(tm[3]) if tm and tm[3] else 1.0
            y = (tm[5] if tm else 0.0) + (cm[5] if cm else 0.0)
            parts.append((text, float(font_size) * scale, float(y)))

    raw = page.extract_text(visitor_text=visit)  # type: ignore[attr-defined]
    if not parts:
        return [(ln.strip(), 0.0, 0.0) for ln in (raw or "").split("\n") if ln.strip()]
    lines: list[tuple[str, float, float]] = []
    cur: list[str] = []
    cur_size = 0.0
    cur_y: float | None = None
    for text, size, y in parts:
        for i, seg in enumerate(text.split("\n")):
            new_line = i > 0 or (cur_y is not None and abs(y - cur_y) > 0.5)
            if new_line and cur:
                lines.append(("".join(cur).strip(), cur_size, cur_y or 0.0))
                cur, cur_size = [], 0.0
            if seg.strip():
                cur.append(seg)
                cur_size = max(cur_size, size)
            cur_y = y
    if cur:
        lines.append(("".join(cur).strip(), cur_size, cur_y or 0.0))
    return [ln for ln in lines if ln[0]]


def _wraps_on(size: float, y: float, next_size: float, next_y: float) -> bool:
    """Is a heading line the continuation of the heading line above it: the same size, one line
    below (a second heading would stand further down, after its own spacing)?"""
    return abs(size - next_size) < 0.5 and bool(y) and bool(next_y) and 0 < y - next_y <= size * 1.6


def _paragraphs(lines: list[tuple[str, float, float]]) -> str:
    """Re-join wrapped lines: a new paragraph starts at a larger vertical gap, a list item, or a
    lead-in after a list item (`_is_lead_in`)."""
    gaps = [abs(a[2] - b[2]) for a, b in zip(lines, lines[1:]) if a[2] and b[2]]
    step = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
    lengths = sorted(len(t) for t, _, _ in lines)
    full = lengths[(len(lengths) * 9) // 10] if len(lengths) >= 3 else 0  # a full line's length, roughly
    out: list[list[str]] = []  # parts of each paragraph, joined once (linear, like `_unwrap`)
    in_item = False  # the paragraph being joined is a list item
    prev_y: float | None = None
    for text, _, y in lines:
        bullet = bool(_PDF_ITEM.match(text))
        gap = abs(prev_y - y) if prev_y is not None and y else 0.0
        lead_in = in_item and _is_lead_in(text, out[-1][-1])
        # A list item's line that ends its sentence where the next line's first word would still have
        # fitted ended the item: what follows at the list's line spacing is a paragraph of its own
        # ("Covey describes ..."), not the item wrapping on.
        last = out[-1][-1].strip() if out else ""
        first_word = text.split(maxsplit=1)[0] if text.strip() else ""
        ended = bool(in_item and full and last.endswith(_SENTENCE_END) and len(last) + 1 + len(first_word) < 0.9 * full)
        if not out or bullet or lead_in or ended or (step and gap > step * 1.3):
            out.append([text])
            in_item = bullet
        else:
            last = out[-1][-1]
            hyphenated = last.endswith("-") and not last.endswith(" -")  # parts are stripped lines
            out[-1].append(text if hyphenated else " " + text)
        prev_y = y
    return "\n".join("".join(parts) for parts in out)


_PDF_ITEM = re.compile(r"([-•*]|\d+[.)])\s")


def _body_font_size(lines: list[tuple[str, float, float]]) -> float:
    weights: dict[float, int] = {}
    for text, size, _ in lines:
        weights[round(size, 1)] = weights.get(round(size, 1), 0) + len(text)
    return max(weights, key=lambda s: weights[s]) if weights else 0.0


# ---------------------------------------------------------------- DOCX


def load_docx(path: Path, source: str) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise LoadError("not a valid DOCX file (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            if "word/document.xml" not in zf.namelist():
                raise LoadError("not a valid DOCX file (no word/document.xml inside)")
            if sum(i.file_size for i in zf.infolist()) > 20 * MAX_FILE_BYTES:
                raise LoadError("DOCX expands to more than the size limit (possible zip bomb)")
        d = docx.Document(str(path))
    except LoadError:
        raise
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"corrupt DOCX ({type(exc).__name__}: {_short(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - lxml raises its own types for bad XML
        raise LoadError(f"corrupt DOCX ({type(exc).__name__}: {_short(exc)})") from None
    title = (d.core_properties.title or "").strip()
    trail: list[str] = []
    pieces: list[Piece] = []
    buf: list[str] = []

    def flush() -> None:
        body = clean_text("\n".join(buf))
        if body:
            pieces.append(Piece(text=body, section=section_path(trail)))
        buf.clear()

    for para in d.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        text = para.text.strip()
        if not text:
            continue
        m = re.match(r"(Heading|Kop)\s*(\d)", style)
        if style == "Title" or (m and m.group(2) == "1" and not title):
            flush()
            title = title or text
            continue
        if m:
            flush()
            depth = max(int(m.group(2)) - 2, 0)
            trail = with_heading(trail, depth, text)
            continue
        prefix = "- " if "List" in style else ""
        buf.append(prefix + text)
    flush()
    return _document(source, title, pieces, "docx")


# ---------------------------------------------------------------- dispatch

Loader = Callable[[Path, str], Document]

LOADERS: dict[str, Loader] = {
    ".pdf": load_pdf,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
}


def _short(exc: BaseException) -> str:
    """An exception's message without any absolute path in it."""
    msg = re.sub(r"(/[^\s'\"]+)+", "<path>", str(exc))
    return msg[:160]


def _document(source: str, title: str, pieces: list[Piece], fmt: str) -> Document:
    # Text addressed to an AI system is removed from everything that reaches a model: text, headings, title.
    pieces = [Piece(redact_instructions(p.text)[0], redact_instructions(p.section)[0], p.page) for p in pieces if p.text.strip()]
    if not pieces:
        raise LoadError("no text found in the file (empty document)")
    total = sum(len(p.text) for p in pieces)
    if total > MAX_TEXT_CHARS:
        raise LoadError(f"text of {total} characters exceeds the limit of {MAX_TEXT_CHARS}")
    title = redact_instructions(clean_text(title))[0] or _title_from(source)
    language = detect_language(" ".join(p.text for p in pieces))
    return Document(source=source, title=title, language=language, pieces=tuple(pieces), format=fmt)




def load_file(path: Path, source: str) -> Document:
    """Load one file; raise `LoadError` with a reason for anything that cannot be indexed."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoadError(f"unsupported file type '{path.suffix or '(none)'}'")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"cannot read the file ({exc.strerror})") from None
    if size == 0:
        raise LoadError("empty file (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise LoadError(f"file is {size / 2**20:.1f} MiB, over the limit of {MAX_FILE_BYTES / 2**20:.0f} MiB")
    try:
        doc = loader(path, source)
    except LoadError:
        raise
    except RecursionError:
        raise LoadError("file structure is nested too deeply to read") from None
    except MemoryError:
        raise LoadError("file needs too much memory to read") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes a reason, not a crash
        raise LoadError(f"could not be read ({type(exc).__name__}: {_short(exc)})") from None
    return Document(
        source=doc.source,
        title=doc.title,
        language=doc.language,
        pieces=doc.pieces,
        format=doc.format,
        sha256=sha256_file(path),
    )
