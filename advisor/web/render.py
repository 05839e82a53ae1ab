"""What the UI shows, as pure functions from answers to Markdown and HTML.

A conversation is a list of turns, each `{"question": str, "answer": Answer.to_json()}`: plain
data that lives in the browser session and goes into exports unchanged. Everything a document
wrote passes through `advisor.web.sanitize` before it is rendered.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from advisor.web.sanitize import escape_html, highlight_html, safe_html, sanitize_markdown

Turn = dict[str, Any]

LABELS = {
    "nl": {
        "sources": "Bronnen",
        "no_sources": "De bronnen van het antwoord verschijnen hier.",
        "refused": "Geen bron behandelt deze vraag.",
        "refused_near": "Geen bron behandelt deze vraag. Onder het gesprek staan onderwerpen die er het dichtst bij liggen.",
        "page": "p.",
        "open": "Open in document",
        "earlier": "Eerdere vragen",
        "question": "Vraag",
        "answer": "Antwoord",
        "conversation": "Gesprek met de Alliantie-adviseur",
        "ask_about": "Wat zeggen de bronnen over {topic}?",
        "viewer_hint": "Kies 'Open in document' bij een bron om het document op die plek te lezen.",
        "unavailable": "Document '{name}' is niet beschikbaar.",
        "pages": "pagina's {first}-{last} van {total}",
        "page_heading": "Pagina {n}",
    },
    "en": {
        "sources": "Sources",
        "no_sources": "The sources of the answer appear here.",
        "refused": "No source covers this question.",
        "refused_near": "No source covers this question. The nearest topics are shown below the conversation.",
        "page": "p.",
        "open": "Open in document",
        "earlier": "Earlier questions",
        "question": "Question",
        "answer": "Answer",
        "conversation": "Conversation with the Alliance Advisor",
        "ask_about": "What do the sources say about {topic}?",
        "viewer_hint": "Choose 'Open in document' on a source to read the document at that place.",
        "unavailable": "Document '{name}' is not available.",
        "pages": "pages {first}-{last} of {total}",
        "page_heading": "Page {n}",
    },
}

_CITE = re.compile(r"\[(\d{1,3})\]")


def labels(language: str | None) -> dict[str, str]:
    return LABELS["en" if language == "en" else "nl"]


def anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def where(citation: dict[str, Any], language: str | None = None) -> str:
    """'Section, p. 3' for a citation, leaving out what it lacks."""
    parts = [str(citation.get("section") or "")]
    if citation.get("page"):
        parts.append(f"{labels(language)['page']} {citation['page']}")
    return ", ".join(p for p in parts if p)


def link_citations(text: str, turn: int, numbers: Sequence[int]) -> str:
    """Make each `[n]` that names a citation a link to its card in the sources panel."""
    known = set(numbers)

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        # An escaped bracket pair, so the link text shows as [n] in every Markdown renderer.
        return f"[\\[{n}\\]](#{anchor(turn, n)})" if n in known else m.group(0)

    return _CITE.sub(sub, text)


def answer_markdown(answer: dict[str, Any], turn: int) -> str:
    """The chat message of an answer: sanitized, citations linked to the sources panel."""
    text = sanitize_markdown(str(answer.get("answer", "")))
    text = link_citations(text, turn, [int(c["n"]) for c in answer.get("citations", [])])
    if answer.get("notice"):
        text += f"\n\n_{sanitize_markdown(str(answer['notice']))}_"
    return text


def partial_markdown(text: str) -> str:
    """A streamed, unfinished answer: sanitized, citations not yet linkable."""
    return sanitize_markdown(text)


# The chat shows HTML, not Markdown: `safe_html` output is one HTML block that Gradio's Markdown
# pass (raw HTML allowed, then DOMPurify) leaves as it is, with nothing in it that loads or links out.


def answer_html(answer: dict[str, Any], turn: int) -> str:
    """The chat message of an answer as safe HTML: `answer_markdown`, rendered by `safe_html`.

    Citations are `<a href="#src-<turn>-<n>">[n]</a>`; the notice is in `<em>`.
    """
    return safe_html(answer_markdown(answer, turn))


def partial_html(text: str) -> str:
    """A streamed, unfinished answer as safe HTML (text appended after it stays inside the same block)."""
    return safe_html(partial_markdown(text))


def question_html(question: str) -> str:
    """The user's own message as safe HTML."""
    return safe_html(sanitize_markdown(question))


