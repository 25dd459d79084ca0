"""Every public page and the main signed-in pages, on a desktop and on a phone: full-page
screenshots kept under test-artifacts/screenshots/ for a person to look at, and no page
wider than a phone's screen (nothing to scroll sideways)."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from delivery.models import DeliveryDocument
from letters.models import AuditEntry, Letter, LetterRole
from petition.counting import tally_apply
from petition.signing.tokens import make_verification_token
from tests.factories import LetterRoleFactory, SignatureFactory

from .conftest import ARTIFACTS, screenshot
from .test_moderation_in_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}
# Signatures per day over three weeks: a launch, a lull, a second wave.
WAVES = [40, 85, 52, 30, 18, 12, 9, 7, 11, 6, 4, 0, 3, 5, 22, 61, 34, 15, 8, 6, 3]
COUNTRIES = ["FR", "DE", "NG", "BR", "US", "JP", ""]


@pytest.fixture
def demo(settings, live_server, tmp_path) -> dict[str, str]:
    """The demo letter with three weeks of signatures, a pending signer, an owner, a bulk
    job under way and a PDF being prepared: the pages as people meet them."""
    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("import_letter", "demo/fair-terms.md", verbosity=0)
    letter = Letter.objects.get(slug="fair-terms")
    now = timezone.now()
    n = 0
    for days_ago, count in enumerate(reversed(WAVES)):
        for _ in range(count):
            n += 1
            SignatureFactory(
                letter=letter,
                verified=True,
                verified_at=now - timedelta(days=days_ago, minutes=n),
                name=f"Signer {n}",
                organization="Studio" if n % 3 else "",
                city="Lyon" if n % 2 else "Lagos",
                country=COUNTRIES[n % len(COUNTRIES)],
                flags="burst_ip" if n % 97 == 0 else "",
            )
    SignatureFactory(letter=letter, name="Ada Pending", email="ada@example.org")
    tally_apply()
    pending = SignatureFactory(letter=letter, name="Confirming Person")
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    AuditEntry.objects.create(
        letter=letter,
        actor=owner,
        action=AuditEntry.Action.INVALIDATE,
        state=AuditEntry.State.RUNNING,
        signature_count=1_840,
        total=4_200,
        detail={"criteria": {"domain": "flood.example"}},
    )
    DeliveryDocument.objects.create(letter=letter, state="running", progress=310, total=412)
    return {
        "owner": owner.email,
        "confirm": f"/letters/fair-terms/confirm/"
        f"{make_verification_token(signature_id=pending.pk, letter_id=letter.pk)}/",
    }


PUBLIC_PAGES = [
    ("home", "/", "light"),
    ("letter", "/letters/fair-terms/", "light"),
    ("letter-dark", "/letters/fair-terms/", "dark"),
    ("letter-fr", "/letters/fair-terms/fr/", "light"),
    ("changelog", "/letters/fair-terms/changes/", "light"),
    ("signed", "/letters/fair-terms/signed/", "light"),
    ("confirm", "{confirm}", "light"),
    ("privacy", "/privacy/", "light"),
    ("manage-request", "/letters/fair-terms/manage/", "light"),
    ("embed-light", "/embed/fair-terms/?theme=light", "light"),
    ("embed-dark", "/embed/fair-terms/?theme=dark", "dark"),
]
SIGNED_IN_PAGES = [
    ("dashboard", "/dashboard/", "light"),
    ("edit", "/letters/fair-terms/edit/", "light"),
    ("moderation-queue", "/letters/fair-terms/moderation/", "light"),
    ("moderation-queue-dark", "/letters/fair-terms/moderation/", "dark"),
    ("moderation-log", "/letters/fair-terms/moderation/log/", "light"),
    ("delivery", "/letters/fair-terms/delivery/", "light"),
]


def _visit(page, base: str, name: str, path: str, scheme: str, device: str) -> int | None:
    """Open the page, keep its screenshot, and return its width if it scrolls sideways."""
    page.emulate_media(color_scheme=scheme)
    response = page.goto(base + path)
    assert response is not None and response.status < 400, f"{name}: {response and response.status}"
    page.wait_for_load_state("load")
    screenshot(page, f"{device}-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    return width if width > page.evaluate("window.innerWidth") else None


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_every_page_fits_the_screen_and_is_photographed(
    browser, live_server, demo: dict[str, str], device: str
) -> None:
    base = live_server.url
    too_wide: dict[str, int] = {}
    reader = browser.new_context(viewport=VIEWPORTS[device])
    page = reader.new_page()
    for name, path, scheme in PUBLIC_PAGES:
        if (width := _visit(page, base, name, path.format(**demo), scheme, device)) is not None:
            too_wide[name] = width
    reader.close()

    author = browser.new_context(viewport=VIEWPORTS[device])
    page = author.new_page()
    log_in(page, base, demo["owner"])
    for name, path, scheme in SIGNED_IN_PAGES:
        if (width := _visit(page, base, name, path, scheme, device)) is not None:
            too_wide[name] = width
    author.close()
    assert not too_wide, f"pages wider than the {device} screen: {too_wide}"


def test_a_printed_letter_keeps_the_text_and_signatories_and_drops_the_forms(
    page, live_server, demo: dict[str, str]
) -> None:
    page.goto(f"{live_server.url}/letters/fair-terms/")
    page.emulate_media(media="print")
    for kept in (".letter-body", ".named-signatories", "#signature-count", ".recipient"):
        expect(page.locator(kept).first).to_be_visible()
    for dropped in (".sign-panel", ".site-header", ".embed-panel", ".public-signatures"):
        expect(page.locator(dropped)).to_be_hidden()
    screenshot(page, "print-letter")


def test_the_moderation_actions_stay_in_reach_down_a_long_queue_on_a_phone(
    browser, live_server, demo: dict[str, str]
) -> None:
    page = browser.new_context(viewport=VIEWPORTS["mobile"]).new_page()
    log_in(page, live_server.url, demo["owner"])
    page.goto(f"{live_server.url}/letters/fair-terms/moderation/")
    page.locator("table.queue tr", has_text="Signer 400").locator("input[type=checkbox]").check()
    # The bar's Approve (each row also has its own "Approve <name>" button).
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_in_viewport()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mobile-moderation-queue-scrolled.png"))  # the screen
    assert page.evaluate("window.scrollY") > 1000  # it did scroll down to that row
