"""axe-core on every page a reader, a signer, an author or a moderator sees, on a desktop
and a phone viewport and in dark mode: no serious or critical violation of WCAG 2.1 A/AA or axe's best
practices. Each page is also kept as a screenshot. All findings of a run are collected, so
one failure lists every page that needs work, not only the first."""

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from letters.models import AuditEntry, Letter, LetterRole, LetterTranslation
from letters.services import invitation_token
from letters.versions import letter_version_backfill, letter_version_publish
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
    InvitationFactory,
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
    UserFactory,
)

from .axe import DESKTOP, MOBILE, axe_context_factory, axe_violations, describe  # noqa: F401
from .conftest import screenshot, submit
from .test_author_journey import totp
from .test_moderation_in_browser import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
# Each variant: a viewport and the reader's colour scheme (the site has a dark mode, whose
# contrast axe checks as well).
VARIANTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": DESKTOP},
    "mobile": {"viewport": MOBILE},
    "dark": {"viewport": DESKTOP, "color_scheme": "dark"},
}


# Beyond axe: a field marked invalid must name, through aria-describedby, an element on the
# page that says what is wrong, so a screen reader reads the error with the field.
UNTIED_ERRORS = """() => [...document.querySelectorAll('[aria-invalid=true]')].filter(el => {
  const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
  return !ids.some(id => (document.getElementById(id)?.textContent || '').trim());
}).map(el => el.outerHTML.slice(0, 160))"""


class Audit:
    """Visits pages in one browser page, runs axe on each, keeps a screenshot of each."""

    def __init__(self, page, base: str, variant: str) -> None:
        self.page = page
        self.base = base
        self.variant = variant
        self.findings: dict[str, str] = {}
        self.checked: list[str] = []

    def check(self, name: str, path: str | None = None) -> None:
        if path is not None:
            self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state()
        problems = [describe(v) for v in [axe_violations(self.page)] if v]
        problems += [f"[untied error] {field}" for field in self.page.evaluate(UNTIED_ERRORS)]
        if problems:
            self.findings[name] = "\n".join([self.page.url, *problems])
        self.checked.append(name)
        screenshot(self.page, f"a11y-{self.variant}-{name}")

    def assert_clean(self) -> None:
        report = "\n\n".join(f"== {name}: {text}" for name, text in self.findings.items())
        assert not self.findings, (
            f"{len(self.findings)} of {len(self.checked)} pages ({self.variant}) "
            f"have serious or critical axe violations:\n\n{report}"
        )


@pytest.fixture
def letter(settings, live_server) -> Letter:
    """A published letter with a translation, two versions, named signatories, signatures."""
    settings.SITE_URL = live_server.url
    letter = LetterFactory(
        slug="open-access",
        title="Keep the archive open to everyone",
        goal=100,
        signer_fields=["title", "organization", "city", "country", "comment"],
        published_at=timezone.now() - timedelta(days=3),
    )
    letter_version_backfill(letter=letter)
    letter.body = "We ask you to **keep** the archive open.\n\nSigned, the undersigned."
    letter.save(update_fields=["body"])
    letter_version_publish(letter=letter, user=None, note="Clearer wording")
    LetterTranslation.objects.create(
        letter=letter,
        language="fr",
        title="Gardez les archives ouvertes à tous",
        recipient="Le conseil d'Example AI",
        body="Nous vous demandons de **garder** les archives ouvertes.",
        based_on_version=letter.version,
    )
    NamedSignatoryFactory(letter=letter, name="Ada Example", affiliation="Union of illustrators")
    NamedSignatoryFactory(letter=letter, name="Bo Sample", affiliation="")
    for i in range(3):
        SignatureFactory(
            letter=letter, verified=True, name=f"Public Person {i}", organization="Library"
        )
    return letter


