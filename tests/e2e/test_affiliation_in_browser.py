"""A signer proves their affiliation, in a real browser with email over SMTP: signs,
confirms, opens the emailed manage link, asks for a verification email at their work
address (after a mistyped one is refused), confirms it from that inbox, and the letter shows
their affiliation as verified while an impersonator's claim reads "(unverified)"."""

import re

import pytest
from playwright.sync_api import expect

from letters.models import Letter
from petition.models import Signature
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, NamedSignatoryFactory, SignatureFactory

from .conftest import screenshot
from .test_moderation_in_browser import mail_server, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM = re.compile(r"https?://\S+/confirm/\S+/")
MANAGE = re.compile(r"https?://\S+/manage/[^/\s]+/")
AFFILIATION = re.compile(r"https?://\S+/affiliations/confirm/[^/\s]+/")


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(slug="fair-terms", signer_fields=["title", "organization"])
    SignatureFactory(
        letter=letter,
        verified=True,
        name="Famous Painter",
        title="Member",
        organization="the alpha programme",
    )
    NamedSignatoryFactory(letter=letter, name="Named Claimant", affiliation="Alpha jury")
    return letter


def test_signer_verifies_an_affiliation_by_email_and_the_letter_shows_it(
    page,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    base = live_server.url
    page.goto(f"{base}/letters/fair-terms/")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.net")
    page.get_by_text("Add your title, organization or a comment").click()
    page.get_by_label("Title or occupation").fill("Illustrator")
    page.get_by_label("Organization").fill("Example Studio")
    page.get_by_label("I agree that my signature").check()
    page.get_by_role("button", name="Sign", exact=True).click()

    # One email: the confirm link, and the manage link that works once confirmed.
    verify_email = mail_server.wait_for(1)[0]
    page.goto(CONFIRM.search(text_of(verify_email)).group(0))
    page.get_by_role("button", name="Confirm my signature").click()
    page.goto(MANAGE.search(text_of(verify_email)).group(0))
    expect(page.locator("#affiliation-state").get_by_text("(unverified)")).to_be_visible()
    page.get_by_role("link", name="Verify my affiliation…").click()

    # A work address outside the stated domain is refused, and nothing is sent.
    page.get_by_label("Organization's domain").fill("example.org")
    page.get_by_label("Address at that domain").fill("grace@elsewhere.net")
    page.get_by_role("button", name="Send the verification email").click()
    expect(page.get_by_text("This address is not at example.org")).to_be_visible()
    screenshot(page, "affiliation-mismatch")
    assert len(mail_server.messages) == 1

    page.get_by_label("Address at that domain").fill("grace.hopper@example.org")
    page.get_by_role("button", name="Send the verification email").click()
    expect(page.get_by_role("heading", name="Check your work inbox")).to_be_visible()

    work_email = mail_server.wait_for(2)[1]
    assert work_email["To"] == "grace.hopper@example.org"
    page.goto(AFFILIATION.search(text_of(work_email)).group(0))
    expect(page.get_by_text("Illustrator, Example Studio")).to_be_visible()
    assert Signature.objects.get(name="Grace Hopper").affiliation_verification == ""
    screenshot(page, "affiliation-confirm")
    page.get_by_role("button", name="Confirm my affiliation").click()
    expect(page.get_by_role("heading", name="Affiliation verified")).to_be_visible()

    page.goto(f"{base}/letters/fair-terms/")
    grace = page.locator(".public-signatures li", has_text="Grace Hopper")
    expect(grace.get_by_text("verified via example.org email")).to_be_visible()
    painter = page.locator(".public-signatures li", has_text="Famous Painter")
    expect(painter.get_by_text("(unverified)")).to_be_visible()
    named = page.locator(".named-signatories li", has_text="Named Claimant")
    expect(named.get_by_text("(unverified)")).to_be_visible()
    screenshot(page, "affiliation-public-list")
    assert "grace.hopper" not in page.content()

    api = page.request.get(f"{base}/api/v1/letters/fair-terms/signatures").json()
    by_name = {item["name"]: item for item in api["items"]}
    assert by_name["Grace Hopper"]["affiliation_verified"] == "email"
    assert by_name["Grace Hopper"]["affiliation_domain"] == "example.org"
    assert by_name["Famous Painter"]["affiliation_verified"] is None


def test_team_verifies_affiliations_from_the_queue_and_the_named_list(
    browser,
    live_server,
    letter: Letter,
) -> None:
    """Without JavaScript: the queue's per-row controls post their own small forms."""
    from allauth.account.models import EmailAddress

    from letters.models import LetterRole
    from tests.factories import LetterRoleFactory, UserFactory

    from .test_moderation_in_browser import log_in

    base = live_server.url
    owner = UserFactory(email="owner@example.org")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=owner, role=LetterRole.Role.OWNER)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = page.new_page()
    log_in(page, base, owner.email)

    page.goto(f"{base}/letters/fair-terms/moderation/")
    row = page.locator("tr", has_text="Famous Painter")
    expect(row.get_by_text("(unverified)")).to_be_visible()
    row.get_by_label("Organization's domain for Famous Painter").fill("alpha.example")
    row.get_by_role("button", name="Verify affiliation").click()
    expect(page.get_by_text("marked as checked by a moderator")).to_be_visible()
    row = page.locator("tr", has_text="Famous Painter")
    expect(row.get_by_text("checked by a moderator (alpha.example)")).to_be_visible()
    screenshot(page, "affiliation-moderation-queue")
    row.get_by_role("button", name="Remove verification").click()
    expect(
        page.locator("tr", has_text="Famous Painter").get_by_text("(unverified)")
    ).to_be_visible()

    page.goto(f"{base}/letters/fair-terms/team/")
    page.get_by_role("link", name="Verify the named signatories' affiliations").click()
    card = page.locator("article", has_text="Named Claimant")
    card.locator(".named-check").get_by_label("Organization's domain").fill("jury.example")
    card.get_by_role("button", name="Mark verified (moderator check)").click()
    card = page.locator("article", has_text="Named Claimant")
    expect(card.get_by_text("checked by a moderator (jury.example)")).to_be_visible()
    screenshot(page, "affiliation-named-signatories")

    page.goto(f"{base}/letters/fair-terms/moderation/log/")
    assert page.get_by_text("Verified an affiliation").count() == 2
    assert page.get_by_text("Withdrew an affiliation's verification").count() == 1

    page.goto(f"{base}/letters/fair-terms/")
    named = page.locator(".named-signatories li", has_text="Named Claimant")
    expect(named.get_by_text("checked by a moderator (jury.example)")).to_be_visible()
