"""A new reader at 1366 x 768, start to finish: sign with a public comment without scrolling
the page, confirm from the one email, share from the confirmation page (plain links, the
copy button, a Mastodon server prompt) without the browser contacting any other site, then
find their name and comment in the full list of signatories."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from letters.models import Letter
from tests.factories import LetterFactory

from .conftest import screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)
LINK = re.compile(r"https?://\S+/confirm/\S+/")
BODY = "\n\n".join(f"Paragraph {n}: fair pay, credit and consent for our work." for n in range(30))


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    return LetterFactory(
        slug="fair-terms", body=BODY, goal=100,
        signer_fields=["title", "organization", "city", "country", "comment"],
    )  # fmt: skip


def test_sign_with_a_comment_confirm_share_and_find_it_in_the_list(
    browser, live_server, letter: Letter
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    elsewhere: list[str] = []
    refused: list[str] = []

    def watch(request) -> None:
        url = request.url
        if urlsplit(url).scheme in ("http", "https") and not url.startswith(live_server.url):
            elsewhere.append(url)

    page.on("request", watch)
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text or message.text.startswith("Refused")
            else None
        ),
    )

    page.goto(f"{live_server.url}/letters/fair-terms/")
    page.get_by_label("Full name").fill("Grace Example")
    page.get_by_label("Email").fill("grace@example.org")
    page.locator("#sign .more-fields summary").click()
    page.get_by_label("Comment", exact=True).fill("Consent is not optional.")
    page.get_by_label("Show my comment publicly with my name").check()
    page.get_by_label("I agree that my signature").check()
    button = page.locator("#sign button[type=submit]")
    box = button.bounding_box()
    assert box is not None
    assert page.evaluate("window.scrollY") == 0
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768, box
    screenshot(page, "journey-1366-sign-with-comment")
    submit(button)
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.get_by_role("heading", name="Share the letter")).to_be_visible()

    assert len(mail.outbox) == 1
    link = LINK.search(str(mail.outbox[0].body)).group(0)
    page.goto(link)
    submit(page.get_by_role("button", name="Confirm my signature"))
    expect(page.get_by_role("heading", name="Thank you: your signature counts")).to_be_visible()
    assert len(mail.outbox) == 1  # confirming sends nothing more

    # Share: every link is there, and none of them was fetched.
    share = page.locator("section.share")
    letter_url = f"{live_server.url}/letters/fair-terms/"
    for name in ("Email", "Mastodon", "Bluesky", "LinkedIn", "X", "WhatsApp"):
        expect(share.get_by_role("link", name=name, exact=True)).to_be_visible()
    linkedin = share.get_by_role("link", name="LinkedIn").get_attribute("href") or ""
    assert parse_qs(urlsplit(linkedin).query)["url"] == [letter_url]
    assert share.locator("#share-url").input_value() == letter_url
    # Script adds the copy button; the Mastodon note is for readers without it.
    copy = share.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()
    expect(share.locator("#share-mastodon-note")).to_be_hidden()
    copy.click()
    expect(share.locator("#share-status")).not_to_be_empty()
    screenshot(page, "journey-1366-share")
    assert not elsewhere, elsewhere
    assert not refused, refused

    # Mastodon asks for the reader's server and opens its share page there; the request
    # that follows the reader's choice is answered here (no network in tests).
    context.route("https://mastodon.example/**", lambda route: route.fulfill(status=200, body="ok"))
    page.once("dialog", lambda dialog: dialog.accept("https://Mastodon.example/home"))
    with context.expect_page() as opened:
        share.get_by_role("link", name="Mastodon").click()
    target = urlsplit(opened.value.url)
    assert (target.scheme, target.netloc, target.path) == ("https", "mastodon.example", "/share")
    assert letter_url in parse_qs(target.query)["text"][0]
    opened.value.close()

    page.goto(f"{live_server.url}/letters/fair-terms/signatures/")
    entry = page.locator("li", has_text="Grace Example")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("Consent is not optional.")
    screenshot(page, "journey-1366-full-list")
    context.close()
