"""A letter changes after people signed it, in real browsers with email over SMTP: the
author makes a material edit with a note; an earlier signer gets the email, sees what
changed and confirms on the new version; the changelog shows the diff and who signed
which version."""

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from letters.models import Letter
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

from .conftest import screenshot
from .test_moderation_in_browser import log_in, mail_server, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
RECONFIRM = re.compile(r"https?://\S+/reconfirm/[^/\s]+/")


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(
        slug="living-letter",
        title="Fair terms for artists",
        body="We ask you to pay the artists whose work trained your model.",
        signer_fields=[],
    )
    SignatureFactory(letter=letter, verified=True, name="Grace Early", email="grace@example.org")
    SignatureFactory(letter=letter, verified=True, name="Hal Early", email="hal@example.org")
    return letter


def test_material_edit_asks_an_earlier_signer_who_confirms_on_the_new_version(
    browser,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    base = live_server.url
    author = UserFactory(email="author@example.org")
    EmailAddress.objects.create(user=author, email=author.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=author)

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, base, author.email)
    page.goto(f"{base}/letters/living-letter/edit/")
    page.locator("textarea[name=body]").fill(
        "We ask you to pay and credit the artists whose work trained your model."
    )
    page.get_by_label("What changed").fill("We now also ask for credit.")
    page.get_by_label("This is a material change").check()
    screenshot(page, "versions-material-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Changes saved.")).to_be_visible()
    expect(page.get_by_text("The text is now version 2")).to_be_visible()

    # Both earlier signers are asked; Grace reads her email and follows the link.
    messages = mail_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["grace@example.org", "hal@example.org"]
    grace_mail = next(m for m in messages if m["To"] == "grace@example.org")
    assert "The letter you signed has changed" in grace_mail["Subject"]
    signer = browser.new_context().new_page()
    signer.goto(RECONFIRM.search(text_of(grace_mail)).group(0))
    expect(signer.get_by_role("heading", name="The letter has changed")).to_be_visible()
    expect(signer.locator("ins", has_text="and credit")).to_be_visible()
    expect(signer.get_by_text("We now also ask for credit.")).to_be_visible()
    expect(signer.get_by_role("link", name="Manage or withdraw my signature")).to_be_visible()
    screenshot(signer, "versions-reconfirm")
    signer.get_by_role("button", name="Confirm my signature on the new version").click()
    expect(signer.get_by_text("now stands for version 2 of the text")).to_be_visible()

    # The public page says which version this is; the changelog shows the diff and counts.
    signer.goto(f"{base}/letters/living-letter/")
    expect(signer.get_by_text("Version 2")).to_be_visible()
    signer.get_by_role("link", name="See what changed").click()
    version_2 = signer.locator("#version-2")
    expect(version_2.get_by_text("1 signature on this version")).to_be_visible()
    expect(version_2.locator("ins", has_text="and credit")).to_be_visible()
    expect(version_2.locator(".badge.material")).to_be_visible()
    expect(signer.locator("#version-1").get_by_text("1 signature on this version")).to_be_visible()
    screenshot(signer, "versions-changelog")
