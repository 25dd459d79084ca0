"""Signing on a phone, in a real browser with email over SMTP: the reader jumps from the
count to the form, signs, confirms from the emailed link, and sees the count rise, on a
390x844 screen with nothing to scroll sideways."""

import re

import pytest
from playwright.sync_api import expect

from letters.models import Letter
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, SignatureFactory

from .conftest import screenshot
from .test_moderation_in_browser import mail_server, public_count, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM = re.compile(r"https?://\S+/confirm/\S+/")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(slug="on-the-go", goal=100, signer_fields=["city", "country"])
    SignatureFactory(letter=letter, verified=True, name="Early Signer")
    return letter


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_reader_signs_and_confirms_on_a_phone(
    browser,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    base = live_server.url
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/letters/on-the-go/")
    assert fits_the_screen(page)
    # On a phone the form is below the letter; a button near the count leads to it.
    jump = page.get_by_role("link", name="Sign this letter")
    expect(jump).to_be_in_viewport()
    jump.click()
    name = page.get_by_label("Full name")
    expect(name).to_be_in_viewport()
    name.fill("Mobile Signer")
    page.get_by_label("Email").fill("mobile.signer@example.org")
    page.get_by_text("Add your title, organization or a comment").click()
    page.get_by_label("City").fill("Porto")
    page.get_by_label("I agree that my signature").check()
    box = page.get_by_role("button", name="Sign", exact=True).bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 40  # a thumb's target
    screenshot(page, "mobile-signing-form")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert fits_the_screen(page)

    page.goto(CONFIRM.search(text_of(mail_server.wait_for(1)[0])).group(0))
    assert fits_the_screen(page)
    screenshot(page, "mobile-confirm-button")
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_text("change or withdraw your signature later")).to_be_visible()
    assert fits_the_screen(page)
    screenshot(page, "mobile-confirmed")

    assert public_count(page, base, "on-the-go") == "2"
    expect(page.get_by_text("Mobile Signer")).to_be_visible()
    expect(page.locator("progress.goal")).to_have_attribute("value", "2")
    assert fits_the_screen(page)
    context.close()
