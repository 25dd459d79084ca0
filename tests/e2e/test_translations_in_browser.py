"""A reader whose browser speaks French, in a real browser with email over SMTP: gets the
French letter at the letter's plain address, switches to English and back, signs in
French, confirms from the email, and is counted on the one count the languages share."""

import re

import pytest

from letters.models import Letter, LetterTranslation
from petition.models import Signature
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, SignatureFactory

from .conftest import screenshot, submit
from .test_moderation_in_browser import mail_server, public_count, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM = re.compile(r"https?://\S+/confirm/\S+/")
FRENCH_TITLE = "Lettre ouverte pour des conditions équitables"
ENGLISH_TITLE = "Open letter on fair terms"


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(
        slug="bilingual", title=ENGLISH_TITLE, language="en", signer_fields=["city"]
    )
    LetterTranslation.objects.create(
        letter=letter,
        language="fr",
        title=FRENCH_TITLE,
        recipient="Le conseil d'Example AI",
        body="Nous vous demandons de **rémunérer** les artistes.",
    )
    SignatureFactory(letter=letter, verified=True, name="Early Signer", language="en")
    return letter


@pytest.fixture
def french_page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_a_french_reader_signs_the_french_letter_on_the_shared_count(
    french_page,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    page = french_page
    base = live_server.url
    page.goto(f"{base}/letters/bilingual/")
    assert page.locator("h1").inner_text() == FRENCH_TITLE
    assert page.locator("html").get_attribute("lang") == "fr"
    # Located by markup, not by interface text: that text is translated into French too
    # once the site has its French catalogue.
    switcher = page.locator("nav.letter-languages")
    assert switcher.locator('a[aria-current="page"]').inner_text() == "Français"
    screenshot(page, "letter-in-french")

    switcher.get_by_role("link", name="English").click()
    page.wait_for_url(f"{base}/letters/bilingual/en/")
    assert page.locator("h1").inner_text() == ENGLISH_TITLE
    assert page.locator("html").get_attribute("lang") == "en"
    switcher.get_by_role("link", name="Français").click()
    page.wait_for_url(f"{base}/letters/bilingual/fr/")
    assert page.locator("h1").inner_text() == FRENCH_TITLE

    page.locator("#sign input[name=name]").fill("Camille Martin")
    page.locator("#sign input[name=email]").fill("camille@example.fr")
    page.locator("#sign .more-fields summary").click()
    page.locator("#sign input[name=city]").fill("Lyon")
    page.locator("#sign input[name=consent]").check()
    page.locator("#sign button[type=submit]").click()
    page.wait_for_url(f"{base}/letters/bilingual/signed/?lang=fr")
    assert FRENCH_TITLE in page.locator("main").inner_text()

    email = mail_server.wait_for(1)[0]
    assert FRENCH_TITLE in email["Subject"]
    assert FRENCH_TITLE in text_of(email)
    page.goto(CONFIRM.search(text_of(email)).group(0))
    assert FRENCH_TITLE in page.locator("main").inner_text()
    submit(page.locator("main form button[type=submit]"))
    screenshot(page, "signed-in-french")

    signature = Signature.objects.get(letter=letter, email_normalized="camille@example.fr")
    assert signature.language == "fr"
    assert signature.status == Signature.Status.VERIFIED
    assert public_count(page, base, "bilingual") == "2"
    page.goto(f"{base}/letters/bilingual/en/")
    assert page.locator("#signature-count").inner_text() == "2"
    assert page.get_by_text("Camille Martin").is_visible()
