"""Make text from documents and answers safe to show: no external image, link or raw HTML.

Anyone who can put a file in the corpus writes part of every page that quotes it. A Markdown
image to an outside host would make each reader's browser fetch it (a tracking pixel, a leak of
who reads what), and raw HTML could do worse. Two outputs:

- `safe_html`: what the browser shows. Markdown is parsed by markdown-it-py (CommonMark, raw HTML
  off: tags in a document are text), images become their alt text and outside links their text,
  and the result is cleaned by nh3 (ammonia) against a short allow-list of tags and attributes.
- `sanitize_markdown`: Markdown for people to keep (exports, the copy box), with the same
  guarantee checked by parsing its own output with markdown-it-py, raw HTML *on* (the worst-case
  viewer); anything that would still render as a tag, image or outside link makes it fall back to
  text in which every Markdown character is escaped.
"""

from __future__ import annotations

import bisect
import html
import re
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

# ---------------------------------------------------------------- links that may stay links

# A link within the page: the citation anchors `#src-<turn>-<n>`, a heading's id.
_IN_PAGE = re.compile(r"#[A-Za-z0-9_-]+")
# A route of this app: one leading slash (never `//host` or `/\host`, which browsers read as a host).
_ROUTE = re.compile(r"/(?![/\\])[A-Za-z0-9_.~%/-]*(?:\?[A-Za-z0-9_.~%=&+-]*)?(?:#[A-Za-z0-9_-]*)?")


def allowed_href(href: str | None) -> bool:
    """Whether a link target stays a link: an in-page `#anchor` or a same-app `/route`; nothing else."""
    return bool(href) and (_IN_PAGE.fullmatch(href) is not None or _ROUTE.fullmatch(href) is not None)  # type: ignore[arg-type]


# ---------------------------------------------------------------- safe HTML

# Everything markdown-it's CommonMark renderer emits, minus images and raw HTML (h1/h2 are demoted
# to h3/h4, so a document's title does not shout in a chat bubble). No img, picture, source, video,
# audio, iframe, object, form, input, button, style, svg, math; no style, class or event attribute.
ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "code", "pre", "blockquote", "ol", "ul", "li", "a", "h3", "h4", "h5", "h6", "hr"})
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if allowed_href(value) else None
    if tag == "ol" and attr == "start":
        return value if value.isdigit() and len(value) <= 9 else None
    return None


def _inline_text(tokens: list[Token] | None) -> str:
    """The readable text of inline tokens (an image's alt text), like markdown-it's renderInlineAsText."""
    out: list[str] = []
    for t in tokens or []:
        if t.type in ("text", "code_inline"):
            out.append(t.content)
        elif t.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t.children:
            out.append(_inline_text(t.children))
    return "".join(out)


