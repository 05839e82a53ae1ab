from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from advisor.core.settings import Settings
from advisor.index.build import build_index
from advisor.web import render
from advisor.web.viewer import document_html, resolve_document
from tests.ui.test_sanitize import PAYLOADS, WORST_CASE, assert_loads_and_links_nothing, assert_safe_html, parsed

ANSWER = {
    "answer": "Dit zeggen de bronnen:\n\n- Vertrouwen groeit door afspraken na te komen. [1]\n- Sarcasme schaadt ![x](http://t.example/p.png). [2]\n- Geen bron [7].",
    "refused": False,
    "language": "nl",
    "citations": [
        {"n": 1, "source": "vertrouwen.md", "title": "Vertrouwen", "section": "Hoe vertrouwen groeit", "page": None,
         "text": "Vertrouwen groeit door afspraken na te komen. Kleine stappen helpen.", "highlights": ["Vertrouwen groeit door afspraken na te komen."]},
        {"n": 2, "source": "governance.pdf", "title": "Governance <script>", "section": "Leidende organisatie", "page": 2,
         "text": "Sarcasme schaadt ![x](http://t.example/p.png). <img src=https://e.example/i.png>", "highlights": []},
    ],
    "suggestions": [],
}


def test_citations_in_the_answer_link_to_their_cards() -> None:
    md = render.answer_markdown(ANSWER, 3)
    assert "[\\[1\\]](#src-3-1)" in md
    assert "[\\[2\\]](#src-3-2)" in md
    assert "[7]" in md
    assert "#src-3-7" not in md
    assert "t.example" not in md
    assert "![" not in md


def test_answer_html_is_the_answer_markdown_as_safe_html() -> None:
    out = render.answer_html({**ANSWER, "notice": "Let op: *eerst* lezen <b>"}, 3)
    assert out.startswith("<div><p>Dit zeggen de bronnen:</p>\n<ul>\n<li>Vertrouwen groeit door afspraken na te komen. ")
    assert '<a href="#src-3-1">[1]</a>' in out
    assert '<a href="#src-3-2">[2]</a>' in out
    assert "<li>Geen bron [7].</li>" in out
    assert "#src-3-7" not in out
    assert "t.example" not in out
    assert "<li>Sarcasme schaadt x. " in out  # the image is its alt text
    assert out.endswith("<p><em>Let op: <em>eerst</em> lezen &lt;b&gt;</em></p></div>")
    assert_safe_html(out)


def test_partial_and_question_html() -> None:
    assert render.partial_html("Dit zeggen ![x](http://t.example/p.png) de [1") == "<div><p>Dit zeggen x de [1</p></div>"
    assert render.question_html("Hoe <img src=http://t.example/q.png> **nu**?") == (
        "<div><p>Hoe &lt;img src=<code>http://t.example/q.png</code>&gt; <strong>nu</strong>?</p></div>"
    )
    assert render.partial_html("") == ""


def payload_answer(payload: str) -> dict:  # type: ignore[type-arg]
    """An answer, its notice and its one source all quoting `payload`, as a document could make them."""
    return {
        "answer": f"Dit zeggen de bronnen:\n\n- Een zin met {payload} erin. [1]\n- Nog een [2].",
        "refused": False,
        "language": "nl",
        "notice": f"Let op {payload}",
        "citations": [{"n": 1, "source": "opmaak.txt", "title": f"Titel {payload}", "section": f"Sectie {payload}", "page": 2,
                       "text": f"Voor {payload} na.", "highlights": [f"Voor {payload} na."]}],
        "suggestions": [],
    }


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_every_payload_in_answer_sources_and_exports_is_inert(name: str) -> None:
    payload = PAYLOADS[name]
    answer = payload_answer(payload)
    turns = [{"question": payload, "answer": answer}, {"question": f"Nog eens {payload}", "answer": answer}]
    for html_out in (render.answer_html(answer, 0), render.partial_html(answer["answer"]), render.question_html(payload)):
        assert_safe_html(html_out)
        assert_loads_and_links_nothing(html_out)
    chat = render.answer_html(answer, 0)
    if "\n" not in payload:  # an answer point is one line (a multi-line payload may swallow what follows)
        assert '<a href="#src-0-1">[1]</a>' in chat
        assert "[2]" in chat and "#src-0-2" not in chat
    sources = render.sources_html(turns)
    tags = parsed(sources).tags
    assert {tag for tag, _ in tags} <= {"div", "span", "strong", "blockquote", "mark", "button", "h3", "details", "summary", "p"}
    assert {name for _, attrs in tags for name in attrs} <= {"class", "id", "type", "data-open"}
    assert 'id="src-1-1"' in sources and 'id="src-0-1"' in sources
    for md in (render.answer_markdown(answer, 0), render.answer_with_sources_markdown(turns[0]), render.conversation_markdown(turns)):
        assert_loads_and_links_nothing(WORST_CASE.render(md))


def test_sources_panel_shows_every_cited_passage_with_highlights_and_anchors() -> None:
    turns = [{"question": "Eerste?", "answer": ANSWER}, {"question": "Tweede <b>?</b>", "answer": ANSWER}]
    out = render.sources_html(turns)
    assert out.count('class="src-card"') == 4
    assert 'id="src-1-1"' in out
    assert 'id="src-0-2"' in out
    assert "<mark>Vertrouwen groeit door afspraken na te komen.</mark> Kleine stappen helpen." in out
    assert "Leidende organisatie, p. 2 · governance.pdf" in out
    assert 'data-open="1:2"' in out
    assert "<script>" not in out
    assert "<b>?" not in out
    assert not re.search(r"<img|<[^>]*\ssrc=|t\.example", out)  # an <img> in a passage shows as text
    assert "Bronnen" in out
    assert "Eerdere vragen" in out


