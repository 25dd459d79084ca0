"""The interface language in a real browser: a French browser gets French pages and no
cookie; the footer switcher turns the interface German and only then sets the language
cookie; a French letter explains a bad submission in French; counts are written the
French way."""

import pytest

from letters.models import Letter
from petition.models import LetterCount
from tests.factories import LetterFactory

from .conftest import screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def french_browser(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    yield context
    context.close()


@pytest.fixture
def french_letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(
        slug="conditions",
        title="Des conditions équitables pour les artistes",
        language="fr",
        goal=50000,
        signer_fields=["city"],
    )
    LetterCount.objects.create(
        letter=letter, dimension=LetterCount.Dimension.TOTAL, key="", count=12345
    )
    return letter


def test_french_browser_reads_french_and_switches_to_german(
    french_browser, live_server, french_letter: Letter
) -> None:
    page = french_browser.new_page()
    base = live_server.url
    page.goto(f"{base}/privacy/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").inner_text() == "Politique de confidentialité"
    switcher = page.locator("form.language-switcher")
    assert switcher.locator('[aria-current="true"]').inner_text() == "Français"
    assert french_browser.cookies() == [], "reading sets no cookie"
    screenshot(page, "i18n-privacy-fr")

    switcher.get_by_role("button", name="Deutsch").click()
    page.wait_for_url(f"{base}/privacy/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("form.language-switcher [aria-current]").inner_text() == "Deutsch"
    cookies = {cookie["name"]: cookie for cookie in french_browser.cookies()}
    assert cookies["django_language"]["value"] == "de"
    assert cookies["django_language"]["httpOnly"] is True

    # The choice holds on other pages, against the browser's French...
    page.goto(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "de"
    screenshot(page, "i18n-home-de")
    # ...but a letter page stays in the letter's language, with its own language list.
    page.goto(f"{base}/letters/conditions/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("form.language-switcher").count() == 0


def test_french_letter_explains_a_bad_submission_in_french_with_french_numbers(
    french_browser, live_server, french_letter: Letter
) -> None:
    page = french_browser.new_page()
    page.goto(f"{live_server.url}/letters/conditions/")
    assert page.locator("#signature-count").inner_text() == "12\xa0345"
    assert "50\xa0000" in page.locator("main").inner_text()
    form = page.locator("#sign form")
    assert form.locator('label[for="id_name"]').inner_text().startswith("Nom complet")
    assert form.locator('label[for="id_city"]').text_content().startswith("Ville")

    # The form is novalidate: the server's messages are the ones readers see, in French.
    form.locator("input[name=name]").fill("Camille Martin")
    form.locator("input[name=email]").fill("pas-une-adresse")
    submit(form.locator("button[type=submit]"))
    main = page.locator("main").inner_text()
    assert "Saisissez une adresse e-mail valide." in main
    assert "Veuillez accepter la politique de confidentialité pour signer." in main
    assert page.locator("html").get_attribute("lang") == "fr"
    screenshot(page, "i18n-letter-errors-fr")