def _neutralize(state: StateCore) -> None:
    """Core rule after inline parsing: images become text, links to elsewhere lose their link."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 2, 6)}"
        if token.type != "inline" or not token.children:
            continue
        children: list[Token] = []
        kept: list[bool] = []  # per open link: was it kept? (CommonMark links do not nest, autolinks neither)
        for child in token.children:
            if child.type == "image":
                children.append(Token("text", "", 0, content=_inline_text(child.children) or child.content))
            elif child.type == "link_open":
                href = str(child.attrGet("href") or "")
                kept.append(allowed_href(href))
                if kept[-1]:
                    child.attrs = {"href": href}
                    children.append(child)
            elif child.type == "link_close":
                if kept and kept.pop():
                    children.append(child)
            elif child.type == "html_inline":  # unreachable with html off; text if it ever appears
                children.append(Token("text", "", 0, content=child.content))
            else:
                children.append(child)
        token.children = children


def _escaped_content(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return escapeHtml(tokens[idx].content)


def _html_renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.core.ruler.push("advisor_neutralize", _neutralize)
    md.add_render_rule("html_block", _escaped_content)
    md.add_render_rule("html_inline", _escaped_content)
    return md


_HTML_MD = _html_renderer()
_PRE = re.compile(r"(<pre>.*?</pre>)", re.S)
_BLANK_RUN = re.compile(r"[ \t]*\n[ \t\n]*")


def _one_html_block(fragment: str) -> str:
    """HTML that a CommonMark renderer with raw HTML on (Gradio's chat: marked, then DOMPurify) passes as it is.

    A CommonMark HTML block that starts with `<div>` runs to the first blank line; there is none:
    newlines in `<pre>` become `&#10;` (the same character to the browser) and every other run of
    whitespace holding a newline becomes one newline. So no line of the answer is ever read as
    Markdown again (a bare URL there would be auto-linked by a GFM renderer).
    """
    parts = _PRE.split(fragment.strip())
    for i, part in enumerate(parts):
        parts[i] = part.replace("\n", "&#10;") if i % 2 else _BLANK_RUN.sub("\n", part)
    return "<div>" + "".join(parts) + "</div>"


def safe_html(markdown: str) -> str:
    """Markdown rendered as HTML that loads nothing and links nowhere outside the app.

    - raw HTML in the text (`<img>`, `<a>`, `<script>`, comments, ...) is text, shown as written;
    - `![alt](url)` and reference images show their alt text; no `<img>` is ever produced;
    - links keep their `href` only for an in-page `#anchor` or a same-app `/route`; any other link
      (`http:`, `//host`, `javascript:`, `<http://...>` autolinks) is just its text; bare URLs stay
      text (no linkify);
    - then nh3 keeps only `ALLOWED_TAGS` / `ALLOWED_ATTRIBUTES` (with the same href rule, and no URL
      scheme at all), drops comments and adds no `rel`.
    Text stays entity-escaped (`<` as `&lt;`, `&` as `&amp;`): markdown-it escapes it and nh3's
    serializer (html5ever) escapes it again on output, so a browser or a second Markdown pass sees
    characters, never markup. The result is one `<div>` without blank lines (see `_one_html_block`),
    or "" for empty text.
    """
    rendered = _HTML_MD.render(markdown or "")
    cleaned = nh3.clean(
        rendered,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        url_schemes=set(),
        strip_comments=True,
        link_rel=None,
    )
    return _one_html_block(cleaned) if cleaned.strip() else ""


# ---------------------------------------------------------------- Markdown to keep

_PARENS = r"\((?:[^()]|\([^()]*\))*\)"  # a link target, with one level of nested parentheses
# Link and image text may hold one level of brackets; no part scans past a `[` it cannot close
# (`[^\[\]]`), so each regex fails fast on a run of brackets: linear time.
_IMAGE = re.compile(r"!\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\s*(?:" + _PARENS + r"|\[[^\[\]]*\])?")
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])+)\](" + _PARENS + ")")
_REF_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\[\]]*\])+)\]\[[^\[\]]*\]")
_REF_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.M)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|file|data|javascript):[^>\s\ue000]*)>", re.I)
_BARE_URL = re.compile(r"(?<![\w/])((?:https?|ftp|file)://[^\s<>`\"'\ue000]+|www\.[A-Za-z0-9-]+\.[^\s<>`\"'\ue000]+)", re.I)
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_URL_TRAIL = ".,;:!?)]}'\""

# Code is cut out before the prose rules run and put back after: a private-use placeholder per piece.
_HOLE = re.compile("\ue000(\\d+)\ue001")
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_TICKS = re.compile(r"`+")
_PUNCTUATION = re.compile(r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]""")
# What a GFM viewer may turn into a link when it stands in prose (marked links it even inside a word).
_LINKABLE = re.compile(r"(?:https?|ftp|file)://|www\.", re.I)


def _fence_end(lines: list[str], start: int) -> int | None:
    """If line `start` opens a CommonMark fenced code block (at the top level), the line index after it ends."""
    m = _FENCE_OPEN.fullmatch(lines[start])
    if not m or (m.group(1)[0] == "`" and "`" in m.group(2)):  # a backtick fence's info string has no backtick
        return None
    char, size = m.group(1)[0], len(m.group(1))
    closing = re.compile(r" {0,3}" + re.escape(char) + "{" + str(size) + r",}[ \t]*")
    for j in range(start + 1, len(lines)):
        if closing.fullmatch(lines[j]):
            return j + 1
    return len(lines)  # an unclosed fence runs to the end of the document


def _code_spans(line: str) -> list[tuple[int, int]]:
    """CommonMark code spans of one line: a backtick run up to the next run of the *same* length.

    A run that finds no partner is literal and the search goes on after it; a backtick escaped by a
    backslash opens nothing (inside a span, backslashes are literal). O(n log n).
    """
    runs = [(m.start(), m.end() - m.start()) for m in _TICKS.finditer(line)]
    by_length: dict[int, list[int]] = {}
    for i, (_, n) in enumerate(runs):
        by_length.setdefault(n, []).append(i)
    spans: list[tuple[int, int]] = []
    floor = 0  # where the text not yet inside a span starts
    i = 0
    while i < len(runs):
        start, n = runs[i]
        slashes = 0
        while start - slashes - 1 >= floor and line[start - slashes - 1] == "\\":
            slashes += 1
        if slashes % 2:  # the first backtick is escaped; the rest of the run may still open a span
            start, n = start + 1, n - 1
        if n:
            same = by_length.get(n, [])
            k = bisect.bisect_right(same, i)
            if k < len(same):
                j = same[k]
                end = runs[j][0] + n
                spans.append((start, end))
                floor = end
                i = j + 1
                continue
        i += 1
    return spans


