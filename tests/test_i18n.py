"""The interface in English, French, German and Spanish: the catalogues themselves, which
language a reader gets, the switcher, and numbers and dates written the reader's way."""

import io
import re
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from letters.models import LetterVersion
from petition.models import LetterCount
from tests.factories import LetterFactory, SignatureFactory

ROOT = Path(settings.BASE_DIR)
LOCALE_DIR = ROOT / "locale"
INTERFACE_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
# What makemessages is told to skip (docs/languages.md): not the site's own strings.
IGNORED = {".venv", "test-artifacts", "media", "bench", "staticfiles", "locale", "node_modules"}

# %(name)s, %d, %%: what Python's % operator fills in; blocktranslate's {{ var }} arrives
# in the catalogue as %(var)s too.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)[^>]*>")


def catalogue(language: str):
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing: run makemessages -l {language} (docs/languages.md)"
    with path.open("rb") as po_file:
        return read_po(po_file, abort_invalid=True)


def markup(text: str, names: set[str]) -> list[str]:
    """The tags of these elements in a string, with their attributes. Only elements the
    source string closes count as markup: "<address>" in a help text is a word."""
    return sorted(m.group(0) for m in TAG.finditer(text) if m.group(1) in names)


def forms(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


# --- The catalogues --------------------------------------------------------------------


@pytest.mark.parametrize("language", INTERFACE_LANGUAGES)
def test_catalogue_compiles_with_a_usable_header(language: str) -> None:
    translations = catalogue(language)
    assert not translations.fuzzy, "a fuzzy header is dropped by msgfmt, plural rules with it"
    assert translations.plural_forms.startswith("nplurals=")
    assert str(translations.locale).startswith(language)
    compiled = io.BytesIO()
    write_mo(compiled, translations)
    assert compiled.getvalue()[:4] in {b"\xde\x12\x04\x95", b"\x95\x04\x12\xde"}


@pytest.mark.parametrize("language", INTERFACE_LANGUAGES)
def test_catalogue_has_no_fuzzy_or_empty_translation(language: str) -> None:
    translations = catalogue(language)
    untranslated = [
        message.id
        for message in translations
        if message.id and (message.fuzzy or not all(forms(message.string))) and not message.obsolete
    ]
    assert untranslated == [], f"{language}: {len(untranslated)} fuzzy or empty"


@pytest.mark.parametrize("language", INTERFACE_LANGUAGES)
def test_translations_keep_placeholders_markup_and_plural_forms(language: str) -> None:
    translations = catalogue(language)
    problems = []
    for message in translations:
        if not message.id or not all(forms(message.string)):
            continue
        ids, strings = forms(message.id), forms(message.string)
        if message.pluralizable and len(strings) != translations.num_plurals:
            problems.append((message.id, f"{len(strings)} plural forms"))
        known = {p for text in ids for p in PLACEHOLDER.findall(text)}
        closed = {m.group(1) for m in TAG.finditer(ids[-1]) if m.group(0).startswith("</")}
        wanted_tags = markup(ids[-1], closed)
        for index, string in enumerate(strings):
            found = PLACEHOLDER.findall(string)
            if message.pluralizable and index < len(strings) - 1:
                # A singular form may leave the number out ("une signature").
                wrong = not set(found) <= known
            else:
                wrong = sorted(found) != sorted(PLACEHOLDER.findall(ids[-1]))
            if wrong or markup(string, closed) != wanted_tags:
                problems.append((message.id, string))
    assert problems == []


@pytest.mark.skipif(not shutil.which("xgettext"), reason="makemessages needs GNU gettext")
def test_catalogues_cover_every_string_in_use(tmp_path: Path, monkeypatch, settings) -> None:
    """Extract the strings again, into a scratch directory, as makemessages would: a string
    added to the code or templates without a translation fails here, naming it."""
    for entry in ROOT.iterdir():
        if entry.name not in IGNORED and not entry.name.startswith("."):
            (tmp_path / entry.name).symlink_to(entry)
    monkeypatch.chdir(tmp_path)
    settings.LOCALE_PATHS = [str(tmp_path / "locale")]
    call_command(
        "makemessages",
        locale=INTERFACE_LANGUAGES,
        symlinks=True,
        no_location=True,
        no_obsolete=True,
        ignore_patterns=sorted(IGNORED),
        verbosity=0,
    )
    missing = {}
    for language in INTERFACE_LANGUAGES:
        with (tmp_path / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as fresh:
            in_use = {(m.context, forms(m.id)) for m in read_po(fresh) if m.id}
        translated = {
            (m.context, forms(m.id))
            for m in catalogue(language)
            if m.id and all(forms(m.string)) and not m.fuzzy
        }
        if gaps := sorted(in_use - translated, key=str):
            missing[language] = [ids[0] for _context, ids in gaps]
    report = [f"{language}: {len(ids)} untranslated: {ids}" for language, ids in missing.items()]
    assert not missing, "\n".join([*report, "run makemessages and translate (docs/languages.md)"])


# --- Which language a page is in ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "code", "phrase"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Lettres ouvertes"),
        ("de-DE,de;q=0.9", "de", 'lang="de"'),
        ("es-ES,es;q=0.9", "es", 'lang="es"'),
        ("en-GB,en;q=0.9", "en", "Open letters"),
        ("ja,zh;q=0.8", "en", "Open letters"),
        ("", "en", "Open letters"),
    ],
)
def test_other_pages_follow_the_browser_and_fall_back_to_english(
    client: Client, accept: str, code: str, phrase: str
) -> None:
    response = client.get("/", headers={"accept-language": accept})
    page = response.content.decode()
    assert response["Content-Language"] == code
    assert f'<html lang="{code}">' in page
    assert phrase in page
    assert not response.cookies, "reading a page sets no cookie"


