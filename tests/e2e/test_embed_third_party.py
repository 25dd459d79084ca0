"""A third-party site (another origin) embeds the widget twice, as a plain iframe and via
/embed.js, and sees the count follow a new signature without reloading."""

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.cache import local_clear
from letters.models import Letter
from petition.counting import tally_apply
from tests.conftest import SmtpSink, eventually, free_port
from tests.factories import LetterFactory

from .conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)
LINK = re.compile(r"https?://\S+/confirm/\S+/")

THIRD_PARTY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Friends of fair terms</title></head>
<body>
<h1>Friends of fair terms</h1>
<p>Our newsletter supports this letter:</p>
<iframe id="plain" src="{origin}/embed/fair/?theme=light" title="Signatures" width="420"
        height="190" style="border:0"></iframe>
<div id="loaded" data-undersigned="fair" data-theme="dark" data-accent="#0a7"></div>
<script src="{origin}/embed.js" async></script>
<noscript><iframe src="{origin}/embed/fair/" title="Signatures" width="420" height="190"></iframe></noscript>
</body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def third_party_site(tmp_path: Path, live_server) -> Iterator[str]:
    """Another origin (127.0.0.1 on its own port) serving a page that embeds the widget."""
    (tmp_path / "index.html").write_text(THIRD_PARTY_PAGE.format(origin=live_server.url))
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), partial(QuietHandler, directory=str(tmp_path))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture
def letter(settings, live_server, smtp_sink: SmtpSink) -> Letter:
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return LetterFactory(slug="fair", title="Fair terms for early-access artists", goal=10)


def widget_count(frame) -> str:
    return frame.locator('[data-role="count"]').inner_text()


def element_screenshot(locator, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sign_and_confirm(browser, live_server, smtp_sink: SmtpSink) -> None:
    """A reader in another browser signs on the letter page and confirms from the email."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/letters/fair/")
    page.get_by_label("Full name").fill("Grace Example")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("I agree that my signature").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    (message,) = smtp_sink.wait_for(1)
    body = message.get_body(preferencelist=("plain",)).get_content()
    page.goto(LINK.search(body).group(0))
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_role("heading", name="Thank you: your signature counts")).to_be_visible()
    context.close()


def test_widget_on_another_origin_follows_a_new_signature_without_reload(
    browser, live_server, letter: Letter, smtp_sink: SmtpSink, third_party_site: str
) -> None:
    context = browser.new_context(viewport={"width": 900, "height": 800})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(third_party_site)
    plain = page.frame_locator("#plain")
    loaded = page.frame_locator("#loaded iframe")
    assert widget_count(plain) == "0"
    assert widget_count(loaded) == "0"
    assert "Fair terms for early-access artists" in loaded.locator(".title").inner_text()

    # The loader made a dark iframe with the accent, and sized it to its content.
    frame = next(f for f in page.frames if "theme=dark" in f.url)
    assert frame.evaluate("document.documentElement.dataset.theme") == "dark"
    accent = "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    assert frame.evaluate(accent) == "#00aa77"
    content_height = frame.evaluate(
        "Math.ceil(document.documentElement.getBoundingClientRect().height)"
    )
    iframe = page.locator("#loaded iframe")
    assert eventually(lambda: iframe.evaluate("f => f.style.height") == f"{content_height}px", 10)
    assert context.cookies() == []
    element_screenshot(page.locator("#plain"), "embed-widget-light")
    element_screenshot(iframe, "embed-widget-dark")

    for f in page.frames[1:]:
        f.evaluate("window.notReloaded = true")
    sign_and_confirm(browser, live_server, smtp_sink)
    tally_apply()
    local_clear()  # the live server shares this process; skip its one-second memory

    # Polling every 12-15 s, behind a shared cache of a few seconds.
    assert eventually(lambda: widget_count(plain) == "1", timeout=45), widget_count(plain)
    assert eventually(lambda: widget_count(loaded) == "1", timeout=20), widget_count(loaded)
    assert loaded.locator('[data-role="label"]').inner_text() == "signature"
    assert all(f.evaluate("window.notReloaded === true") for f in page.frames[1:])
    assert plain.locator('[role="progressbar"]').get_attribute("aria-valuenow") == "1"
    assert context.cookies() == []
    assert not [line for line in console if "Content Security Policy" in line], console
    element_screenshot(page.locator("#plain"), "embed-widget-light-after")
    element_screenshot(iframe, "embed-widget-dark-after")
    context.close()


def test_widget_shows_the_count_and_a_link_to_sign_without_javascript(
    browser, live_server, letter: Letter
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/embed/fair/?theme=dark&accent=0a7cff")
    assert page.locator('[data-role="count"]').inner_text() == "0"
    assert page.get_by_role("link", name="Sign the letter").get_attribute("target") == "_blank"
    context.close()


def test_letter_page_embed_panel_previews_the_live_widget(
    browser, live_server, letter: Letter
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/letters/fair/")
    page.get_by_text("Embed this letter").click()
    preview = page.frame_locator(".embed-preview iframe")
    assert widget_count(preview) == "0"
    assert (
        page.get_by_label("Widget as a plain iframe")
        .input_value()
        .startswith(f'<iframe src="{live_server.url}/embed/fair/"')
    )
    expect(page.locator(".embed-panel .copy-button").first).to_be_visible()
    element_screenshot(page.locator(".embed-panel"), "letter-embed-panel")
    context.close()
