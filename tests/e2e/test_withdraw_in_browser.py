"""A signer changes their mind, in a real browser with email over SMTP: signs, confirms,
follows the emailed manage link, hides their name, withdraws, and sees the count drop."""

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
MANAGE = re.compile(r"https?://\S+/manage/[^/\s]+/")


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(slug="second-thoughts", signer_fields=["organization"])
    SignatureFactory(letter=letter, verified=True, name="Early Signer")
    return letter


def test_signer_hides_their_name_then_withdraws_and_the_count_drops(
    page,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    base = live_server.url
    page.goto(f"{base}/letters/second-thoughts/")
    page.get_by_label("Full name").fill("Grace Secondthought")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_text("Add your title, organization or a comment").click()
    page.get_by_label("Organization").fill("Harbour Lane Collective")
    page.get_by_label("I agree that my signature").check()
    page.get_by_role("button", name="Sign", exact=True).click()

    verify_email = mail_server.wait_for(1)[0]
    page.goto(CONFIRM.search(text_of(verify_email)).group(0))
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_text("change or withdraw your signature later")).to_be_visible()
    assert public_count(page, base, "second-thoughts") == "2"
    expect(page.get_by_text("Grace Secondthought")).to_be_visible()

    # The verification email carried the manage link too: no second email.
    assert len(mail_server.messages) == 1
    page.goto(MANAGE.search(text_of(verify_email)).group(0))
    expect(page.get_by_text("Your signature is confirmed.")).to_be_visible()
    screenshot(page, "manage-signature")

    page.get_by_label("Show my name publicly").uncheck()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your changes are saved.")).to_be_visible()
    manage_url = page.url
    assert public_count(page, base, "second-thoughts") == "2"
    expect(page.get_by_text("Grace Secondthought")).not_to_be_visible()

    page.goto(manage_url)
    page.get_by_role("link", name="Withdraw my signature…").click()
    screenshot(page, "withdraw-confirm")
    page.get_by_role("button", name="Yes, withdraw my signature").click()
    expect(page.get_by_text("You have withdrawn this signature.")).to_be_visible()
    assert page.locator("main form").count() == 0
    expect(page.get_by_role("link", name="Download my data (JSON)")).to_be_visible()
    assert public_count(page, base, "second-thoughts") == "1"
