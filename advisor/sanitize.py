"""Make text from documents and answers safe to show: no external image, link or raw HTML.

Anyone who can put a file in the corpus writes part of every page that quotes it. A Markdown
image to an outside host would make each reader's browser fetch it (a tracking pixel, a leak of
who reads what), and raw HTML could do worse. So before anything is rendered, images become their
alt text, links become their text, URLs become inert code, and tags become visible text.
"""

from __future__ import annotations

import html
import re

# Fenced code blocks and inline code spans render literally: nothing inside them is touched.
_CODE = re.compile(r"(^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\2[ \t]*$|\Z)|`+[^`\n]*`+)", re.M | re.S)
_PARENS = r"\((?:[^()]|\([^()]*\))*\)"  # a link target, with one level of nested parentheses
_IMAGE = re.compile(r"!\[((?:[^\[\]]|\[[^\]]*\])*)\]\s*(?:" + _PARENS + r"|\[[^\]]*\])?")
_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])+)\](" + _PARENS + ")")
_REF_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])+)\]\[[^\]]*\]")
_REF_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S+.*$", re.M)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|file|data|javascript):[^>\s]*)>", re.I)
_BARE_URL = re.compile(r"(?<![\w`/])((?:https?|ftp|file)://[^\s<>`\"']+|www\.[A-Za-z0-9-]+\.[^\s<>`\"']+)", re.I)
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_URL_TRAIL = ".,;:!?)]}'\""


def _code_url(match: re.Match[str]) -> str:
    url = match.group(1)
    trail = ""
    while url and url[-1] in _URL_TRAIL:
        trail = url[-1] + trail
        url = url[:-1]
    return f"`{url}`{trail}" if url else match.group(0)


def _keep_anchor(match: re.Match[str]) -> str:
    text, inside = match.group(1), match.group(2)[1:-1].split()
    target = inside[0] if inside else ""
    # Only links within the page (e.g. the citation anchors) survive; every other target is dropped.
    return match.group(0) if target.startswith("#") and re.fullmatch(r"#[\w-]*", target) else text


def _sanitize_prose(text: str) -> str:
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _REF_DEFINITION.sub("", text)
    text = _LINK.sub(_keep_anchor, text)
    text = _REF_LINK.sub(lambda m: m.group(1), text)
    text = _AUTOLINK.sub(lambda m: f"`{m.group(1)}`", text)
    text = _BARE_URL.sub(_code_url, text)
    return _TAG_START.sub("&lt;", text)


def sanitize_markdown(text: str) -> str:
    """Markdown that renders no external image, link or raw HTML, with its readable text kept.

    - `![alt](url)` and `![alt][ref]` become `alt`;
    - `[text](url)` and `[text][ref]` become `text` (only in-page `#anchor` links stay);
      reference definitions are removed;
    - `<http://...>` and bare `http(s)://` / `www.` URLs become inline code, which no renderer
      turns into a link;
    - raw HTML (`<img src=...>`, `<a href=...>`, `<script>`, comments) is escaped and shows as text.
    Code spans and fenced code blocks are left as they are: they render literally anyway.
    """
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_sanitize_prose(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_sanitize_prose(text[pos:]))
    return "".join(out)


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