class _Holes:
    """Pieces cut out of the text (code, and the code made of URLs), each left as a placeholder."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def __call__(self, piece: str) -> str:
        self.pieces.append(piece)
        return f"\ue000{len(self.pieces) - 1}\ue001"

    def fill(self, text: str) -> str:
        return _HOLE.sub(lambda m: self.pieces[int(m.group(1))], text)


def _cut_code(text: str, hole: _Holes) -> str:
    """The text with fenced code blocks and code spans replaced by placeholders."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        end = _fence_end(lines, i)
        if end is not None:
            out.append(hole("\n".join(lines[i:end])))
            i = end
            continue
        line, pos, parts = lines[i], 0, []
        for a, b in _code_spans(line):
            parts += [line[pos:a], hole(line[a:b])]
            pos = b
        parts.append(line[pos:])
        out.append("".join(parts))
        i += 1
    return "\n".join(out)


def _code_url(match: re.Match[str], hole: _Holes) -> str:
    url = match.group(1)
    trail = ""
    while url and url[-1] in _URL_TRAIL:
        trail = url[-1] + trail
        url = url[:-1]
    return hole(f"`{url}`") + trail if url else match.group(0)


def _keep_anchor(match: re.Match[str]) -> str:
    text, inside = match.group(1), match.group(2)[1:-1].split()
    target = inside[0] if inside else ""
    # Only links within the page (e.g. the citation anchors) survive; every other target is dropped.
    return match.group(0) if target.startswith("#") and re.fullmatch(r"#[\w-]*", target) else text


def _sanitize_prose(text: str, hole: _Holes) -> str:
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _REF_DEFINITION.sub("", text)
    text = _LINK.sub(_keep_anchor, text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _AUTOLINK.sub(lambda m: hole(f"`{m.group(1)}`"), text)
    text = _BARE_URL.sub(lambda m: _code_url(m, hole), text)
    return _TAG_START.sub("&lt;", text)


_CHECK_MD = MarkdownIt("commonmark")  # raw HTML on: the worst-case viewer of an exported file


def _renders_inert(markdown: str) -> bool:
    """No raw HTML, image, link out of the page, or bare URL (which GFM would link) when rendered."""
    stack = list(_CHECK_MD.parse(markdown))
    while stack:
        t = stack.pop()
        if t.type in ("html_block", "html_inline", "image"):
            return False
        if t.type == "link_open" and not re.fullmatch(r"#[\w-]*", str(t.attrGet("href") or "")):
            return False
        if t.type == "text" and _LINKABLE.search(t.content):
            return False
        stack.extend(t.children or [])
    return True


def _inert_text(text: str) -> str:
    """Every ASCII punctuation character backslash-escaped: no Markdown construct or URL survives.

    Only `[n]` stays as written (it cannot be a link: no definition survives, their `:` is escaped),
    so citations can still be linked afterwards.
    """
    escaped = _PUNCTUATION.sub(lambda m: "\\" + m.group(0), text)
    return re.sub(r"\\\[(\d{1,3})\\\]", r"[\1]", escaped)


def sanitize_markdown(text: str) -> str:
    """Markdown that renders no external image, link or raw HTML, with its readable text kept.

    - `![alt](url)` and `![alt][ref]` become `alt`;
    - `[text](url)` and `[text][ref]` become `text` (only in-page `#anchor` links stay);
      reference definitions are removed;
    - `<http://...>` and bare `http(s)://` / `www.` URLs become inline code, which no renderer
      turns into a link;
    - raw HTML (`<img src=...>`, `<a href=...>`, `<script>`, comments) is escaped and shows as text.
    Fenced code blocks and code spans (found as CommonMark does: a backtick run closed by the next
    run of the same length) are left as they are: they render literally anyway.

    The result is then parsed with markdown-it-py, raw HTML on; if any tag, image, outside link or
    bare URL would still appear (text built to confuse the rules above), the readable text is
    returned with every Markdown character escaped instead.
    """
    text = (text or "").replace("\ue000", "\ufffd").replace("\ue001", "\ufffd")
    hole = _Holes()
    out = hole.fill(_sanitize_prose(_cut_code(text, hole), hole))
    if _renders_inert(out):
        return out
    return _inert_text(plain_text(text))


def plain_text(text: str) -> str:
    """Readable text of a Markdown-ish string: images become alt text, links their text."""
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _REF_DEFINITION.sub("", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    return _REF_LINK.sub(lambda m: m.group(1), text)


def escape_html(text: str) -> str:
    """Document text for an HTML page: plain text, every character escaped, no tag possible."""
    return html.escape(plain_text(text), quote=True)


def highlight_html(text: str, highlights: tuple[str, ...] | list[str]) -> str:
    """Escaped text with the supporting sentences wrapped in <mark>."""
    body = escape_html(text)
    for sentence in sorted({h.strip() for h in highlights if h and h.strip()}, key=len, reverse=True):
        needle = escape_html(sentence)
        if needle and needle in body and f"<mark>{needle}" not in body:
            body = body.replace(needle, f"<mark>{needle}</mark>", 1)
    return body
