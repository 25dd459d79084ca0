"""A moderator keeps a letter honest in a real browser: flags an impersonation through the
watch list and hides it, invalidates a flood from one domain after its preview count, sees
the public count follow, and undoes it."""

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from letters.models import Letter, LetterRole
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

from .conftest import screenshot, submit

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"
LINK = re.compile(r"https?://\S+/confirm/\S+/")


@pytest.fixture
def mail_server(settings, smtp_sink: SmtpSink) -> SmtpSink:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_sink


def text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else message.get_content()


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    submit(page.locator("main form button[type=submit]").first)


def public_count(page, base: str, slug: str) -> str:
    page.goto(f"{base}/letters/{slug}/")
    return page.locator("#signature-count").inner_text()


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    return LetterFactory(slug="honest", title="A letter worth keeping honest", signer_fields=[])


def test_moderator_hides_an_impersonation_and_undoes_a_flood_invalidation(
    browser, live_server, letter: Letter, mail_server: SmtpSink
) -> None:
    base = live_server.url
    moderator = UserFactory(email="moderator@example.org")
    EmailAddress.objects.create(user=moderator, email=moderator.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=moderator, role=LetterRole.Role.MODERATOR)
    for i in range(3):
        SignatureFactory(letter=letter, verified=True, name=f"Real Person {i}")
    for i in range(5):
        SignatureFactory(letter=letter, verified=True, name=f"Bot {i}", email=f"b{i}@flood.example")

    # Someone signs as a famous painter, from their own browser, and confirms by email.
    signer = browser.new_context().new_page()
    signer.goto(f"{base}/letters/honest/")
    signer.get_by_label("Full name").fill("Famous Painter")
    signer.get_by_label("Email").fill("not.the.painter@example.net")
    signer.get_by_label("I agree that my signature").check()
    signer.get_by_role("button", name="Sign", exact=True).click()
    link = LINK.search(text_of(mail_server.wait_for(1)[0])).group(0)
    signer.goto(link)
    signer.get_by_role("button", name="Confirm my signature").click()
    assert public_count(signer, base, "honest") == "9"
    expect(signer.get_by_text("Famous Painter")).to_be_visible()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, base, moderator.email)

    # The watch list flags the impersonation; the moderator hides it.
    page.goto(f"{base}/letters/honest/moderation/watch/")
    page.get_by_label("Name to watch").fill("famous painter")
    page.get_by_role("button", name="Add").click()
    page.goto(f"{base}/letters/honest/moderation/?state=flagged")
    row = page.locator("tr", has_text="Famous Painter")
    expect(row.get_by_text("Name on the moderators' watch list")).to_be_visible()
    screenshot(page, "moderation-flagged")
    row.locator("input[type=checkbox]").check()
    page.get_by_placeholder("Note for the audit log").fill("impersonation")
    page.get_by_role("button", name="Hide name").click()
    expect(page.get_by_text("Hid signatures: 1 signature changed.")).to_be_visible()
    assert public_count(signer, base, "honest") == "9"  # hidden: still counts, name not listed
    expect(signer.get_by_text("Famous Painter")).not_to_be_visible()

    # A flood from one domain: preview, confirm, the count drops; then undo.
    page.goto(f"{base}/letters/honest/moderation/invalidate/")
    page.get_by_label("Email domain").fill("flood.example")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("5 signatures match.")).to_be_visible()
    screenshot(page, "moderation-invalidation-preview")
    page.get_by_role("button", name="Invalidate 5 signatures").click()
    assert page.locator(".entry-state").inner_text() == "Done"
    assert public_count(signer, base, "honest") == "4"

    page.goto(f"{base}/letters/honest/moderation/log/")
    screenshot(page, "moderation-audit-log")
    page.locator("tr", has_text="Invalidated signatures in bulk").get_by_role(
        "button", name="Undo"
    ).click()
    assert page.locator(".entry-state").inner_text() == "Undone"
    assert public_count(signer, base, "honest") == "9"
