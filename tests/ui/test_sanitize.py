from __future__ import annotations

import re

import pytest

from advisor.sanitize import escape_html, highlight_html, plain_text, sanitize_markdown


def test_markdown_image_becomes_its_alt_text() -> None:
    assert sanitize_markdown("Zie ![het logo](http://tracker.example/p.png) hier.") == "Zie het logo hier."
    assert sanitize_markdown('![x](https://a.example/i.png "titel")') == "x"
    assert sanitize_markdown("![]( https://a.example/i.png )") == ""


def test_reference_images_and_their_definitions_disappear() -> None:
    text = "Voor ![logo][1] en ![ander][] na.\n\n[1]: https://tracker.example/p.png\n"
    out = sanitize_markdown(text)
    assert "tracker.example" not in out
    assert "![" not in out
    assert out.startswith("Voor logo en ander na.")


def test_links_keep_their_text_and_lose_their_target() -> None:
    assert sanitize_markdown("Lees [de gids](https://evil.example/x?a=1) eerst.") == "Lees de gids eerst."
    assert sanitize_markdown("[klik](javascript:alert(1))") == "klik"
    assert sanitize_markdown("[relatief](../../etc/passwd)") == "relatief"
    assert sanitize_markdown("[tekst][ref]\n[ref]: http://evil.example") == "tekst\n"


def test_in_page_anchor_links_survive() -> None:
    assert sanitize_markdown("[\\[1\\]](#src-0-1)") == "[\\[1\\]](#src-0-1)"
    assert sanitize_markdown('[x](#a"onclick=alert(1))') == "x"


@pytest.mark.parametrize(
    "raw",
    [
        '<img src="https://evil.example/y.png">',
        "<IMG SRC=https://evil.example/y.png>",
        '<a href="http://evil.example">klik</a>',
        "<script>fetch('https://evil.example')</script>",
        '<iframe src="https://evil.example"></iframe>',
        "<!-- <img src=https://evil.example/x> -->",
        '<svg><image href="https://evil.example/x"/></svg>',
    ],
)
def test_raw_html_is_shown_as_text_never_as_a_tag(raw: str) -> None:
    out = sanitize_markdown(f"Tekst {raw} einde.")
    assert not re.search(r"<[A-Za-z!/]", out)
    assert "&lt;" in out


def test_bare_and_auto_links_become_inert_code() -> None:
    assert sanitize_markdown("Zie https://evil.example/a.") == "Zie `https://evil.example/a`."
    assert sanitize_markdown("Zie <https://evil.example/a> nu") == "Zie `https://evil.example/a` nu"
    assert sanitize_markdown("Op www.evil.example staat het") == "Op `www.evil.example` staat het"


def test_code_is_left_alone_and_plain_text_is_unchanged() -> None:
    text = "Gebruik `![x](http://a.example/i.png)` letterlijk.\n\n```\n<img src=x>\n```\n"
    assert sanitize_markdown(text) == text
    plain = "Vertrouwen groeit [1] wanneer partners afspraken nakomen (zie ook [2]).\n- Punt één\n- Punt *twee*"
    assert sanitize_markdown(plain) == plain


def test_plain_text_and_escape_html_for_html_panels() -> None:
    assert plain_text("a ![b](http://x.example/i.png) [c](http://x.example)") == "a b c"
    assert escape_html('<img src="http://x.example/i.png"> & ![b](http://x.example/i.png)') == (
        "&lt;img src=&quot;http://x.example/i.png&quot;&gt; &amp; b"
    )


def test_highlight_marks_supporting_sentences_inside_escaped_text() -> None:
    text = "Eerste zin <b>vet</b>. Tweede zin over vertrouwen. Derde zin."
    out = highlight_html(text, ["Tweede zin over vertrouwen.", "Niet in de tekst."])
    assert out == "Eerste zin &lt;b&gt;vet&lt;/b&gt;. <mark>Tweede zin over vertrouwen.</mark> Derde zin."


def test_sanitizing_hostile_input_takes_linear_time() -> None:
    import time

    hostile = "[a](" + "x" * 20000 + " ![b](" + "(" * 5000 + "[" * 5000 + "<" * 5000 + "http://" * 2000
    t = time.perf_counter()
    sanitize_markdown(hostile)
    plain_text(hostile)
    assert time.perf_counter() - t < 2.0
