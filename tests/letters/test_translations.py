"""Letters in several languages: which one a reader gets, the switcher, signing in a
translation, the emails that follow, and the owners' pages to write translations."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import AuditEntry, Letter, LetterRole, LetterTranslation
from petition.models import Signature
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory
from tests.responses import TestResponse

pytestmark = pytest.mark.django_db

FRENCH_TITLE = "Lettre ouverte pour des conditions équitables"


def translate(letter: Letter, language: str = "fr", **fields: object) -> LetterTranslation:
    values = {
        "title": FRENCH_TITLE,
        "recipient": "Le conseil d'Example AI",
        "body": "Nous vous demandons de **payer** les artistes.",
        "based_on_version": letter.version,
        **fields,
    }
    return LetterTranslation.objects.create(letter=letter, language=language, **values)


@pytest.fixture
def letter() -> Letter:
    letter = LetterFactory(slug="fair-terms", title="Fair terms for artists", language="en")
    translate(letter)
    return letter


def page_of(client: Client, url: str, **headers: str):
    response = client.get(url, headers=headers)
    return response, response.content.decode()


# --- Which language a reader gets ------------------------------------------------------


def test_the_url_names_the_language(client: Client, letter: Letter) -> None:
    response, page = page_of(client, "/letters/fair-terms/fr/", accept_language="en")
    assert response.status_code == 200
    assert FRENCH_TITLE in page
    assert "<strong>payer</strong>" in page
    assert response["Content-Language"] == "fr"


def test_the_original_has_its_own_language_url_too(client: Client, letter: Letter) -> None:
    response, page = page_of(client, "/letters/fair-terms/en/", accept_language="fr")
    assert response["Content-Language"] == "en"
    assert "Fair terms for artists" in page
    assert FRENCH_TITLE not in page


def test_without_a_language_in_the_url_the_browser_picks_it(client: Client, letter: Letter) -> None:
    response, page = page_of(client, "/letters/fair-terms/", accept_language="fr-FR,fr;q=0.9")
    assert FRENCH_TITLE in page
    assert response["Content-Language"] == "fr"
    assert "Accept-Language" in response["Vary"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de;q=0.9,fr;q=0.8,en;q=0.5", "fr"),  # German is missing; French beats English
        ("en;q=0.9,fr;q=0.95", "fr"),  # order in the header does not matter, q does
        ("fr;q=0.4,en;q=0.8", "en"),
        ("fr;q=0,en;q=0.1", "en"),  # q=0 means "not French"
        ("it,es", "en"),  # none available: the original
        ("*", "en"),
        ("", "en"),
        ("fr-CA", "fr"),  # a regional variant is served by the language
    ],
)
def test_accept_language_is_weighed_by_q_values(
    client: Client, letter: Letter, header: str, expected: str
) -> None:
    response, _ = page_of(client, "/letters/fair-terms/", accept_language=header)
    assert response["Content-Language"] == expected
    assert "Accept-Language" in response["Vary"]


def test_a_regional_translation_serves_readers_of_the_language(client: Client) -> None:
    letter = LetterFactory(slug="carta", language="en")
    translate(letter, "pt-br", title="Carta aberta")
    response, page = page_of(client, "/letters/carta/", accept_language="pt-PT,pt;q=0.9")
    assert "Carta aberta" in page
    response, page = page_of(client, "/letters/carta/pt-br/")
    assert response.status_code == 200
    assert "Carta aberta" in page


def test_a_language_the_letter_lacks_is_a_clear_404(client: Client, letter: Letter) -> None:
    response, page = page_of(client, "/letters/fair-terms/de/")
    assert response.status_code == 404
    assert "not available in that language" in page
    assert 'href="/letters/fair-terms/fr/"' in page
    assert 'href="/letters/fair-terms/en/"' in page


@pytest.mark.parametrize("path", ["xx", "sign-me", "FR", "f"])
def test_what_is_not_a_language_code_is_not_a_language_page(
    client: Client, letter: Letter, path: str
) -> None:
    assert client.get(f"/letters/fair-terms/{path}/").status_code == 404


def test_sibling_routes_are_not_taken_for_languages(client: Client, letter: Letter) -> None:
    assert client.get("/letters/fair-terms/signed/").status_code == 200
    assert client.get("/letters/fair-terms/manage/").status_code == 200
    assert client.get("/letters/fair-terms/sign/").status_code == 405


def test_a_draft_is_not_readable_in_any_language(client: Client) -> None:
    draft = LetterFactory(slug="draft", status=Letter.Status.DRAFT)
    translate(draft)
    assert client.get("/letters/draft/fr/").status_code == 404


# --- The page's links and marks ------------------------------------------------------


def test_switcher_lists_every_language_in_its_own_name(client: Client, letter: Letter) -> None:
    _, page = page_of(client, "/letters/fair-terms/fr/")
    assert (
        '<a href="/letters/fair-terms/en/" lang="en" hreflang="en">English</a>' in page
        and '<a href="/letters/fair-terms/fr/" lang="fr" hreflang="fr" aria-current="page">'
        "Français</a>"
        in page
    )


def test_the_switcher_reaches_the_original_whatever_the_browser_prefers(
    client: Client, letter: Letter
) -> None:
    _, page = page_of(client, "/letters/fair-terms/", accept_language="fr")
    assert FRENCH_TITLE in page
    english = page.split('lang="en" hreflang="en">English</a>')[0].rsplit('href="', 1)[1]
    response, page = page_of(client, english.split('"')[0], accept_language="fr")
    assert response["Content-Language"] == "en"
    assert "Fair terms for artists" in page


def test_a_letter_in_one_language_shows_no_switcher(client: Client) -> None:
    LetterFactory(slug="solo")
    _, page = page_of(client, "/letters/solo/")
    assert "letter-languages" not in page
    assert "hreflang" not in page


def test_alternates_and_canonical(client: Client, letter: Letter, settings) -> None:
    settings.SITE_URL = "https://letters.example.org"
    _, page = page_of(client, "/letters/fair-terms/fr/")
    assert (
        '<link rel="canonical" href="https://letters.example.org/letters/fair-terms/fr/">' in page
    )
    for code, path in [("en", "/letters/fair-terms/"), ("fr", "/letters/fair-terms/fr/")]:
        assert (
            f'<link rel="alternate" hreflang="{code}" href="https://letters.example.org{path}">'
            in page
        )
    assert 'hreflang="x-default" href="https://letters.example.org/letters/fair-terms/"' in page
    _, page = page_of(client, "/letters/fair-terms/en/")
    assert '<link rel="canonical" href="https://letters.example.org/letters/fair-terms/">' in page


def test_the_interface_follows_the_page_language(client: Client, letter: Letter) -> None:
    _, page = page_of(client, "/letters/fair-terms/fr/", accept_language="en")
    assert '<html lang="fr">' in page
    assert '<input type="hidden" name="language" value="fr"' in page
    _, page = page_of(client, "/letters/fair-terms/en/", accept_language="fr")
    assert '<html lang="en">' in page


def test_a_page_language_the_site_has_no_interface_for_keeps_the_readers(
    client: Client, letter: Letter
) -> None:
    translate(letter, "it", title="Lettera aperta")
    response, page = page_of(client, "/letters/fair-terms/it/", accept_language="de")
    assert response["Content-Language"] == "it"
    assert '<html lang="de">' in page
    assert '<h1 lang="it">Lettera aperta</h1>' in page


def test_outdated_translation_says_so(client: Client, letter: Letter) -> None:
    Letter.objects.filter(pk=letter.pk).update(version=2)
    _, page = page_of(client, "/letters/fair-terms/fr/")
    # The French page says it in French.
    assert "Cette traduction n\u2019est peut-être plus à jour" in page
    _, page = page_of(client, "/letters/fair-terms/")
    assert "may be outdated" not in page
    assert 'class="muted translation-note"' not in page


def test_translations_share_one_count_and_signatory_list(
    client: Client, letter: Letter, tally
) -> None:
    SignatureFactory(letter=letter, verified=True, name="Signed In English", language="en")
    SignatureFactory(letter=letter, verified=True, name="Signé En Français", language="fr")
    tally()
    for url in ("/letters/fair-terms/", "/letters/fair-terms/fr/"):
        _, page = page_of(client, url)
        assert '<strong id="signature-count">2</strong>' in page
        assert "Signed In English" in page and "Signé En Français" in page


def test_script_in_a_translation_is_escaped_or_removed(client: Client, letter: Letter) -> None:
    translate(
        letter,
        "de",
        title="<script>alert(1)</script> Brief",
        recipient='"><img src=x onerror=alert(1)>',
        body="Text <script>alert(2)</script> [x](javascript:alert(3))",
    )
    _, page = page_of(client, "/letters/fair-terms/de/")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Brief" in page
    assert "<img" not in page
    assert "javascript:" not in page


# --- Signing in a translation ----------------------------------------------------------


@pytest.fixture
def sign(django_capture_on_commit_callbacks: Callable) -> Callable[..., TestResponse]:
    """Post the signing form, then run what waits for the commit (the email is sent)."""

    def post(client: Client, letter: Letter, **fields: str) -> TestResponse:
        data = {"name": "Camille Martin", "email": "camille@example.fr", "consent": "on"}
        data.update(fields)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("signature_submit", kwargs={"slug": letter.slug}), data)

    return post


def test_signing_on_the_french_page_records_french_and_emails_in_it(
    sign, client: Client, letter: Letter, settings
) -> None:
    settings.SITE_URL = "https://letters.example.org"
    response = sign(client, letter, language="fr")
    assert response.status_code == 302
    assert response["Location"] == "/letters/fair-terms/signed/?lang=fr"
    signature = Signature.objects.get(letter=letter)
    assert signature.language == "fr"
    (message,) = mail.outbox
    assert FRENCH_TITLE in message.subject
    assert FRENCH_TITLE in message.body
    assert "https://letters.example.org/letters/fair-terms/confirm/" in message.body


def test_the_signed_page_is_in_the_signing_language(client: Client, letter: Letter) -> None:
    response, page = page_of(client, "/letters/fair-terms/signed/?lang=fr")
    assert response["Content-Language"] == "fr"
    assert FRENCH_TITLE in page
    assert 'href="/letters/fair-terms/fr/"' in page
    response, page = page_of(client, "/letters/fair-terms/signed/?lang=%3Cscript%3E")
    assert response.status_code == 200
    assert "Fair terms for artists" in page


def test_the_confirm_page_is_in_the_signing_language(
    sign, client: Client, letter: Letter, settings
) -> None:
    settings.SITE_URL = "https://letters.example.org"
    sign(client, letter, language="fr")
    link = next(line for line in mail.outbox[0].body.splitlines() if "/confirm/" in line).strip()
    path = link.removeprefix("https://letters.example.org")
    response, page = page_of(client, path)
    assert response["Content-Language"] == "fr"
    assert FRENCH_TITLE in page
    response = client.post(path)
    assert response["Content-Language"] == "fr"
    assert FRENCH_TITLE in response.content.decode()


def test_a_forged_language_falls_back_to_the_original(sign, client: Client, letter: Letter) -> None:
    sign(client, letter, language="de")
    assert Signature.objects.get(letter=letter).language == "en"
    assert "Fair terms for artists" in mail.outbox[0].subject


def test_without_a_language_the_signature_is_in_the_original(
    sign, client: Client, letter: Letter
) -> None:
    assert sign(client, letter)["Location"] == "/letters/fair-terms/signed/"
    assert Signature.objects.get(letter=letter).language == "en"


def test_a_form_error_is_shown_again_in_the_page_language(
    sign, client: Client, letter: Letter
) -> None:
    response = sign(client, letter, name="", language="fr")
    page = response.content.decode()
    assert response.status_code == 400
    assert FRENCH_TITLE in page
    assert response["Content-Language"] == "fr"
    # Django's own French catalogue: proof the interface switched with the page.
    assert "Ce champ est obligatoire." in page


def test_emails_fall_back_to_the_original_when_the_translation_is_gone(
    sign, client: Client, letter: Letter
) -> None:
    sign(client, letter, language="fr")
    letter.translations.all().delete()
    mail.outbox.clear()
    sign(client, letter, language="fr")  # signing again re-sends the link
    assert "Fair terms for artists" in mail.outbox[0].subject


# --- The API ---------------------------------------------------------------------------


def test_the_api_lists_the_letters_languages(client: Client, letter: Letter) -> None:
    translate(letter, "de", title="Offener Brief")
    assert client.get("/api/v1/letters/fair-terms").json()["languages"] == ["en", "de", "fr"]
    (item,) = client.get("/api/v1/letters").json()["items"]
    assert item["languages"] == ["en", "de", "fr"]


# --- Writing translations --------------------------------------------------------------


@pytest.fixture
def owner(letter: Letter) -> LetterRole:
    return LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER)


@pytest.fixture
def owner_client(client: Client, owner: LetterRole) -> Client:
    client.force_login(owner.user)
    return client


def translation_form(**overrides: str) -> dict[str, str]:
    return {
        "language": "de",
        "title": "Offener Brief für faire Bedingungen",
        "recipient": "Der Vorstand von Example AI",
        "body": "Wir bitten Sie, die Künstler zu **bezahlen**.",
        **overrides,
    }


LIST = "/letters/fair-terms/translations/"


def test_owner_sees_the_translations_and_adds_one(owner_client: Client, letter: Letter) -> None:
    page = owner_client.get(LIST).content.decode()
    assert "Français" in page and FRENCH_TITLE in page
    response = owner_client.post(LIST, translation_form())
    assert response.status_code == 302
    assert response["Location"] == "/letters/fair-terms/translations/de/"
    added = letter.translations.get(language="de")
    assert added.title == "Offener Brief für faire Bedingungen"
    assert added.based_on_version == letter.version
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TRANSLATION_ADD)
    assert entry.detail == {"language": "de"}
    _, page = page_of(owner_client, "/letters/fair-terms/de/")
    assert "<strong>bezahlen</strong>" in page


def test_the_edit_page_links_to_translations(owner_client: Client, letter: Letter) -> None:
    page = owner_client.get(reverse("letter_edit", kwargs={"slug": "fair-terms"})).content
    assert b'href="/letters/fair-terms/translations/"' in page


def test_language_codes_are_read_kindly(owner_client: Client, letter: Letter) -> None:
    owner_client.post(LIST, translation_form(language="pt_BR"))
    assert letter.translations.filter(language="pt-br").exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("xx", "is not a language code we know"),
        ("klingon", "is not a language code we know"),
        ("", "This field is required"),
        ("en", "The letter itself is written in English"),
        ("fr", "already has a translation in Français"),
    ],
)
def test_bad_language_is_refused_clearly(
    owner_client: Client, letter: Letter, language: str, message: str
) -> None:
    before = letter.translations.count()
    response = owner_client.post(LIST, translation_form(language=language))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert letter.translations.count() == before
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.TRANSLATION_ADD).exists()


def test_a_huge_text_is_refused_without_a_500(owner_client: Client, letter: Letter) -> None:
    response = owner_client.post(LIST, translation_form(body="x" * 60_000))
    assert response.status_code == 400
    assert "at most 50000 characters" in response.content.decode()
    assert not letter.translations.filter(language="de").exists()
    edit = owner_client.post(
        "/letters/fair-terms/translations/fr/", translation_form(body="y" * 60_000)
    )
    assert edit.status_code == 400
    assert letter.translations.get(language="fr").body.startswith("Nous")


def test_script_in_the_title_is_escaped_in_the_authoring_pages(
    owner_client: Client, letter: Letter
) -> None:
    owner_client.post(LIST, translation_form(title="<script>alert(1)</script>"))
    page = owner_client.get(LIST).content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_preview_renders_sanitized_markdown_without_saving(
    owner_client: Client, letter: Letter
) -> None:
    response = owner_client.post(
        LIST, translation_form(body="**gras** <script>x()</script>", preview="1")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>gras</strong>" in page
    assert "<script>x()" not in page
    assert not letter.translations.filter(language="de").exists()


def test_owner_edits_a_translation_and_it_is_up_to_date_again(
    owner_client: Client, letter: Letter
) -> None:
    Letter.objects.filter(pk=letter.pk).update(version=3)
    url = "/letters/fair-terms/translations/fr/"
    page = owner_client.get(url).content.decode()
    assert "may be outdated" in page
    assert "Nous vous demandons" in page
    response = owner_client.post(
        url, {"title": "Nouveau titre", "recipient": "", "body": "Nouveau texte."}
    )
    assert response.status_code == 302
    found = letter.translations.get(language="fr")
    assert (found.title, found.body, found.based_on_version) == (
        "Nouveau titre",
        "Nouveau texte.",
        3,
    )
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TRANSLATION_EDIT)
    assert entry.detail["language"] == "fr"
    assert set(entry.detail["fields"]) == {"title", "recipient", "body"}
    assert "may be outdated" not in owner_client.get(url).content.decode()


def test_editing_a_missing_translation_is_404(owner_client: Client, letter: Letter) -> None:
    assert owner_client.get("/letters/fair-terms/translations/de/").status_code == 404
    assert owner_client.get("/letters/fair-terms/translations/zz/").status_code == 404


def test_delete_asks_first_and_deletes_only_on_post(owner_client: Client, letter: Letter) -> None:
    url = "/letters/fair-terms/translations/fr/delete/"
    page = owner_client.get(url).content.decode()
    assert "Yes, delete this translation" in page
    assert letter.translations.filter(language="fr").exists()
    response = owner_client.post(url)
    assert response.status_code == 302
    assert not letter.translations.filter(language="fr").exists()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TRANSLATION_DELETE)
    assert entry.detail == {"language": "fr", "title": FRENCH_TITLE}
    assert client_get_status(owner_client, "/letters/fair-terms/fr/") == 404


def client_get_status(client: Client, url: str) -> int:
    return client.get(url).status_code


def test_delete_needs_the_csrf_token(letter: Letter, owner: LetterRole) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    assert client.post("/letters/fair-terms/translations/fr/delete/").status_code == 403
    assert letter.translations.filter(language="fr").exists()


def test_moderators_and_strangers_cannot_write_translations(client: Client, letter: Letter) -> None:
    moderator = LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user
    for user in (moderator, UserFactory()):
        client.force_login(user)
        assert client.get(LIST).status_code == 404
        assert client.post(LIST, translation_form()).status_code == 404
    assert not letter.translations.filter(language="de").exists()


def test_the_letter_cannot_take_the_language_of_one_of_its_translations(
    owner_client: Client, letter: Letter
) -> None:
    from tests.letters.test_authoring import letter_form

    response = owner_client.post(
        reverse("letter_edit", kwargs={"slug": "fair-terms"}),
        letter_form(slug="fair-terms", language="fr"),
    )
    assert response.status_code == 400
    assert "has a translation in this language" in response.content.decode()
    letter.refresh_from_db()
    assert letter.language == "en"


def test_the_audit_log_names_the_translations_language(
    owner_client: Client, letter: Letter
) -> None:
    owner_client.post(LIST, translation_form())
    page = owner_client.get(reverse("moderation_log", kwargs={"slug": "fair-terms"})).content
    assert b'Added a translation <span class="mono">de</span>' in page


def test_oembed_knows_the_letter_by_its_translated_address(
    client: Client, letter: Letter, settings
) -> None:
    settings.SITE_URL = "https://letters.example.org"
    _, page = page_of(client, "/letters/fair-terms/fr/")
    assert "url=https%3A%2F%2Fletters.example.org%2Fletters%2Ffair-terms%2Ffr%2F" in page
    response = client.get("/oembed", {"url": "https://letters.example.org/letters/fair-terms/fr/"})
    assert response.status_code == 200
    assert "/embed/fair-terms/" in response.json()["html"]


def test_owners_preview_a_translation_of_a_draft(client: Client) -> None:
    draft = LetterFactory(slug="draft-letter", status=Letter.Status.DRAFT, language="en")
    translate(draft)
    client.force_login(LetterRoleFactory(letter=draft, role=LetterRole.Role.OWNER).user)
    assert 'href="/letters/draft-letter/preview/?lang=fr"' in (
        client.get("/letters/draft-letter/translations/").content.decode()
    )
    page = client.get("/letters/draft-letter/preview/?lang=fr").content.decode()
    assert FRENCH_TITLE in page
    assert '<html lang="fr">' in page
    assert client.get("/letters/draft-letter/fr/").status_code == 404


def test_a_translated_page_costs_one_query_more_than_the_original(
    client: Client, letter: Letter, django_assert_num_queries
) -> None:
    client.get("/letters/fair-terms/")  # the first view caches the letter's languages
    # letter, named signatories, latest public signatures; and the translation shown.
    with django_assert_num_queries(3):
        client.get("/letters/fair-terms/", headers={"accept-language": "en"})
    with django_assert_num_queries(4):
        client.get("/letters/fair-terms/", headers={"accept-language": "fr"})
    with django_assert_num_queries(4):
        client.get("/letters/fair-terms/fr/")