def test_public_pages_have_no_serious_violations(
    axe_context_factory,  # noqa: F811
    live_server,
    letter: Letter,
    variant: str,
) -> None:
    base = live_server.url
    audit = Audit(axe_context_factory(**VARIANTS[variant]).new_page(), base, variant)
    page = audit.page
    slug = letter.slug

    audit.check("home", "/")
    audit.check("letter", f"/letters/{slug}/")
    audit.check("letter-fr", f"/letters/{slug}/fr/")
    audit.check("changelog", f"/letters/{slug}/changes/")
    audit.check("signatories", f"/letters/{slug}/signatures/")
    audit.check("signatories-search", f"/letters/{slug}/signatures/?q=library&verified=1")
    audit.check("contact", f"/letters/{slug}/contact/")

    page.goto(f"{base}/letters/{slug}/")
    page.locator("#sign button[type=submit]").click()
    audit.check("signing-errors")

    page.goto(f"{base}/letters/{slug}/")
    page.get_by_label("Full name").fill("Tab Keyboard")
    page.get_by_label("Email").fill("tab@example.net")
    page.get_by_label("I agree that my signature").check()
    page.locator("#sign button[type=submit]").click()
    page.wait_for_url(re.compile(r"/signed/"))
    audit.check("signed")

    pending = Signature.objects.get(email="tab@example.net")
    token = make_verification_token(signature_id=pending.pk, letter_id=letter.pk)
    audit.check("confirm", f"/letters/{slug}/confirm/{token}/")
    page.get_by_role("button", name="Confirm my signature").click()
    audit.check("confirmed")

    signer = SignatureFactory(
        letter=letter,
        verified=True,
        name="Old Version Signer",
        email="old@library.example",
        organization="City Library",
        version=1,
    )
    manage = make_manage_token(signature_id=signer.pk, letter_id=letter.pk)
    audit.check("manage-request", f"/letters/{slug}/manage/")
    audit.check("manage", f"/letters/{slug}/manage/{manage}/")
    audit.check("withdraw", f"/letters/{slug}/manage/{manage}/withdraw/")
    audit.check("affiliation-request", f"/letters/{slug}/manage/{manage}/affiliation/")
    reconfirm = make_reconfirm_token(signature_id=signer.pk, letter_id=letter.pk)
    audit.check("reconfirm", f"/letters/{slug}/reconfirm/{reconfirm}/")
    link = AffiliationLink(
        kind=KIND_SIGNATURE,
        object_id=signer.pk,
        letter_id=letter.pk,
        email="old@library.example",
        domain="library.example",
        fingerprint=affiliation_fingerprint(signer),
    )
    audit.check("affiliation-confirm", f"/affiliations/confirm/{make_affiliation_token(link)}/")
    page.goto(f"{base}/letters/{slug}/manage/{manage}/withdraw/")
    _submit(page, "main form button[type=submit]")
    audit.check("withdrawn")

    audit.check("link-error", f"/letters/{slug}/confirm/not-a-real-token/")
    page.goto(f"{base}/letters/{slug}/manage/")
    _submit(page, "main form button[type=submit]")
    audit.check("manage-request-errors")
    page.locator("input[name=email]").fill("someone@example.net")
    _submit(page, "main form button[type=submit]")
    audit.check("manage-request-sent")
    audit.check("manage-link-error", f"/letters/{slug}/manage/not-a-real-token/")
    audit.check("reconfirm-link-error", f"/letters/{slug}/reconfirm/not-a-real-token/")
    audit.check("affiliation-link-error", "/affiliations/confirm/not-a-real-token/")
    audit.check("invitation-error", "/invitations/not-a-real-token/")
    audit.check("letter-language-missing", f"/letters/{slug}/de/")
    audit.check("embed-missing", "/embed/no-such-letter/")

    closed = LetterFactory(
        slug="closed-letter", status=Letter.Status.CLOSED, closed_at=timezone.now()
    )
    SignatureFactory(letter=closed, verified=True)
    audit.check("letter-closed", f"/letters/{closed.slug}/")
    invitation = InvitationFactory(letter=letter)
    audit.check("invitation", f"/invitations/{invitation_token(invitation)}/")

    audit.check("privacy", "/privacy/")
    audit.check("not-found", "/no-such-page/")
    audit.check("login", "/accounts/login/")
    _without_browser_validation(page)
    _submit(page, "main form button[type=submit]")
    audit.check("login-errors")
    audit.check("signup", "/accounts/signup/")
    page.locator("input[name=email]").fill("not-an-address")
    _without_browser_validation(page)
    _submit(page, "main form button[type=submit] >> nth=-1")
    audit.check("signup-errors")
    audit.check("password-reset", "/accounts/password/reset/")
    page.locator("input[name=email]").fill("nobody@example.org")
    _submit(page, "main form button[type=submit]")
    audit.check("password-reset-done")
    for theme in ("light", "dark", "auto"):
        audit.check(f"embed-{theme}", f"/embed/{slug}/?theme={theme}")
    audit.assert_clean()


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    submit(page.locator("main form button[type=submit]").last)
    assert "/accounts/login/" not in page.url, page.locator("main").inner_text()


def _without_browser_validation(page) -> None:
    """Lets a form reach the server with bad input, to check the page of its errors."""
    page.evaluate("() => document.querySelectorAll('form').forEach(f => f.noValidate = true)")


def _submit(page, selector: str) -> None:
    submit(page.locator(selector).first)


