"""Issue 6 as its users live it, in real browsers with every email read over SMTP.

A reader whose browser speaks French signs the French letter and confirms; from the
emailed manage link they claim an affiliation and verify it from their work inbox; the
author then makes a material edit, and the earlier signers (the French one included) are
asked to confirm again; the French signer confirms the new version, later withdraws
through the magic link, and the shared count drops in every language.

Pages shown in French are driven by markup rather than by interface text, which issue 7
translates.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from letters.models import Letter, LetterRole, LetterTranslation
from petition.models import Signature
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

from .conftest import screenshot, submit
from .test_moderation_in_browser import log_in, mail_server, public_count, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM = re.compile(r"https?://\S+/confirm/\S+/")
MANAGE = re.compile(r"https?://\S+/manage/[^/\s]+/")
AFFILIATION = re.compile(r"https?://\S+/affiliations/confirm/[^/\s]+/")
RECONFIRM = re.compile(r"https?://\S+/reconfirm/[^/\s]+/")
FRENCH_TITLE = "Lettre ouverte pour des conditions équitables"


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(
        slug="living",
        title="Open letter on fair terms",
        body="We ask you to pay the artists whose work trained your model.",
        language="en",
        signer_fields=["title", "organization"],
    )
    LetterTranslation.objects.create(
        letter=letter,
        language="fr",
        title=FRENCH_TITLE,
        body="Nous vous demandons de **rémunérer** les artistes.",
    )
    SignatureFactory(letter=letter, verified=True, name="Early Signer", email="early@example.org")
    return letter


def _messages_to(mail: SmtpSink, count: int, address: str) -> list:
    return [m for m in mail.wait_for(count) if m["To"] == address]


def test_french_signer_verifies_an_affiliation_reconfirms_a_material_edit_then_withdraws(
    browser,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    base = live_server.url
    reader = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = reader.new_page()

    # The letter's plain address answers a French browser in French.
    page.goto(f"{base}/letters/living/")
    assert page.locator("h1").inner_text() == FRENCH_TITLE
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator("input[name=name]").fill("Camille Durand")
    page.locator("input[name=email]").fill("camille@example.net")
    page.locator("#sign .more-fields summary").click()
    page.locator("input[name=title]").fill("Illustratrice")
    page.locator("input[name=organization]").fill("Atelier Exemple")
    page.locator("input[name=consent]").check()
    screenshot(page, "journey-fr-sign")
    page.locator("#sign form button[type=submit]").click()

    verify = _messages_to(mail_server, 1, "camille@example.net")[0]
    page.goto(CONFIRM.search(text_of(verify)).group(0))
    submit(page.locator("main form button[type=submit]"))
    signature = Signature.objects.get(email_normalized="camille@example.net")
    assert (signature.status, signature.language, signature.version) == ("verified", "fr", 1)
    assert public_count(page, base, "living") == "2"
    assert page.locator("h1").inner_text() == FRENCH_TITLE

    # The same email's manage link works once the signature is confirmed: claim the
    # affiliation.
    manage_url = MANAGE.search(text_of(verify)).group(0)
    page.goto(manage_url)
    page.locator("#verify-affiliation").click()
    page.locator("input[name=domain]").fill("atelier.example")
    page.locator("input[name=email]").fill("camille.durand@atelier.example")
    submit(page.locator("main form button[type=submit]").first)
    work = mail_server.wait_for(2)[1]
    assert work["To"] == "camille.durand@atelier.example"
    page.goto(AFFILIATION.search(text_of(work)).group(0))
    submit(page.locator("main form button[type=submit]").first)
    signature.refresh_from_db()
    assert (signature.affiliation_verification, signature.affiliation_domain) == (
        "email",
        "atelier.example",
    )
    page.goto(f"{base}/letters/living/fr/")
    camille = page.locator(".public-signatures li", has_text="Camille Durand")
    assert camille.locator(".affiliation").inner_text().startswith("Illustratrice, Atelier")
    assert "atelier.example" in camille.inner_text()
    assert "camille.durand@" not in page.content()
    screenshot(page, "journey-fr-verified-affiliation")

    # The author makes a material edit; both earlier signers are asked to confirm again.
    author = UserFactory(email="author@example.org")
    EmailAddress.objects.create(user=author, email=author.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=author, role=LetterRole.Role.OWNER)
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(desk, base, author.email)
    desk.goto(f"{base}/letters/living/edit/")
    desk.locator("textarea[name=body]").fill(
        "We ask you to pay and credit the artists whose work trained your model."
    )
    desk.get_by_label("What changed").fill("We now also ask for credit.")
    desk.get_by_label("This is a material change").check()
    desk.get_by_role("button", name="Save changes").click()
    expect(desk.get_by_text("The text is now version 2")).to_be_visible()
    desk.context.close()

    asked = mail_server.wait_for(4)[2:]
    assert sorted(m["To"] for m in asked) == ["camille@example.net", "early@example.org"]
    reconfirm = next(m for m in asked if m["To"] == "camille@example.net")
    page.goto(RECONFIRM.search(text_of(reconfirm)).group(0))
    expect(page.locator("ins", has_text="and credit").first).to_be_visible()
    screenshot(page, "journey-fr-reconfirm")
    submit(page.locator("main form button[type=submit]").first)
    signature.refresh_from_db()
    assert signature.version == 2

    # Later, Camille withdraws through the same manage link; the count drops everywhere.
    page.goto(manage_url)
    page.locator("#withdraw").click()
    submit(page.locator("#confirm-withdraw"))
    signature.refresh_from_db()
    assert signature.status == "withdrawn"
    assert public_count(page, base, "living") == "1"
    english = browser.new_context(locale="en-GB").new_page()
    assert public_count(english, base, "living") == "1"
    assert english.locator("h1").inner_text() == "Open letter on fair terms"
    english.goto(f"{base}/letters/living/changes/")
    expect(english.locator("#version-1").get_by_text("1 signature on this version")).to_be_visible()
    screenshot(english, "journey-changelog-after-withdrawal")
    english.context.close()
    reader.close()
