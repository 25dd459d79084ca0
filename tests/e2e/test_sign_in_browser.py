"""Sign the letter the way a person does: in a browser, then from the email's link."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from letters.models import Letter
from petition.models import Signature
from tests.factories import LetterFactory, NamedSignatoryFactory

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)
LINK = re.compile(r"https?://\S+/confirm/\S+/")


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(slug="fair-terms", goal=10, signer_fields=["organization", "country"])
    NamedSignatoryFactory(letter=letter, name="Ada Initial", affiliation="Union of illustrators")
    return letter


def test_sign_confirm_by_email_and_see_the_count_rise(page, live_server, letter: Letter) -> None:
    page.goto(f"{live_server.url}/letters/fair-terms/")
    assert page.locator("#signature-count").inner_text() == "0"
    expect(page.get_by_text("Ada Initial")).to_be_visible()

    page.get_by_label("Full name").fill("Grace Example")
    page.get_by_label("Email").fill("Grace@Example.org")
    # The optional details wait behind a disclosure that keeps the Sign button on screen.
    page.get_by_text("Add your title, organization or a comment").click()
    page.get_by_label("Organization").fill("Harbour Lane Collective")
    page.get_by_label("Country").select_option("FR")
    page.get_by_label("I agree that my signature").check()
    screenshot(page, "sign-form-filled")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    assert len(mail.outbox) == 1
    link = LINK.search(str(mail.outbox[0].body)).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    assert Signature.objects.get().status == "pending"
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_role("heading", name="Thank you: your signature counts")).to_be_visible()
    screenshot(page, "signature-confirmed")

    page.goto(f"{live_server.url}/letters/fair-terms/")
    assert page.locator("#signature-count").inner_text() == "1"
    expect(page.get_by_text("Grace Example")).to_be_visible()
    screenshot(page, "letter-after-signing")


def test_missing_consent_is_reported_next_to_the_field_and_nothing_is_stored(
    page, live_server, letter: Letter
) -> None:
    page.goto(f"{live_server.url}/letters/fair-terms/")
    page.get_by_label("Full name").fill("No Consent")
    page.get_by_label("Email").fill("nc@example.org")
    page.get_by_role("button", name="Sign", exact=True).click()
    error = page.locator("#id_consent_error")
    assert "Please agree to the privacy notice" in error.inner_text()
    assert page.get_by_label("Full name").input_value() == "No Consent"
    assert not Signature.objects.exists()


def test_mobile_layout_reaches_the_form_from_the_top(browser, live_server, letter: Letter) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/letters/fair-terms/")
    page.get_by_role("link", name="Sign this letter").click()
    expect(page.get_by_label("Full name")).to_be_visible()
    screenshot(page, "letter-mobile")
    context.close()