def _card(turn: int, c: dict[str, Any], language: str) -> str:
    lab = labels(language)
    n = int(c["n"])
    meta = " · ".join(x for x in (where(c, language), str(c.get("source", ""))) if x)
    return (
        f'<div class="src-card" id="{anchor(turn, n)}">'
        f'<div class="src-head"><span class="src-n">[{n}]</span> <strong>{escape_html(str(c.get("title", "")))}</strong></div>'
        f'<div class="src-meta">{escape_html(meta)}</div>'
        f'<blockquote class="src-text">{highlight_html(str(c.get("text", "")), c.get("highlights") or [])}</blockquote>'
        f'<button type="button" class="src-open" data-open="{turn}:{n}">{lab["open"]}</button>'
        "</div>"
    )


def _turn_cards(turn_index: int, turn: Turn, page_language: str | None = None) -> str:
    answer = turn.get("answer") or {}
    language = str(answer.get("language") or "nl")
    cards = [_card(turn_index, c, language) for c in answer.get("citations", [])]
    if not cards and answer.get("refused"):
        # the nearest topics are promised only when there are some (a plainly unrelated question gets none)
        key = "refused_near" if answer.get("suggestions") else "refused"
        return f'<p class="src-empty">{labels(page_language or language)[key]}</p>'
    return "".join(cards)


def sources_html(turns: Sequence[Turn], language: str | None = None) -> str:
    """The sources panel: the last answer's passages, earlier answers folded away below.

    Every card has the id its `[n]` links point at, so a citation anywhere in the chat scrolls
    to a passage that is on the page. The panel's headings and notes are in `language`, the one
    chosen on the page; without one, in the last answer's (and both when there is none).
    """
    if not turns:
        if language is None:
            return f'<div class="sources"><p class="src-empty">{labels("nl")["no_sources"]} / {labels("en")["no_sources"]}</p></div>'
        return f'<div class="sources"><p class="src-empty">{labels(language)["no_sources"]}</p></div>'
    last = len(turns) - 1
    lab = labels(language or str((turns[last].get("answer") or {}).get("language") or "nl"))
    out = [f'<div class="sources"><h3 class="src-title">{lab["sources"]}</h3>', _turn_cards(last, turns[last], language)]
    if last > 0:
        out.append(f'<details class="src-earlier"><summary>{lab["earlier"]}</summary>')
        for i in range(last - 1, -1, -1):
            q = escape_html(str(turns[i].get("question", "")))
            out.append(f'<details class="src-turn"><summary>{q}</summary>{_turn_cards(i, turns[i], language)}</details>')
        out.append("</details>")
    out.append("</div>")
    return "".join(out)


def suggestion_question(topic: str, language: str | None) -> str:
    """The question a clicked suggestion asks: about that topic, in the conversation's language."""
    return labels(language)["ask_about"].format(topic=topic.strip())


# ---------------------------------------------------------------- Markdown for people to keep


def _sources_markdown(answer: dict[str, Any]) -> str:
    lines: list[str] = []
    for c in answer.get("citations", []):
        loc = where(c, answer.get("language"))
        head = f"[{c['n']}] {c.get('title', '')}" + (f", {loc}" if loc else "") + f" ({c.get('source', '')})"
        lines.append(sanitize_markdown(head))
        quote = sanitize_markdown(str(c.get("text", ""))).strip().replace("\n", "\n> ")
        lines.append(f"> {quote}")
        lines.append("")
    return "\n".join(lines).strip()


def answer_with_sources_markdown(turn: Turn) -> str:
    """One answer with its sources, ready to paste into a note or an e-mail."""
    answer = turn.get("answer") or {}
    lab = labels(answer.get("language"))
    parts = [sanitize_markdown(str(answer.get("answer", ""))).strip()]
    sources = _sources_markdown(answer)
    if sources:
        parts.append(f"**{lab['sources']}**\n\n{sources}")
    return "\n\n".join(parts) + "\n"


def conversation_markdown(turns: Sequence[Turn], now: datetime | None = None) -> str:
    """The whole conversation as one Markdown file: each question, its answer, its sources."""
    language = str((turns[0].get("answer") or {}).get("language") or "nl") if turns else "nl"
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    out = [f"# {labels(language)['conversation']}", "", f"_{stamp}_", ""]
    for i, turn in enumerate(turns, start=1):
        lab = labels((turn.get("answer") or {}).get("language"))
        out += [f"## {lab['question']} {i}", "", sanitize_markdown(str(turn.get("question", ""))).strip(), ""]
        out += [f"### {lab['answer']}", "", answer_with_sources_markdown(turn).strip(), ""]
    return "\n".join(out).rstrip() + "\n"


def message_html_text(text: str) -> str:
    """A short plain message for an HTML panel."""
    return f'<p class="panel-note">{html.escape(text)}</p>'
