"""The README's chat screenshots: a real answer and a real refusal on the shipped corpus, in a real browser.

Serves the app on the shipped corpus and index (`advisor serve`, building the index when missing),
asks in Debian's Chromium and saves docs/screenshots/chat-answer-sources.png (a what-to-do
question) and docs/screenshots/refusal-suggestions.png (a question near the corpus on something
no document names).

    .venv/bin/python scripts/screenshot_answer.py ["question"]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Hoe voorkom ik dat wij-zij-denken de samenwerking ondermijnt?"
NEAR_TOPIC = "Welk btw-tarief geldt voor de diensten die de partners binnen onze joint venture aan elkaar leveren?"


def main() -> None:
    question = sys.argv[1] if len(sys.argv) > 1 else QUESTION
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_SERVER_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "advisor", "serve"], cwd=ROOT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(600):
            try:
                if httpx.get(url + "api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"], headless=True)
            page = browser.new_context(locale="nl-NL", viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.locator("#question textarea").fill(question)
            page.locator("#question textarea").press("Enter")
            expect(page.locator("#sources .src-card").first).to_be_visible(timeout=120_000)
            page.locator("#sources .src-open").first.click()
            expect(page.locator("#doc-viewer #doc-target")).to_be_visible(timeout=30_000)
            # the answer from its first line
            page.evaluate(
                "for (const e of document.querySelectorAll('#chat, #chat *')) { if (e.scrollHeight > e.clientHeight + 5) e.scrollTop = 0; }"
            )
            page.wait_for_timeout(1500)
            out = ROOT / "docs" / "screenshots" / "chat-answer-sources.png"
            page.screenshot(path=str(out), full_page=True)
            page = browser.new_context(locale="nl-NL", viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            page.locator("#question textarea").fill(NEAR_TOPIC)
            page.locator("#question textarea").press("Enter")
            expect(page.locator("#sources .src-empty")).to_be_visible(timeout=120_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ROOT / "docs" / "screenshots" / "refusal-suggestions.png"), full_page=True)
            browser.close()
        print(f"saved {out.relative_to(ROOT)}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
