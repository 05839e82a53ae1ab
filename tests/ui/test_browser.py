"""The app in a real headless Chromium (Debian's package, never a downloaded browser build).

One story, as people live it: a question typed, the answer streaming in, a citation clicked and
its passage shown, a refusal with suggestions, and a maintainer uploading and re-indexing in a
second browser while the first keeps chatting. No request may leave the app's own origin.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.web.app import EXAMPLES
from tests.ui.conftest import FAKE_INDEX, PASSWORD, LiveApp, fake_live_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)"),
]

# Records every text the chat shows, so the test can see the answer arrive in steps.
WATCH_CHAT = """() => {
  window.__chatTexts = [];
  const chat = document.querySelector('#chat');
  new MutationObserver(() => window.__chatTexts.push(chat.innerText)).observe(chat, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    # A slowed-down re-index (fake embedder, 1.5 s per progress step) so chatting during the build is visible.
    app = fake_live_app(tmp_path_factory.mktemp("browser"), index_command=[*FAKE_INDEX, "--delay", "1.5"])
    yield app
    app.stop()


def test_chat_sources_refusal_and_a_reindex_while_chatting(live: LiveApp, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    origin = live.url.rstrip("/")
    outside: list[str] = []

    def record(request) -> None:  # type: ignore[no-untyped-def]
        url = request.url
        if not (url.startswith(origin + "/") or url == origin or url.startswith(("data:", "blob:", "about:"))):
            outside.append(url)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    new_doc = tmp_path / "exit-strategie.md"
    new_doc.write_text(
        "# Exitstrategie\n\n## Uitstappen\n\nEen goede exitregeling beschrijft hoe partners de alliantie beëindigen en bezittingen verdelen.\n",
        encoding="utf-8",
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # An English browser: the page comes up in English (tests/ui/test_browser_language.py switches it).
            chat_ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
            desk_ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-GB")
            chat_ctx.on("request", record)
            desk_ctx.on("request", record)
            page = chat_ctx.new_page()
            page.goto(live.url)

            # First open: example questions in both languages.
            for example in EXAMPLES:
                expect(page.get_by_text(example)).to_be_visible(timeout=30_000)
            expect(page.locator("#status-line")).to_contain_text("6 documents")

            # A typed question; the answer streams in.
            page.evaluate(WATCH_CHAT)
            page.locator("#question textarea").fill("Hoe groeit vertrouwen tussen partners?")
            page.locator("#question textarea").press("Enter")
            # What the answer says is the composer's business (tests/test_answer.py); the UI shows it with its sources.
            expect(page.locator("#sources .src-card").first).to_be_visible(timeout=30_000)
            expect(page.locator("#chat a[href^='#src-0-']").first).to_be_visible(timeout=10_000)
            seen = page.evaluate("window.__chatTexts")
            assert any("…" in t for t in seen), "no intermediate (streaming) state was shown"

            # A citation clicked: its passage is brought into view in the sources panel, highlights marked.
            link = page.locator("#chat a[href^='#src-0-']").last
            anchor = link.get_attribute("href") or ""
            expect(link).to_have_text(re.compile(r"^\[\d+\]$"))
            link.click()
            card = page.locator(anchor)
            expect(card).to_be_in_viewport()
            expect(card).to_have_class(re.compile(r"\bflash\b"))
            expect(card.locator("mark").first).to_be_visible()
            passage = card.locator("mark").first.inner_text().strip()
            assert len(chat_ctx.pages) == 1  # the link did not open a tab

            # The whole document, opened at the cited place.
            card.locator(".src-open").click()
            target = page.locator("#doc-viewer #doc-target")
            expect(target).to_contain_text(passage)
            expect(target).to_be_in_viewport()
            # (the README shows a real answer on the shipped corpus: scripts/screenshot_answer.py)
            page.screenshot(path=str(tmp_path / "chat-answer-sources-fixture.png"), full_page=True)

            # A refusal near the corpus shows the nearest topics as suggestions; one click asks about that topic.
            page.locator("#question textarea").fill("Which tax rate applies to pizza, pasta, wine and coffee bought by partners?")
            page.locator("#question textarea").press("Enter")
            suggestion = page.locator("#suggestions button.suggestion").first
            expect(suggestion).to_be_visible(timeout=30_000)
            expect(page.locator("#sources .src-empty")).to_be_visible()
            topic = suggestion.inner_text().strip()
            page.screenshot(path=str(tmp_path / "refusal-suggestions-fixture.png"), full_page=True)
            suggestion.click()
            expect(page.locator("#chat")).to_contain_text(f"What do the sources say about {topic}?", timeout=30_000)
            expect(page.locator("#sources .src-title")).to_have_text("Sources")
            expect(page.locator("#suggestions button.suggestion:visible")).to_have_count(0, timeout=30_000)

            # A maintainer, in a second browser, uploads a document and starts a re-index.
            desk = desk_ctx.new_page()
            desk.goto(live.url)
            # (first, in this fresh session, an example question asked with one click)
            desk.get_by_text(EXAMPLES[2]).click()
            expect(desk.locator("#sources .src-title")).to_have_text("Sources", timeout=30_000)
            desk.get_by_role("tab", name="Maintainer").click()
            desk.locator("#desk-password input").fill(PASSWORD)
            desk.locator("#desk-unlock").click()
            expect(desk.locator("#desk-controls")).to_be_visible(timeout=10_000)
            expect(desk.locator("#desk-corpus")).to_contain_text("governance.pdf")
            desk.locator("#desk-upload input[type=file]").set_input_files(str(new_doc))
            expect(desk.locator("#desk-upload")).to_contain_text(re.compile(r"exit-strategie\s*\.md"), timeout=10_000)
            desk.locator("#desk-add").click()
            expect(desk.locator("#desk-upload-note")).to_contain_text("exit-strategie.md: added", timeout=10_000)
            expect(desk.locator("#desk-corpus")).to_contain_text("not indexed yet")
            desk.locator("#desk-reindex").click()
            expect(desk.locator("#desk-index-status")).to_contain_text("A new index is being built", timeout=15_000)

            # Meanwhile the first browser keeps chatting, and is told a new index is on its way.
            expect(page.locator("#status-line")).to_contain_text("A new index is being built", timeout=15_000)
            page.locator("#question textarea").fill("Wat legt een alliantiecharter vast?")
            page.locator("#question textarea").press("Enter")
            expect(page.locator("#sources")).to_contain_text("charter.txt", timeout=30_000)
            expect(page.locator("#sources")).to_contain_text("logo van de partner")  # an image's alt text, not the image
            assert live.app.state.runner.running("index"), "the answer should have come during the re-index"

            expect(desk.locator("#desk-index-status")).to_contain_text("is now current: 7 documents", timeout=60_000)
            expect(desk.locator("#desk-corpus")).to_contain_text("Exitstrategie", timeout=10_000)
            expect(desk.locator("#status-line")).to_contain_text("7 documents", timeout=15_000)
            desk.screenshot(path=str(SCREENSHOTS / "maintainer-desk.png"), full_page=True)

            # The new document answers in the first browser.
            expect(page.locator("#status-line")).to_contain_text("7 documents", timeout=15_000)
            page.locator("#question textarea").fill("Hoe regel je de exit en het verdelen van bezittingen?")
            page.locator("#question textarea").press("Enter")
            expect(page.locator("#sources")).to_contain_text("exit-strategie.md", timeout=30_000)

            images = page.evaluate("Array.from(document.images).map(i => i.src)")
            assert all(src.startswith((origin, "data:", "blob:")) for src in images), images
        finally:
            browser.close()
    assert outside == [], f"requests left the app's origin: {outside}"


if __name__ == "__main__":  # pragma: no cover - for a look at the screenshots by hand
    sys.exit(pytest.main([__file__, "-q"]))