def test_signed_in_pages_have_no_serious_violations(
    axe_context_factory,  # noqa: F811
    live_server,
    letter: Letter,
    variant: str,
) -> None:
    base = live_server.url
    slug = letter.slug
    owner = UserFactory(email="owner@example.org", is_staff=True)
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=owner, role=LetterRole.Role.OWNER)
    flags = [Signature.Flag.BURST_DOMAIN, Signature.Flag.DISPOSABLE]
    for i in range(4):
        SignatureFactory(
            letter=letter,
            verified=True,
            name=f"Flood {i}",
            email=f"f{i}@flood.example",
            flags=",".join(flags[: i % 3]),
        )
    draft = LetterFactory(slug="a-draft", status=Letter.Status.DRAFT, published_at=None)
    LetterRoleFactory(letter=draft, user=owner, role=LetterRole.Role.OWNER)
    entry = AuditEntry.objects.filter(letter=letter).latest("pk")

    audit = Audit(axe_context_factory(**VARIANTS[variant]).new_page(), base, variant)
    page = audit.page
    page.set_default_timeout(10_000)
    _log_in(page, base, owner.email)
    checks: list[tuple[str, str]] = [
        ("dashboard", "/dashboard/"),
        ("letter-new", "/letters/new/"),
        ("letter-edit", f"/letters/{slug}/edit/"),
        ("letter-preview", "/letters/a-draft/preview/"),
        ("team", f"/letters/{slug}/team/"),
        ("translations", f"/letters/{slug}/translations/"),
        ("translation-edit", f"/letters/{slug}/translations/fr/"),
        ("translation-delete", f"/letters/{slug}/translations/fr/delete/"),
        ("staff-letters", "/staff/letters/"),
        ("named-signatories", f"/letters/{slug}/team/signatories/"),
        ("moderation-queue", f"/letters/{slug}/moderation/"),
        ("moderation-flagged", f"/letters/{slug}/moderation/?state=flagged"),
        ("moderation-watch", f"/letters/{slug}/moderation/watch/"),
        ("moderation-log", f"/letters/{slug}/moderation/log/"),
        ("delivery", f"/letters/{slug}/delivery/"),
        ("moderation-entry", f"/letters/{slug}/moderation/log/{entry.pk}/"),
        ("account", "/account/"),
        ("account-email", "/accounts/email/"),
        ("password-change", "/accounts/password/change/"),
        ("mfa-index", "/accounts/2fa/"),
    ]
    for name, path in checks:
        audit.check(name, path)

    page.goto(f"{base}/letters/{slug}/edit/")
    page.locator("input[name=title]").fill("")
    _submit(page, "main form button[type=submit]")
    audit.check("letter-edit-errors")

    page.goto(f"{base}/letters/new/")
    _submit(page, "main form button[type=submit]:not([name=preview])")
    audit.check("letter-new-errors")

    page.goto(f"{base}/letters/{slug}/team/")
    page.locator("input[name=email]").fill("not-an-address")
    _submit(page, "form:has(input[name=email]) button[type=submit]")
    audit.check("team-invite-errors")

    page.goto(f"{base}/letters/{slug}/moderation/invalidate/")
    audit.check("invalidate")
    page.locator("input[name=domain]").fill("flood.example")
    _submit(page, "button[name=preview]")
    audit.check("invalidate-preview")

    page.goto(f"{base}/accounts/2fa/totp/activate/")
    if "/accounts/reauthenticate/" in page.url:
        audit.check("reauthenticate")
        page.locator("input[name=password]").fill(PASSWORD)
        _submit(page, "form:has(input[name=password]) button[type=submit]")
    audit.check("mfa-totp-activate")
    secret = page.locator("#authenticator_secret").input_value()
    page.locator("input[name=code]").fill(totp(secret))
    _submit(page, "form:has(input[name=code]) button[type=submit]")
    audit.check("mfa-recovery-codes", "/accounts/2fa/recovery-codes/")
    page.context.clear_cookies()
    _log_in(page, base, owner.email)
    assert "/accounts/2fa/authenticate/" in page.url
    audit.check("mfa-authenticate")
    audit.assert_clean()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        metafunc.parametrize("variant", list(VARIANTS))


def test_the_axe_check_itself_catches_a_field_without_a_label(
    axe_context_factory,  # noqa: F811
) -> None:
    """Proof that the checks above can fail: a form field without a label and an image
    without alternative text are reported, by rule id; an invalid field whose description
    does not exist is reported as untied."""
    page = axe_context_factory().new_page()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<h1>t</h1><form><input type="text" name="x"></form><img src="data:,">'
        "</main></body></html>"
    )
    found = {violation["id"] for violation in axe_violations(page)}
    assert {"label", "image-alt"} <= found

    page.set_content(
        '<label for="a">A</label><input id="a" aria-invalid="true" aria-describedby="a_error">'
        '<label for="b">B</label><input id="b" aria-invalid="true" aria-describedby="b_error">'
        '<p id="b_error">Enter B.</p>'
    )
    untied = page.evaluate(UNTIED_ERRORS)
    assert len(untied) == 1 and 'id="a"' in untied[0]
