"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Screenshots of every step go to test-artifacts/e2e/ (git-ignored; CI keeps them as artefacts).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
    # browser steps are ordinary blocking calls, which Django would otherwise refuse inside a loop.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def new_page(browser, live_server):
    """new_page(locale) → a page in a fresh browser context (its own cookies) on the live server."""
    contexts = []

    def _new(locale: str = "en-GB"):
        context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda msg: page.csp_errors.append(msg.text)  # type: ignore[attr-defined]
                if "Content Security Policy" in msg.text else None)
        return page

    yield _new
    for context in contexts:
        context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
