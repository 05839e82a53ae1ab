"""Document text that tries to load or link to outside hosts, shown in a real headless Chromium.

Every payload of tests/ui/test_sanitize.py goes through three doors, and not one request may leave
loopback (each is recorded with `context.on("request")`, and `context.route` aborts any that would):

1. static pages: `render.answer_html`, `partial_html`, `question_html` and `sources_html` of an
   answer quoting the payload, put in a page with `page.set_content`;
2. Gradio's own Chatbot, configured as the app's chat (raw HTML allowed, `marked`, then DOMPurify),
   showing those HTML messages; a control chatbot with a raw Markdown image proves the recorder
   sees what such a chat would load;
3. the app itself: a corpus with one small document per payload (and one holding them all),
   indexed with the fake embedder; each payload asked about, so the answer cites it, the sources
   panel shows it and the document viewer opens it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from advisor.web import render
from tests.ui.conftest import LiveApp, isolated_env, launch, serve_asgi, ui_settings
from tests.ui.test_render import payload_answer
from tests.ui.test_sanitize import PAYLOADS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)"),
]

# One invented word per payload (distinct first five letters: the fake embedder's stem), so a
# question with that word retrieves that payload's document.
CODES = [
    "zonnewijzer", "kompasroos", "vuurtoren", "klokkenspel", "molenwiek", "zandloper", "windvaan", "sterrenkijker",
    "regenboog", "bijenkorf", "olifant", "pinguin", "walrus", "kameleon", "flamingo", "narwal", "oesterbank", "pelikaan",
    "quokka", "ratelslang", "salamander", "toekan", "uilenbal", "vlinderdas", "xylofoon", "yakboter", "zeepaard",
    "ijsbeer", "hagedis", "fazant", "dromedaris", "capibara",
]
assert len(CODES) >= len(PAYLOADS)
CASES = list(zip(CODES, PAYLOADS))

# Elements and attributes that fetch or link, checked in the page itself after rendering.
FIND_LOADERS = """(selector) => {
  const bad = [];
  const tags = ['img', 'picture', 'source', 'video', 'audio', 'track', 'iframe', 'frame', 'object', 'embed', 'form', 'input',
                'link', 'meta', 'base', 'style', 'script', 'image', 'use', 'math'];
  const urlAttrs = ['src', 'srcset', 'action', 'formaction', 'background', 'poster', 'data', 'xlink:href', 'ping'];
  for (const root of document.querySelectorAll(selector)) {
    for (const el of root.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      if (tags.includes(tag)) bad.push(el.outerHTML.slice(0, 200));
      for (const a of el.attributes) {
        const n = a.name.toLowerCase(), v = a.value.trim();
        if (urlAttrs.includes(n)) bad.push(tag + '[' + n + '=' + v + ']');
        if (n === 'style' && /url\\s*\\(/i.test(v)) bad.push(tag + '[style=' + v + ']');
        if (n === 'href' && !(/^#[\\w-]*$/.test(v) || (v.startsWith('/') && !v.startsWith('//') && !v.startsWith('/\\\\')))) bad.push(tag + '[href=' + v + ']');
      }
    }
  }
  return bad;
}"""


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOOPBACK


class Watch:
    """Every request of a browser context; any not to loopback is recorded and aborted."""

    def __init__(self, context: Any) -> None:
        self.outside: list[str] = []
        self.seen = 0
        context.on("request", self._request)
        context.route("**/*", self._route)

    def _request(self, request: Any) -> None:
        self.seen += 1
        if not is_loopback(request.url) and request.url not in self.outside:
            self.outside.append(request.url)

    def _route(self, route: Any) -> None:
        if is_loopback(route.request.url):
            route.continue_()
        else:
            if route.request.url not in self.outside:
                self.outside.append(route.request.url)
            route.abort()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def settle(page: Any) -> None:
    """Let the page start whatever it would load, and the request events reach Python."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


# ---------------------------------------------------------------- 1. static pages


def test_rendered_payloads_load_nothing_in_a_static_page(browser: Any) -> None:
    context = browser.new_context()
    watch = Watch(context)
    page = context.new_page()
    try:
        # The recorder works: a plain <img> to the tracker is seen (and aborted).
        page.set_content('<img src="http://tracker.example/control-static.png">')
        settle(page)
        assert watch.outside == ["http://tracker.example/control-static.png"]
        watch.outside.clear()

        for name, payload in PAYLOADS.items():
            answer = payload_answer(payload)
            turns = [{"question": payload, "answer": answer}, {"question": f"Nog eens {payload}", "answer": answer}]
            body = "".join(
                [
                    f'<div id="q">{render.question_html(payload)}</div>',
                    f'<div id="partial">{render.partial_html(answer["answer"])}</div>',
                    f'<div id="chat">{render.answer_html(answer, 1)}</div>',
                    f'<div id="sources">{render.sources_html(turns)}</div>',
                ]
            )
            page.set_content(f"<!doctype html><html><head><title>{name}</title></head><body>{body}</body></html>")
            settle(page)
            assert watch.outside == [], (name, watch.outside)
            assert page.evaluate(FIND_LOADERS, "#q, #partial, #chat") == [], name
            assert page.evaluate(FIND_LOADERS, "#sources") == [], name
            if "\n" not in payload:
                assert page.locator('#chat a[href="#src-1-1"]').inner_text() == "[1]"
                assert page.locator("#src-1-1").count() == 1  # the citation's card is on the page
    finally:
        context.close()
    assert watch.outside == []


# ---------------------------------------------------------------- 2. Gradio's Chatbot, as the app configures it


def serve_blocks(blocks: Any) -> tuple[str, Any, threading.Thread]:
    import gradio as gr
    from fastapi import FastAPI

    app = gr.mount_gradio_app(FastAPI(), blocks, path="/", ssr_mode=False, mcp_server=False, pwa=False)
    return serve_asgi(app, "chatbot page")


def test_rendered_payloads_load_nothing_in_gradios_chatbot(browser: Any) -> None:
    import gradio as gr

    messages: list[dict[str, str]] = []
    for i, (name, payload) in enumerate(PAYLOADS.items()):
        answer = payload_answer(payload)
        answer["answer"] = answer["answer"].replace("Een zin met", f"Voorbeeld {name}:")
        messages.append({"role": "user", "content": render.question_html(f"Vraag {name}: {payload}")})
        messages.append({"role": "assistant", "content": render.partial_html(f"Gedeeltelijk {name}: {payload}")})
        messages.append({"role": "assistant", "content": render.answer_html(answer, i)})
    control = [{"role": "assistant", "content": "![c](http://tracker.example/control-chatbot.png)"}]
    config = {"sanitize_html": True, "latex_delimiters": [], "layout": "panel", "buttons": [], "feedback_options": None}
    with gr.Blocks(analytics_enabled=False) as blocks:
        gr.Chatbot(value=control, elem_id="control", height=200, **config)
        gr.Chatbot(value=messages, elem_id="chat", height=20000, **config)
    url, server, thread = serve_blocks(blocks)

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    watch = Watch(context)
    try:
        page = context.new_page()
        page.goto(url)
        from playwright.sync_api import expect

        last = list(PAYLOADS)[-1]
        expect(page.locator("#chat")).to_contain_text(f"Voorbeeld {last}:", timeout=30_000)
        for name in PAYLOADS:
            page.locator("#chat").get_by_text(f"Vraag {name}:", exact=False).first.scroll_into_view_if_needed()
        settle(page)
        # The control: this chat path loads a Markdown image from anywhere, and the recorder sees it.
        assert watch.outside == ["http://tracker.example/control-chatbot.png"], watch.outside

        chat_text = page.locator("#chat").inner_text()
        for i, (name, payload) in enumerate(PAYLOADS.items()):
            assert f"Voorbeeld {name}:" in chat_text
            assert f"Gedeeltelijk {name}:" in chat_text
            if "\n" not in payload:
                assert page.locator(f'#chat a[href="#src-{i}-1"]').count() == 1, name
        # The finding's payload shows as the text it is.
        assert '``<img src="http://tracker.example/a.png">`' in chat_text
        assert page.locator("#chat .message-content").count() == len(messages)
        assert page.evaluate(FIND_LOADERS, "#chat .message-content") == []
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('#chat a[href]')).map(a => a.getAttribute('href'))")
        assert hrefs and all(h.startswith("#src-") for h in hrefs), hrefs
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=5)
        blocks.close()
    assert watch.outside == ["http://tracker.example/control-chatbot.png"], watch.outside


# ---------------------------------------------------------------- 3. the app, with the payloads in its corpus


def question(code: str) -> str:
    return f"Wat beschrijft het {code}protocol van de {code}-alliantie voor {code}-partners en {code}-teams?"


def write_payload_corpus(corpus: Path) -> None:
    for code, name in CASES:
        first, *rest = PAYLOADS[name].split("\n")
        lines = [f"Opmaak {code}", "", f"Het {code}protocol van de {code}-alliantie beschrijft voor {code}-partners en {code}-teams dit voorbeeld {first} als {code}-afspraak."]
        if rest:
            lines += ["", "\n".join(rest)]
        (corpus / f"opmaak-{code}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    every = ["Alle opmaakvoorbeelden", ""]
    for name, payload in PAYLOADS.items():
        every += [f"De verzameling opmaakvoorbeelden van het team toont {payload} als voorbeeld {name}.", ""]
    (corpus / "opmaak-verzameling.txt").write_text("\n".join(every), encoding="utf-8")


@pytest.fixture(scope="module")
def payload_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    from advisor.answer.service import Advisor
    from advisor.index.build import build_index
    from tests.conftest import FakeEmbedder

    root = tmp_path_factory.mktemp("browser-payloads")
    with isolated_env(root):
        settings = ui_settings(root)
    write_payload_corpus(Path(settings.corpus_dir))
    embedder = FakeEmbedder()
    report = build_index(settings, embedder)
    assert report.failed == []
    app = launch(settings, Advisor(settings, embedder))
    yield app
    app.stop()


def ask(page: Any, text: str) -> None:
    page.locator("#question textarea").fill(text)
    page.locator("#question textarea").press("Enter")


def test_payload_documents_answered_cited_and_opened_in_the_app(payload_live: LiveApp, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
    watch = Watch(context)
    regions = "#chat .message-content, #sources, #doc-viewer"  # (Gradio's own icons in #chat hold <style>)
    try:
        page = context.new_page()
        page.goto(payload_live.url)
        expect(page.locator("#status-line")).to_contain_text(f"{6 + len(CASES) + 1} documents", timeout=30_000)

        # The document holding every payload, cited and opened in the viewer.
        ask(page, "Wat toont de verzameling opmaakvoorbeelden van het team als voorbeeld?")
        expect(page.locator("#chat a[href^='#src-0-']").first).to_be_attached(timeout=30_000)
        card = page.locator("#sources .src-card", has_text="opmaak-verzameling.txt").first
        expect(card).to_be_visible(timeout=10_000)
        card.locator(".src-open").click()
        viewer = page.locator("#doc-viewer")
        expect(viewer).to_contain_text("Alle opmaakvoorbeelden", timeout=10_000)
        for name, payload in PAYLOADS.items():
            if "\n" not in payload:  # (a reference definition's line is left out, with what follows it)
                expect(viewer).to_contain_text(f"als voorbeeld {name}.")
        expect(viewer).to_contain_text('``<img src="http://tracker.example/a.png">`')  # shown as the text it is
        settle(page)
        assert watch.outside == [], watch.outside
        assert page.evaluate(FIND_LOADERS, regions) == []

        # Each payload on its own: asked about, answered with a citation, its source shown and opened.
        for turn, (code, name) in enumerate(CASES, start=1):
            ask(page, question(code))
            expect(page.locator(f"#chat a[href^='#src-{turn}-']").first).to_be_attached(timeout=30_000)
            expect(page.locator("#chat")).to_contain_text(f"Het {code}protocol van de {code}-alliantie", timeout=10_000)
            card = page.locator("#sources .src-card", has_text=f"opmaak-{code}.txt").first
            expect(card).to_be_visible(timeout=10_000)
            card.locator(".src-open").click()
            expect(page.locator("#doc-viewer .doc-title")).to_have_text(f"Opmaak {code}", timeout=10_000)
            settle(page)
            assert watch.outside == [], (name, watch.outside)
            assert page.evaluate(FIND_LOADERS, regions) == [], name

        assert page.locator("#chat .message-content").count() == 2 * (len(CASES) + 1)
        chat = page.locator("#chat").inner_text()
        assert '``<img src="http://tracker.example/a.png">`' in chat  # the finding's payload, as text
        images = page.evaluate("Array.from(document.images).map(i => i.src)")
        assert all(is_loopback(src) for src in images), images
    finally:
        context.close()
    assert watch.seen > 0
    assert watch.outside == [], f"requests left loopback: {watch.outside}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