@pytest.mark.django_db
def test_french_reader_gets_the_french_home_and_privacy_pages(client: Client) -> None:
    LetterFactory(title="Fair terms")
    home = client.get("/", headers={"accept-language": "fr"}).content.decode()
    assert "Lettres ouvertes" in home
    assert "Les signatures ne comptent qu\u2019une fois confirmées par e-mail." in home
    assert "Aller au contenu" in home
    privacy = client.get(reverse("privacy"), headers={"accept-language": "fr"}).content.decode()
    assert "Politique de confidentialité" in privacy
    assert "Ce que nous conservons, et pourquoi" in privacy
    assert "What we store" not in privacy


# --- The switcher ----------------------------------------------------------------------


def switcher(page: str) -> str:
    match = re.search(r'<form class="language-switcher".*?</form>', page, re.S)
    assert match, "the page has the interface language switcher"
    return match.group(0)


@pytest.mark.django_db
def test_switcher_lists_each_language_in_its_own_name_and_marks_the_current(
    client: Client,
) -> None:
    form = switcher(client.get("/privacy/", headers={"accept-language": "de"}).content.decode())
    assert 'action="/i18n/setlang/"' in form
    assert 'name="next" value="/privacy/"' in form
    assert "csrfmiddlewaretoken" not in form
    for code, name in [("en", "English"), ("fr", "Français"), ("es", "Español")]:
        assert f'name="language" value="{code}" lang="{code}"' in form
        assert f">{name}</button>" in form
    assert '<strong lang="de" aria-current="true">Deutsch</strong>' in form


