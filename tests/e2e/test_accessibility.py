"""axe-core on every page a reader, a signer, an author or a moderator sees, on a desktop
and a phone viewport: no serious or critical violation of WCAG 2.1 A/AA or axe's best
practices. Each page is also kept as a screenshot. All findings of a run are collected, so
one failure lists every page that needs work, not only the first."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from letters.models import Letter, LetterRole, LetterTranslation
from letters.versions import letter_version_backfill, letter_version_publish
from petition.affiliations import (
    KIND_SIGNATURE,
    AffiliationLink,
    affiliation_fingerprint,
    make_affiliation_token,
)
from petition.models import Signature
from petition.reconfirm import make_reconfirm_token
from petition.tokens import make_manage_token, make_verification_token
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
    UserFactory,
)

from .axe import DESKTOP, MOBILE, axe_context_factory, axe_violations, describe  # noqa: F401
from .conftest import screenshot
from .test_author_journey import totp
from .test_moderation_in_browser import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
VIEWPORTS = {"desktop": DESKTOP, "mobile": MOBILE}


class Audit:
    """Visits pages in one browser page, runs axe on each, keeps a screenshot of each."""

    def __init__(self, page, base: str, viewport: str) -> None:
        self.page = page
        self.base = base
        self.viewport = viewport
        self.findings: dict[str, str] = {}
        self.checked: list[str] = []

    def check(self, name: str, path: str | None = None) -> None:
        if path is not None:
            self.page.goto(f"{self.base}{path}")
        self.page.wait_for_load_state()
        violations = axe_violations(self.page)
        if violations:
            self.findings[name] = f"{self.page.url}\n{describe(violations)}"
        self.checked.append(name)
        screenshot(self.page, f"a11y-{self.viewport}-{name}")

    def assert_clean(self) -> None:
        report = "\n\n".join(f"== {name}: {text}" for name, text in self.findings.items())
        assert not self.findings, (
            f"{len(self.findings)} of {len(self.checked)} pages ({self.viewport}) "
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
    viewport: str,
) -> None:
    base = live_server.url
    audit = Audit(axe_context_factory(VIEWPORTS[viewport]).new_page(), base, viewport)
    page = audit.page
    slug = letter.slug

    audit.check("home", "/")
    audit.check("letter", f"/letters/{slug}/")
    audit.check("letter-fr", f"/letters/{slug}/fr/")
    audit.check("changelog", f"/letters/{slug}/changes/")

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

    audit.check("privacy", "/privacy/")
    audit.check("not-found", "/no-such-page/")
    audit.check("login", "/accounts/login/")
    audit.check("signup", "/accounts/signup/")
    audit.check("password-reset", "/accounts/password/reset/")
    audit.check("embed-light", f"/embed/{slug}/?theme=light")
    audit.check("embed-dark", f"/embed/{slug}/?theme=dark")
    audit.assert_clean()


def test_embed_widget_in_dark_mode_has_no_serious_violations(
    axe_context_factory,  # noqa: F811
    live_server,
    letter: Letter,
    viewport: str,
) -> None:
    """The widget's automatic theme follows the reader's colour scheme: checked dark too."""
    context = axe_context_factory(VIEWPORTS[viewport], color_scheme="dark")
    audit = Audit(context.new_page(), live_server.url, f"{viewport}-dark")
    audit.check("embed-auto", f"/embed/{letter.slug}/")
    audit.check("letter", f"/letters/{letter.slug}/")
    audit.assert_clean()


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, page.locator("main").inner_text()


def _submit(page, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state()


def test_signed_in_pages_have_no_serious_violations(
    axe_context_factory,  # noqa: F811
    live_server,
    letter: Letter,
    viewport: str,
) -> None:
    base = live_server.url
    slug = letter.slug
    owner = UserFactory(email="owner@example.org")
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

    audit = Audit(axe_context_factory(VIEWPORTS[viewport]).new_page(), base, viewport)
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
        ("named-signatories", f"/letters/{slug}/team/signatories/"),
        ("moderation-queue", f"/letters/{slug}/moderation/"),
        ("moderation-flagged", f"/letters/{slug}/moderation/?state=flagged"),
        ("moderation-watch", f"/letters/{slug}/moderation/watch/"),
        ("moderation-log", f"/letters/{slug}/moderation/log/"),
        ("delivery", f"/letters/{slug}/delivery/"),
        ("account", "/account/"),
        ("mfa-index", "/accounts/2fa/"),
    ]
    for name, path in checks:
        audit.check(name, path)

    page.goto(f"{base}/letters/{slug}/edit/")
    page.locator("input[name=title]").fill("")
    _submit(page, "main form button[type=submit]")
    audit.check("letter-edit-errors")

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


def pytest_generate_tests(metafunc: Callable) -> None:
    if "viewport" in metafunc.fixturenames:
        metafunc.parametrize("viewport", list(VIEWPORTS))


def test_the_axe_check_itself_catches_a_field_without_a_label(
    axe_context_factory,  # noqa: F811
) -> None:
    """Proof that the checks above can fail: a form field without a label and an image
    without alternative text are reported, by rule id."""
    page = axe_context_factory().new_page()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<h1>t</h1><form><input type="text" name="x"></form><img src="data:,">'
        "</main></body></html>"
    )
    found = {violation["id"] for violation in axe_violations(page)}
    assert {"label", "image-alt"} <= found
