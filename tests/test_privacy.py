"""Privacy by construction: anonymous readers get no cookie, forms posted from another
site are refused without needing one, and every page carries a Content-Security-Policy
that allows nothing inline and nothing from another origin.

`site_pages()` builds one letter with everything a reader or its team can reach, and is
shared with the browser tests in tests/e2e/test_no_third_party.py.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import User
from config.security import CONTENT_SECURITY_POLICY
from letters.models import AuditEntry, Letter, LetterRole, LetterTranslation
from petition.affiliations.services import (
    KIND_SIGNATURE,
    AffiliationLink,
    affiliation_fingerprint,
    make_affiliation_token,
)
from petition.models import Signature
from petition.reconfirm.services import make_reconfirm_token
from petition.signing.tokens import make_manage_token, make_verification_token
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
)

pytestmark = pytest.mark.django_db

SLUG = "privacy-letter"
LANGUAGES = ("fr", "de", "es")


@dataclass
class SitePages:
    letter: Letter
    owner: User
    pending: Signature
    verified: Signature
    public: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    team: dict[str, str] = field(default_factory=dict)


def site_pages() -> SitePages:
    """One open letter in four languages with a pending and a verified signer, and the
    address of every page a reader, a signer (through their links) or the team sees."""
    letter = LetterFactory(
        slug=SLUG,
        goal=100,
        language="en",
        signer_fields=["title", "organization", "city", "country", "comment"],
    )
    for language in LANGUAGES:
        LetterTranslation.objects.create(
            letter=letter, language=language, title=f"Lettre ({language})", body="Texte *ici*."
        )
    NamedSignatoryFactory(letter=letter, name="Ada Named")
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    pending = SignatureFactory(letter=letter, name="Pending Person")
    verified = SignatureFactory(
        letter=letter, verified=True, name="Verified Person", organization="Example Institute"
    )
    ids = {"signature_id": verified.pk, "letter_id": letter.pk}
    affiliation = make_affiliation_token(
        AffiliationLink(
            kind=KIND_SIGNATURE,
            object_id=verified.pk,
            letter_id=letter.pk,
            email="verified.person@example-institute.org",
            domain="example-institute.org",
            fingerprint=affiliation_fingerprint(verified),
        )
    )
    manage = make_manage_token(**ids)
    entry = AuditEntry.objects.create(letter=letter, actor=owner, action=AuditEntry.Action.HIDE)
    slug = letter.slug
    public = {
        "home": reverse("home"),
        "letter": reverse("letter_detail", args=[slug]),
        **{
            f"letter-{language}": reverse("letter_detail_language", args=[slug, language])
            for language in LANGUAGES
        },
        "changelog": reverse("letter_changes", args=[slug]),
        "signed": reverse("signature_submitted", args=[slug]),
        "confirm": reverse(
            "signature_confirm",
            args=[slug, make_verification_token(signature_id=pending.pk, letter_id=letter.pk)],
        ),
        "confirmed": reverse("signature_confirm", args=[slug, make_verification_token(**ids)]),
        "manage-request": reverse("signature_manage_request", args=[slug]),
        "manage": reverse("signature_manage", args=[slug, manage]),
        "withdraw": reverse("signature_manage_withdraw", args=[slug, manage]),
        "affiliation-request": reverse("signature_affiliation_request", args=[slug, manage]),
        "affiliation-confirm": reverse("affiliation_confirm", args=[affiliation]),
        "reconfirm": reverse("signature_reconfirm", args=[slug, make_reconfirm_token(**ids)]),
        "privacy": reverse("privacy"),
        "signatories": reverse("signatory_list", args=[slug]),
        "contact": reverse("letter_contact", args=[slug]),
        "embed": reverse("embed_widget", args=[slug]),
        "api-docs": reverse("api-v1:openapi-view"),
        "not-found": "/letters/no-such-letter/",
    }
    # Where authors sign in: anonymous, but about to post a form, so they keep allauth's
    # token CSRF and its cookie.
    accounts = {
        "login": reverse("account_login"),
        "signup": reverse("account_signup"),
        "password-reset": reverse("account_reset_password"),
    }
    team = {
        "dashboard": reverse("dashboard"),
        "new-letter": reverse("letter_new"),
        "edit": reverse("letter_edit", args=[slug]),
        "preview": reverse("letter_preview", args=[slug]),
        "team": reverse("letter_team", args=[slug]),
        "translations": reverse("letter_translations", args=[slug]),
        "translation-edit": reverse("letter_translation_edit", args=[slug, "fr"]),
        "named-signatories": reverse("named_affiliations", args=[slug]),
        "moderation": reverse("moderation_queue", args=[slug]),
        "moderation-log": reverse("moderation_log", args=[slug]),
        "moderation-entry": reverse("moderation_entry", args=[slug, entry.pk]),
        "moderation-invalidate": reverse("moderation_invalidate", args=[slug]),
        "moderation-watch": reverse("moderation_watch", args=[slug]),
        "delivery": reverse("delivery", args=[slug]),
        "account": reverse("account_overview"),
        "account-email": reverse("account_email"),
        "password-change": reverse("account_change_password"),
        "mfa": reverse("mfa_index"),
        "mfa-setup": reverse("mfa_activate_totp"),
    }
    return SitePages(letter, owner, pending, verified, public, accounts, team)


@pytest.fixture
def pages() -> SitePages:
    return site_pages()


def sign_data(**extra: str) -> dict[str, str]:
    return {
        "name": "Rosa Reader",
        "email": "rosa@example.org",
        "consent": "on",
        "show_name": "on",
        "language": "en",
        **extra,
    }


# --- No cookie for a reader -------------------------------------------------------------


def test_anonymous_reader_gets_no_cookie_on_any_public_page(pages: SitePages) -> None:
    for name, url in pages.public.items():
        response = Client().get(url)
        expected = 404 if name == "not-found" else 200
        assert response.status_code == expected, (name, response.status_code)
        assert not response.cookies, (name, response.cookies)


def test_letter_page_has_no_csrf_token_nor_cookie_yet_its_form_works(
    client: Client, pages: SitePages
) -> None:
    page = client.get(pages.public["letter"])
    assert b"csrfmiddlewaretoken" not in page.content
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        reverse("signature_submit", args=[SLUG]),
        sign_data(),
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 302
    assert pages.letter.signatures.filter(email_normalized="rosa@example.org").exists()
    # Signing sets no cookie either: the next page is chosen by the address, not a session.
    assert not response.cookies


def test_signed_in_pages_keep_token_csrf(pages: SitePages) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(pages.owner)
    response = strict.post(reverse("letter_close", args=[SLUG]))
    assert response.status_code == 403
    pages.letter.refresh_from_db()
    assert pages.letter.status == Letter.Status.OPEN


# --- Forms posted from another site -----------------------------------------------------

CROSS_SITE_HEADERS = [
    pytest.param({"Sec-Fetch-Site": "cross-site"}, id="sec-fetch-cross-site"),
    pytest.param({"Sec-Fetch-Site": "same-site"}, id="sec-fetch-same-site"),
    pytest.param({"Origin": "https://attacker.example"}, id="foreign-origin"),
    pytest.param({"Origin": "null"}, id="null-origin"),
    pytest.param({"Origin": "https://testserver"}, id="our-host-other-scheme"),
    pytest.param(
        {"Origin": "https://attacker.example", "Sec-Fetch-Site": "same-origin"},
        id="foreign-origin-despite-fetch-site",
    ),
]


@pytest.mark.parametrize("headers", CROSS_SITE_HEADERS)
def test_cross_site_signing_is_refused_and_stores_nothing(
    client: Client, pages: SitePages, headers: dict[str, str]
) -> None:
    before = Signature.objects.count()
    response = client.post(reverse("signature_submit", args=[SLUG]), sign_data(), headers=headers)
    assert response.status_code == 403
    assert b"sent from another site" in response.content
    assert Signature.objects.count() == before
    assert not response.cookies


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, id="same"),
        pytest.param({"Sec-Fetch-Site": "none"}, id="typed-or-bookmarked"),
        pytest.param({}, id="no-browser-headers"),
    ],
)
def test_same_origin_signing_works(
    client: Client, pages: SitePages, headers: dict[str, str]
) -> None:
    response = client.post(reverse("signature_submit", args=[SLUG]), sign_data(), headers=headers)
    assert response.status_code == 302
    assert pages.letter.signatures.filter(email_normalized="rosa@example.org").exists()


def test_origin_of_site_url_is_accepted_behind_another_host_name(
    client: Client, pages: SitePages, settings
) -> None:
    settings.SITE_URL = "https://letters.example.org"
    response = client.post(
        reverse("signature_submit", args=[SLUG]),
        sign_data(),
        headers={"Origin": "https://letters.example.org"},
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("site_url", "origin", "status"),
    [
        ("https://letters.example.org:443/", "https://letters.example.org", 302),
        ("https://Letters.Example.org", "https://letters.example.org", 302),
        ("https://letters.example.org", "https://letters.example.org:8443", 403),
        ("https://letters.example.org", "http://letters.example.org", 403),
        ("https://letters.example.org", "https://evil.letters.example.org", 403),
    ],
)
def test_origins_are_compared_as_browsers_write_them(
    client: Client, pages: SitePages, settings, site_url: str, origin: str, status: int
) -> None:
    settings.SITE_URL = site_url
    response = client.post(
        reverse("signature_submit", args=[SLUG]), sign_data(), headers={"Origin": origin}
    )
    assert response.status_code == status


def test_cross_site_confirmation_does_not_verify(client: Client, pages: SitePages) -> None:
    response = client.post(pages.public["confirm"], headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    pages.pending.refresh_from_db()
    assert pages.pending.status == Signature.Status.PENDING
    same = client.post(pages.public["confirm"], headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    pages.pending.refresh_from_db()
    assert pages.pending.status == Signature.Status.VERIFIED


def test_cross_site_withdrawal_and_changes_are_refused(client: Client, pages: SitePages) -> None:
    attacker = {"Origin": "https://attacker.example"}
    assert client.post(pages.public["withdraw"], headers=attacker).status_code == 403
    changed = client.post(pages.public["manage"], {"show_name": ""}, headers=attacker)
    assert changed.status_code == 403
    pages.verified.refresh_from_db()
    assert pages.verified.status == Signature.Status.VERIFIED
    assert pages.verified.show_name


@pytest.mark.parametrize(
    "name", ["manage-request", "affiliation-request", "affiliation-confirm", "reconfirm"]
)
def test_other_signer_forms_refuse_cross_site_posts(
    client: Client, pages: SitePages, name: str, mailoutbox: list
) -> None:
    response = client.post(
        pages.public[name],
        {"email": "verified.person@example-institute.org", "domain": "example-institute.org"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    pages.verified.refresh_from_db()
    assert not pages.verified.affiliation_verified_at
    from mail.models import OutboundEmail

    assert not OutboundEmail.objects.exists()


def test_language_switcher_posts_without_token_from_our_pages_only(client: Client) -> None:
    url = reverse("set_language")
    refused = client.post(url, {"language": "fr", "next": "/"}, headers={"Origin": "null"})
    assert refused.status_code == 403
    assert not refused.cookies
    strict = Client(enforce_csrf_checks=True)
    chosen = strict.post(
        url, {"language": "fr", "next": "/"}, headers={"Origin": "http://testserver"}
    )
    assert chosen.status_code == 302
    # The reader asked for it by submitting the form: now, and only now, a cookie.
    assert chosen.cookies["django_language"].value == "fr"


def _walk(patterns: list, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            found.append((prefix + str(pattern.pattern), pattern))
    return found


def test_every_view_without_token_csrf_checks_the_origin_instead() -> None:
    unchecked = [
        route
        for route, pattern in _walk(get_resolver().url_patterns)
        if getattr(pattern.callback, "csrf_exempt", False)
        and not getattr(pattern.callback, "origin_checked", False)
        # The public API: read-only GETs (ninja marks its views exempt).
        and not route.startswith("api/v1/")
        # Email providers' webhooks: no browser posts there; anymail authenticates each
        # (basic auth, Mailgun's signature) and they answer 404 until that is configured.
        and not route.startswith("mail/webhooks/")
    ]
    assert unchecked == []


# --- Content-Security-Policy ------------------------------------------------------------


def test_policy_allows_nothing_inline_and_nothing_from_elsewhere() -> None:
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "*" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in CONTENT_SECURITY_POLICY


def test_every_html_page_carries_the_policy(client: Client, pages: SitePages) -> None:
    for name, url in {**pages.public, **pages.accounts}.items():
        policy = client.get(url)["Content-Security-Policy"]
        assert "unsafe-inline" not in policy, name
        if name == "embed":
            assert "frame-ancestors *" in policy
        else:
            assert policy.startswith(CONTENT_SECURITY_POLICY), name
            assert policy.endswith("frame-ancestors 'none'"), name


def test_policy_is_for_pages_not_for_data(client: Client, pages: SitePages) -> None:
    api = client.get("/api/v1/letters")
    assert api["Content-Type"].startswith("application/json")
    assert "script-src" not in api.get("Content-Security-Policy", "")


def test_djangos_debug_error_pages_keep_their_inline_styles(client: Client, settings) -> None:
    settings.DEBUG = True
    response = client.get("/letters/no-such-letter/")
    assert response.status_code == 404
    assert "style-src" not in response.get("Content-Security-Policy", "")


class InlineCode(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would refuse in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        values = dict(attrs)
        if "style" in names:
            self.found.append(f"<{tag} style=...>")
        self.found += [f"<{tag} {name}=...>" for name in names if name.startswith("on")]
        if tag == "script" and "src" not in names:
            kind = (values.get("type") or "").lower()
            if kind not in ("application/json", "application/ld+json"):
                self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name in ("href", "src", "action"):
            if (values.get(name) or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_inline_code_finder_finds_what_it_looks_for() -> None:
    found = inline_code(
        '<p style="x">a</p><a onclick="f()" href="javascript:f()">b</a>'
        '<script>f()</script><script type="application/json">{}</script><style>p{}</style>'
    )
    assert len(found) == 5


def test_no_page_has_inline_scripts_styles_or_handlers(client: Client, pages: SitePages) -> None:
    offending = {}
    for name, url in {**pages.public, **pages.accounts}.items():
        found = inline_code(client.get(url).content.decode())
        if found:
            offending[name] = found
    client.force_login(pages.owner)
    for name, url in {**pages.team, **pages.public}.items():
        response = client.get(url, follow=True)
        found = inline_code(response.content.decode())
        if found:
            offending[f"signed-in {name}"] = found
    assert offending == {}


def test_error_pages_use_the_stylesheet_not_inline_styles() -> None:
    from django.template.loader import render_to_string

    for template in ("500.html", "503.html", "403_cross_site.html"):
        html = render_to_string(template)
        assert inline_code(html) == [], template
        assert re.search(r'<link rel="stylesheet" href="[^"]*site\.css"', html), template
