"""The page speaks one language, chosen by the person, in a real headless Chromium.

It comes up in the browser's language (Playwright's `locale` sets `navigator.language`), the NL/EN
switch changes every label, and what the server writes into the page follows the switch. The
answer itself keeps its question's language; that is the composer's business, not tested here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from advisor.web import i18n, render
from tests.ui.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium)"),
]

# Every text of the header and the chat tab a person reads as a label: visible text, placeholders,
# the accessible names of buttons and fields. The conversation and the source cards are left out:
# they are content, not labels (a card's "section, p. 3 · file" is not a pair of languages).
VISIBLE_LABELS = """() => {
  const content = [...document.querySelectorAll('#chat .message-row, #sources .src-card')];
  content.forEach(e => { e.dataset.display = e.style.display; e.style.display = 'none'; });
  const roots = [document.querySelector('#page-title'), document.querySelector('#ui-language'),
                 document.querySelector('#status-line'), document.querySelector('#chat-tab'),
                 ...document.querySelectorAll('[role=tab]')];
  const out = [];
  for (const root of roots.filter(Boolean)) {
    out.push(root.innerText);
    for (const el of [root, ...root.querySelectorAll('*')]) {
      for (const attr of ['placeholder', 'aria-label', 'title']) {
        const v = el.getAttribute(attr);
        if (v) out.push(v);
      }
    }
  }
  content.forEach(e => { e.style.display = e.dataset.display; });
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def open_page(browser: Any, url: str, locale: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    page = context.new_page()
    page.goto(url)
    return page


def expect_labels(page: Any, language: str, *, empty: bool = True) -> None:
    """The chat tab's labels are those of `language` (and the empty chat's placeholder, when `empty`)."""
    from playwright.sync_api import expect

    ui = i18n.UI[language]
    expect(page.locator("#ask")).to_have_text(ui["ask"], timeout=30_000)
    expect(page.locator("#ui-language input[value='{}']".format(i18n.choice_of(language)))).to_be_checked()
    expect(page.locator("#page-title")).to_contain_text(ui["title"])
    expect(page.locator("#question textarea")).to_have_attribute("placeholder", ui["question"])
    expect(page.locator("#new-conversation")).to_have_text(ui["new_conversation"])
    expect(page.locator("#export")).to_have_text(ui["export"])
    expect(page.locator("#helpful")).to_have_text(ui["helpful"])
    expect(page.locator("#not-helpful")).to_have_text(ui["not_helpful"])
    expect(page.locator("#feedback-comment")).to_contain_text(ui["comment"])
    expect(page.locator("#copy-answer")).to_contain_text(ui["copy"])
    expect(page.locator("#doc-viewer")).to_contain_text(render.labels(language)["viewer_hint"])
    expect(page.get_by_role("tab", name=ui["desk_tab"], exact=True)).to_be_visible()
    if empty:
        expect(page.locator("#chat")).to_contain_text(ui["chat_placeholder"].split("\n")[0])
    expect(page.locator("#status-line")).to_contain_text("documenten" if language == "nl" else "documents")
    assert page.evaluate("document.documentElement.lang") == language


def no_label_in_two_languages(page: Any) -> None:
    labels = page.evaluate(VISIBLE_LABELS)
    assert labels
    assert [t for t in labels if " · " in t] == []


@pytest.mark.parametrize(("locale", "language"), [("nl-NL", "nl"), ("nl-BE", "nl"), ("en-GB", "en"), ("de-DE", "en")])
def test_the_page_comes_up_in_the_browsers_language(live: Any, browser: Any, locale: str, language: str) -> None:
    page = open_page(browser, live.url, locale)
    try:
        expect_labels(page, language)
        no_label_in_two_languages(page)
    finally:
        page.context.close()


def test_the_switch_relabels_the_chat_tab_and_the_desk(live: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, live.url, "nl-NL")
    try:
        expect_labels(page, "nl")
        # The sources panel's headings follow the page, not the (English) question.
        page.locator("#question textarea").fill("How does trust grow between partners?")
        page.locator("#question textarea").press("Enter")
        expect(page.locator("#sources .src-title")).to_have_text(render.labels("nl")["sources"], timeout=30_000)

        page.locator("#ui-language label", has_text="EN").click()
        expect_labels(page, "en", empty=False)
        expect(page.locator("#sources .src-title")).to_have_text(render.labels("en")["sources"])
        no_label_in_two_languages(page)

        page.get_by_role("tab", name=i18n.UI["en"]["desk_tab"], exact=True).click()
        expect(page.locator("#desk-unlock")).to_have_text(i18n.UI["en"]["unlock"])
        expect(page.locator("#desk-password")).to_contain_text(i18n.UI["en"]["password"])
        page.locator("#ui-language label", has_text="NL").click()
        expect(page.locator("#desk-unlock")).to_have_text(i18n.UI["nl"]["unlock"])
        expect(page.locator("#desk-password")).to_contain_text(i18n.UI["nl"]["password"])
        desk_text = page.locator("#desk-tab").inner_text()
        assert " · " not in desk_text, desk_text
    finally:
        page.context.close()


def test_what_the_server_writes_follows_the_switch(live: Any, browser: Any) -> None:
    from playwright.sync_api import expect

    page = open_page(browser, live.url, "nl-NL")
    try:
        expect_labels(page, "nl")
        page.locator("#helpful").click()
        expect(page.locator("#feedback-note")).to_have_text("Stel eerst een vraag.", timeout=10_000)

        page.locator("#ui-language label", has_text="EN").click()
        expect_labels(page, "en")
        page.locator("#helpful").click()
        expect(page.locator("#feedback-note")).to_have_text("Ask a question first.", timeout=10_000)

        # A Dutch question answered on an English page: the thanks are in English.
        page.locator("#question textarea").fill("Hoe groeit vertrouwen tussen partners?")
        page.locator("#question textarea").press("Enter")
        expect(page.locator("#sources .src-card").first).to_be_visible(timeout=30_000)
        page.locator("#helpful").click()
        expect(page.locator("#feedback-note")).to_have_text("Thank you for your feedback.", timeout=10_000)

        # The desk's login note, in the language of the switch.
        page.get_by_role("tab", name=i18n.UI["en"]["desk_tab"], exact=True).click()
        page.locator("#desk-password input").fill("not-" + PASSWORD)
        page.locator("#desk-unlock").click()
        expect(page.locator("#desk-login-note")).to_contain_text(i18n.text("wrong_password", "en"), timeout=10_000)
        page.locator("#ui-language label", has_text="NL").click()
        expect(page.locator("#desk-unlock")).to_have_text(i18n.UI["nl"]["unlock"])
        page.locator("#desk-password input").fill("nog-steeds-" + PASSWORD)
        page.locator("#desk-unlock").click()
        expect(page.locator("#desk-login-note")).to_contain_text(i18n.text("wrong_password", "nl"), timeout=10_000)
    finally:
        page.context.close()