@pytest.mark.django_db
def test_switcher_changes_the_interface_and_only_then_sets_the_cookie(client: Client) -> None:
    first = client.get("/privacy/", headers={"accept-language": "en"})
    assert settings.LANGUAGE_COOKIE_NAME not in first.cookies
    response = client.post(
        reverse("set_language"), {"language": "fr", "next": "/privacy/?from=footer"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/privacy/?from=footer"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    again = client.get("/privacy/", headers={"accept-language": "en"})
    assert again["Content-Language"] == "fr"
    assert "Politique de confidentialité" in again.content.decode()


@pytest.mark.django_db
def test_switcher_ignores_an_unknown_language_and_a_foreign_next(client: Client) -> None:
    response = client.post(
        reverse("set_language"), {"language": "xx", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_letter_page_follows_the_letter_not_the_switcher(client: Client) -> None:
    letter = LetterFactory(language="fr", slug="lettre")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.get(letter.get_absolute_url(), headers={"accept-language": "es"})
    page = response.content.decode()
    assert response["Content-Language"] == "fr"
    assert "Nom complet" in page
    # The letter lists its own languages; the interface switcher would do nothing here.
    assert 'class="language-switcher"' not in page


# --- A French letter page and its form -------------------------------------------------


@pytest.fixture
def french_letter():
    return LetterFactory(
        language="fr",
        slug="conditions-equitables",
        title="Des conditions équitables",
        signer_fields=["title", "organization", "city", "country", "comment"],
    )


@pytest.mark.django_db
def test_french_letter_page_has_french_form_labels(client: Client, french_letter) -> None:
    page = client.get(french_letter.get_absolute_url()).content.decode()
    for label in (
        "Nom complet",
        "E-mail",
        "Titre ou profession",
        "Organisation",
        "Ville",
        "Pays",
        "Commentaire",
        "Afficher mon nom publiquement dans la liste des signataires",
        "J\u2019accepte que ma signature soit conservée",
        "Signer cette lettre",
    ):
        assert label in page, label
    assert "Full name" not in page


@pytest.mark.django_db
def test_bad_submission_on_a_french_letter_is_explained_in_french(
    client: Client, french_letter
) -> None:
    response = client.post(
        reverse("signature_submit", kwargs={"slug": french_letter.slug}),
        {"name": "   ", "email": "pas-une-adresse", "consent": ""},
        headers={"accept-language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert response["Content-Language"] == "fr"
    assert "Veuillez accepter la politique de confidentialité pour signer." in page
    assert "Saisissez une adresse e-mail valide." in page
    assert "Please" not in page


# --- Numbers and dates -----------------------------------------------------------------

GROUPED = {"en": "12,345", "fr": "12\xa0345", "de": "12.345", "es": "12\xa0345"}


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "grouped"), GROUPED.items())
def test_counts_are_grouped_as_the_page_language_writes_them(
    client: Client, language: str, grouped: str
) -> None:
    letter = LetterFactory(language=language, goal=50000)
    LetterCount.objects.create(
        letter=letter, dimension=LetterCount.Dimension.TOTAL, key="", count=12345
    )
    page = client.get(letter.get_absolute_url()).content.decode()
    assert f'<strong id="signature-count">{grouped}</strong>' in page
    goal = {"en": "50,000", "fr": "50\xa0000", "de": "50.000", "es": "50\xa0000"}[language]
    assert goal in page
    home = client.get("/", headers={"accept-language": language}).content.decode()
    assert f"<strong>{grouped}</strong>" in home


@pytest.mark.django_db
def test_badge_writes_the_count_in_the_letters_language_or_the_one_asked(client: Client) -> None:
    letter = LetterFactory(language="fr", slug="badge")
    LetterCount.objects.create(
        letter=letter, dimension=LetterCount.Dimension.TOTAL, key="", count=12345
    )
    assert "12\xa0345</text>" in client.get("/embed/badge/badge.svg").content.decode()
    english = client.get("/embed/badge/badge.svg", {"lang": "en"}).content.decode()
    assert "12,345</text>" in english
    german = client.get("/embed/badge/shields.json", {"lang": "de"}).json()
    assert german["message"].startswith("12.345")


@pytest.mark.django_db
def test_changelog_dates_follow_the_page_language(client: Client) -> None:
    letter = LetterFactory(slug="versions", version=1)
    when = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)
    LetterVersion.objects.filter(letter=letter).delete()
    LetterVersion.objects.create(
        letter=letter,
        number=1,
        title=letter.title,
        recipient=letter.recipient,
        body=letter.body,
        created_at=when,
    )
    url = reverse("letter_changes", kwargs={"slug": letter.slug})
    for language, written in [
        ("fr", "5 mars 2026 14:30"),
        ("de", "5. März 2026 14:30"),
        ("es", "5 de marzo de 2026 a las 14:30"),
        ("en", "March 5, 2026, 2:30 p.m."),
    ]:
        page = client.get(url, headers={"accept-language": language}).content.decode()
        assert written in page, language


# --- Emails ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_french_verification_email_is_french_end_to_end_over_smtp(
    client: Client, french_letter, settings, smtp_sink, django_capture_on_commit_callbacks
) -> None:
    from mail.outbox import outbox_drain

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "https://lettres.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("signature_submit", kwargs={"slug": french_letter.slug}),
            {"name": "Camille Martin", "email": "camille@example.fr", "consent": "on"},
            headers={"accept-language": "en-US"},
        )
    assert response.status_code == 302
    outbox_drain(linger_seconds=0)
    (message,) = smtp_sink.wait_for(1)
    # (Python's parser keeps the folding space before an encoded subject.)
    assert message["Subject"].strip() == "Confirmez votre signature : Des conditions équitables"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Bonjour Camille Martin," in text
    assert "Votre signature ne compte qu\u2019une fois confirmée." in text
    assert "Le lien est valable" in text
    assert "https://lettres.example.org/letters/conditions-equitables/confirm/" in text
    assert "Confirmer ma signature</a>" in html
    assert '<html lang="fr">' in html
    for english in ("Hello", "Your signature", "The link works"):
        assert english not in text
    assert not mail.outbox  # it went over SMTP, not the test backend


@pytest.mark.django_db
def test_already_signed_email_follows_the_signing_language(
    client: Client, french_letter, django_capture_on_commit_callbacks
) -> None:
    SignatureFactory(letter=french_letter, email="camille@example.fr", verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signature_submit", kwargs={"slug": french_letter.slug}),
            {"name": "Camille Martin", "email": "camille@example.fr", "consent": "on"},
        )
    (message,) = mail.outbox
    assert message.subject.startswith("Vous avez déjà signé")


PLURAL_CASES: list[tuple[str, int, str]] = [
    ("fr", 0, "0 signature vérifiée"),
    ("fr", 1, "1 signature vérifiée"),
    ("fr", 2, "2 signatures vérifiées"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "count", "text"), PLURAL_CASES)
def test_french_plural_rule_treats_zero_as_singular(
    client: Client, language: str, count: int, text: str
) -> None:
    letter = LetterFactory(language=language)
    if count:
        LetterCount.objects.create(
            letter=letter, dimension=LetterCount.Dimension.TOTAL, key="", count=count
        )
    page = client.get(letter.get_absolute_url()).content.decode()
    assert re.sub(r"<[^>]+>", "", page).count(text) >= 1