def test_sources_panel_for_a_refusal_and_for_an_english_answer() -> None:
    refused = {"answer": "The knowledge base does not cover this.", "refused": True, "language": "en", "citations": [], "suggestions": ["A: B"]}
    out = render.sources_html([{"question": "Pizza?", "answer": refused}])
    assert "Sources" in out
    assert "nearest topics" in out
    assert render.suggestion_question("Vertrouwen: Hoe vertrouwen groeit", "nl") == "Wat zeggen de bronnen over Vertrouwen: Hoe vertrouwen groeit?"
    assert render.suggestion_question("Goal", "en") == "What do the sources say about Goal?"


def test_copy_text_is_the_answer_with_its_sources_as_markdown() -> None:
    md = render.answer_with_sources_markdown({"question": "Hoe?", "answer": ANSWER})
    assert md.startswith("Dit zeggen de bronnen:")
    assert "**Bronnen**" in md
    assert "[1] Vertrouwen, Hoe vertrouwen groeit (vertrouwen.md)" in md
    assert "[2] Governance &lt;script>, Leidende organisatie, p. 2 (governance.pdf)" in md
    assert "> Vertrouwen groeit door afspraken na te komen." in md
    assert "> Sarcasme schaadt x. &lt;img src=`https://e.example/i.png`>" in md
    assert "<img" not in md
    assert "![" not in md
    assert "t.example" not in md


def test_conversation_export_has_every_question_answer_and_source() -> None:
    en = {**ANSWER, "language": "en", "answer": "Here is what the sources say. [1]"}
    md = render.conversation_markdown([{"question": "Hoe groeit vertrouwen?", "answer": ANSWER}, {"question": "And why?", "answer": en}], now=datetime(2026, 1, 2, 3, 4))
    assert md.startswith("# Gesprek met de Alliantie-adviseur\n\n_2026-01-02 03:04_")
    assert "## Vraag 1\n\nHoe groeit vertrouwen?" in md
    assert "## Question 2\n\nAnd why?" in md
    assert "### Answer" in md
    assert "**Sources**" in md
    assert md.count("[1] Vertrouwen, Hoe vertrouwen groeit (vertrouwen.md)") == 2
    assert "t.example" not in md
    assert "#src-" not in md


@pytest.fixture
def indexed(settings: Settings, fake_embedder) -> Settings:  # type: ignore[no-untyped-def]
    (settings.corpus_dir / "beeld.md").write_text(
        "# Beeld\n\n## Plaatjes\n\nEen zin met ![een logo](http://tracker.example/p.png) erin.\n", encoding="utf-8"
    )
    (settings.corpus_dir / "notitie.txt").write_text("Notitie\n\nTekst met <img src=\"http://tracker.example/q.png\"> en ![alt](https://tracker.example/r.png).\n")
    build_index(settings, fake_embedder)
    return settings


def test_viewer_opens_a_pdf_around_the_cited_page(indexed: Settings) -> None:
    out = document_html(indexed, "governance.pdf", 3, "Netwerkadministratieorganisatie", ["Zij heeft eigen personeel en een eigen budget."])
    assert "Governance van netwerken" in out
    assert "Pagina 3" in out
    assert "Pagina 1" in out
    target = out.split('id="doc-target"', 1)[1]
    assert target.split("</div>", 1)[0].count("Netwerkadministratieorganisatie") == 0  # heading sits before the target
    assert "Een aparte netwerkadministratieorganisatie" in target.split("</div>", 1)[0]
    assert "<mark>Zij heeft eigen personeel en een eigen budget.</mark>" in out


def test_viewer_renders_markdown_and_text_without_images_or_html(indexed: Settings) -> None:
    md = document_html(indexed, "vertrouwen.md", None, "Wat vertrouwen schaadt")
    assert md.index('id="doc-target"') > md.index("Wat vertrouwen schaadt")
    for source in ("beeld.md", "notitie.txt"):
        out = document_html(indexed, source)
        assert "tracker.example" not in out.replace("&lt;img src=&quot;http://tracker.example/q.png&quot;&gt;", "")
        assert "<img" not in out
        assert "src=" not in out.replace("&lt;img src=", "")


def test_viewer_refuses_anything_but_indexed_corpus_documents(indexed: Settings, tmp_path: Path) -> None:
    (tmp_path / "outside.md").write_text("# Geheim\n\nNiet tonen.\n")
    (indexed.corpus_dir / ".hidden.md").write_text("# Verborgen\n\nNiet tonen.\n")
    (indexed.corpus_dir / "nieuw.md").write_text("# Nieuw\n\nNog niet geïndexeerd.\n")
    (indexed.corpus_dir / "link.md").symlink_to(tmp_path / "outside.md")
    requests = [
        "../outside.md", "../../etc/passwd", "/etc/passwd", str(tmp_path / "outside.md"), "corpus/../../outside.md",
        ".hidden.md", "nieuw.md", "README.md", "", "a\x00.md", "link.md", "vertrouwen.md/..",
    ]
    for source in requests:
        out = document_html(indexed, source)
        assert "doc-error" in out, source
        assert "Niet tonen" not in out, source
        assert "Geheim" not in out, source
        assert str(tmp_path) not in out, source
        assert "/etc" not in out.replace("etc/passwd", ""), source
        with pytest.raises(LookupError):
            resolve_document(indexed, source)


def test_viewer_error_names_only_a_relative_path(indexed: Settings) -> None:
    out = document_html(indexed, str(indexed.corpus_dir.parent / "geheim.md"), language="en")
    assert out == "<div class=\"doc-viewer\"><p class=\"doc-error\">Document &#x27;geheim.md&#x27; is not available.</p></div>"
