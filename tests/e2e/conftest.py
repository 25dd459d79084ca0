"""Real-browser tests: Playwright driving Debian's Chromium against a live server."""

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts")) / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# around it are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Modules whose tests walk every page for what the markup alone decides; the database
# behind the pages does not change the answer, so `make test` runs them once.
PAGE_SWEEPS = {
    "test_accessibility",
    "test_screenshots",
    "test_no_third_party",
    "test_keyboard_signing",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)  # collected test functions have one
        if module is None or not module.__name__.startswith("tests.e2e."):
            continue
        if module.__name__.rsplit(".", 1)[-1] in PAGE_SWEEPS:
            item.add_marker(pytest.mark.page_sweep)
        # Under pytest-xdist with --dist loadgroup (`make test`), the browser tests run one
        # after another in one worker, with one Chromium and one live server, while the
        # other workers take the unit tests.
        item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def browser(live_server) -> Iterator[object]:
    """One Chromium for the session. It asks for the live server so that it closes first:
    closing it ends its kept-alive connections, and the server's request threads close the
    shared in-memory database connection while the server still shares it (else each
    thread raised, after the server had stopped, an error pytest reported as a warning)."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("UNDERSIGNED_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must install it")
        pytest.skip(f"browser tests not run: no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
    _request_threads_join()


def _request_threads_join(timeout: float = 10) -> None:
    """Wait for the live server's request threads, which end once their client is gone."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def submit(control) -> None:
    """Click a control that submits a form or follows a link, and wait until the page it
    leads to has loaded: a check or a goto() made sooner could race the navigation (and a
    goto() would cancel the form's POST)."""
    with control.page.expect_navigation():
        control.click()
