"""A moderator meets a flood of 3,000 signatures from one domain in a real browser: filters
the queue to it, takes all matching, invalidates them, watches the job's progress, undoes
it; uses the keyboard shortcuts; and turns on under-attack mode from the site."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import expect

from letters.models import Letter, LetterRole
from petition.models import Signature
from petition.moderation.defences import letter_under_attack
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

from .conftest import screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"
FLOOD = 3000


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    settings.MODERATION_BATCH_SIZE = 500
    return LetterFactory(slug="flooded", title="A letter under a flood", signer_fields=[])


def flood(letter: Letter) -> None:
    now = timezone.now()
    signatures = [
        SignatureFactory.build(
            letter=letter,
            name=f"Bot {i}",
            email=f"bot{i}@flood.example",
            status=Signature.Status.VERIFIED,
            verified_at=now,
            ip_address=f"203.0.113.{i % 250}",
        )
        for i in range(FLOOD)
    ]
    Signature.objects.bulk_create(signatures, batch_size=1000)


def test_moderator_invalidates_a_flood_by_filter_undoes_it_and_raises_the_shield(
    browser, live_server, letter: Letter
) -> None:
    base = live_server.url
    owner = UserFactory(email="owner@example.org")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=owner, role=LetterRole.Role.OWNER)
    honest = [SignatureFactory(letter=letter, verified=True, name=f"Real {i}") for i in range(3)]
    flood(letter)

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(owner.email)
    page.locator("input[name=password]").fill(PASSWORD)
    submit(page.locator("main form button[type=submit]").first)

    # The queue filtered to the flooding domain offers all 3,000 matching.
    page.goto(f"{base}/letters/flooded/moderation/")
    page.get_by_label("Search").fill("@flood.example")
    page.get_by_role("button", name="Filter").click()
    matching = page.get_by_label("all 3,000 signatures matching this filter")
    expect(matching).to_be_visible()
    screenshot(page, "moderation-flood-filtered")
    matching.check()
    page.get_by_placeholder("Note for the audit log").fill("flood from one domain")
    page.get_by_role("button", name="Invalidate", exact=True).click()

    # The job's page shows its progress until done.
    expect(page.locator(".entry-state")).to_have_text("Done")
    expect(page.locator(".entry-count")).to_have_text("3,000 / 3,000")
    assert Signature.objects.filter(moderation="invalidated").count() == FLOOD
    assert (
        not Signature.objects.filter(pk__in=[s.pk for s in honest]).exclude(moderation="").exists()
    )
    screenshot(page, "moderation-flood-invalidated")

    page.get_by_role("button", name="Undo this action").click()
    expect(page.locator(".entry-state")).to_have_text("Undone")
    assert not Signature.objects.filter(moderation="invalidated").exists()

    # Keyboard: "?" lists the shortcuts; j moves to the first row, a approves it.
    page.goto(f"{base}/letters/flooded/moderation/?state=awaiting")
    page.locator("body").press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
    first = page.locator("tr[data-signature]").first
    first_id = int(first.get_attribute("data-signature"))
    page.keyboard.press("j")
    expect(first).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("a")
    expect(page.get_by_text("Approved signatures: 1 signature changed.")).to_be_visible()
    assert Signature.objects.get(pk=first_id).moderation == "approved"

    # Under-attack mode from the site.
    page.goto(f"{base}/letters/flooded/moderation/defences/")
    page.get_by_role("button", name="Turn under-attack mode on").click()
    expect(page.get_by_text("This letter is under attack.")).to_be_visible()
    screenshot(page, "moderation-under-attack")
    assert letter_under_attack(letter)
