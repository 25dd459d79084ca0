"""The whole life of a letter, as its people live it, in real browsers with email over SMTP:
an author signs up and sets up MFA, writes and publishes a letter, invites a moderator; a
stranger signs as somebody famous; the moderator flags and hides the impersonation,
invalidates a flood after its preview count, sees the public count follow, and undoes it."""

import base64
import hashlib
import hmac
import re
import struct
import time

import pytest
from playwright.sync_api import expect

from letters.models import Letter
from tests.conftest import SmtpSink
from tests.factories import SignatureFactory

from .conftest import screenshot, submit
from .test_moderation_in_browser import mail_server, public_count, text_of  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a long and private passphrase"
CONFIRM_EMAIL = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")
INVITATION = re.compile(r"https?://\S+/invitations/\S+/")
SIGNATURE = re.compile(r"https?://\S+/confirm/\S+/")


def totp(secret: str, at: float | None = None) -> str:
    """The current code of an authenticator app (RFC 6238: SHA-1, 30 s, 6 digits)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((at or time.time()) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class Inbox:
    """The SMTP sink, read message by message as a person reads their mail."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.read = 0

    def next_link(self, to: str, pattern: re.Pattern[str]) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            messages = self.sink.wait_for(self.read + 1, timeout=1)
            for message in messages[self.read :]:
                self.read += 1
                if message["To"] == to and (match := pattern.search(text_of(message))):
                    return match.group(0)
        raise AssertionError(f"no email to {to} with a link like {pattern.pattern}")


def sign_up(page, base: str, inbox: Inbox, email: str) -> None:
    page.goto(f"{base}/accounts/signup/")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    submit(page.locator("main form button[type=submit]").last)
    page.goto(inbox.next_link(email, CONFIRM_EMAIL))
    submit(page.locator("main form button[type=submit]").last)


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    submit(page.locator("main form button[type=submit]").last)


def set_up_authenticator(page) -> str:
    """On the way to a team page: confirm the password if asked, then activate TOTP;
    returns the secret."""
    if "/accounts/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(PASSWORD)
        submit(page.locator("form:has(input[name=password]) button[type=submit]").first)
    assert "/accounts/2fa/totp/activate/" in page.url  # the site requires MFA for teams
    secret = page.locator("#authenticator_secret").input_value()
    page.locator("input[name=code]").fill(totp(secret))
    submit(page.locator("form:has(input[name=code]) button[type=submit]").first)
    return secret


@pytest.fixture
def base(settings, live_server) -> str:
    settings.SITE_URL = live_server.url
    settings.UNDERSIGNED_REQUIRE_MFA = True
    return live_server.url


def test_author_moderator_and_signer_keep_a_letter_honest(
    browser,
    base: str,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    inbox = Inbox(mail_server)
    author = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

    # The author signs up, confirms the address, and sets up an authenticator app.
    sign_up(author, base, inbox, "author@example.org")
    log_in(author, base, "author@example.org")
    author.goto(f"{base}/letters/new/")
    set_up_authenticator(author)
    author.goto(f"{base}/accounts/2fa/recovery-codes/")
    recovery_code = author.locator("#recovery_codes").input_value().split()[0]
    screenshot(author, "journey-recovery-codes")

    # Next time, signing in asks for the second factor (here a recovery code).
    author.context.clear_cookies()
    log_in(author, base, "author@example.org")
    assert "/accounts/2fa/authenticate/" in author.url
    author.locator("input[name=code]").fill(recovery_code)
    submit(author.locator("form:has(input[name=code]) button[type=submit]").first)

    # A new letter, previewed, saved, published.
    author.goto(f"{base}/letters/new/")
    author.locator("input[name=title]").fill("Fair pay for the people who test our models")
    author.locator("input[name=slug]").fill("fair-pay")
    author.locator("input[name=recipient]").fill("The board of Example AI")
    author.locator("textarea[name=body]").fill("We ask for **fair pay**.\n\n<script>x</script>")
    author.get_by_role("button", name="Preview").click()
    assert author.locator("#markdown-preview strong").inner_text() == "fair pay"
    assert author.locator("#markdown-preview script").count() == 0
    author.get_by_role("button", name="Save draft").click()
    author.get_by_role("button", name="Publish").click()
    letter = Letter.objects.get(slug="fair-pay")
    assert letter.status == Letter.Status.OPEN
    screenshot(author, "journey-published")

    # The author invites a moderator, who signs up, sets up MFA and accepts.
    author.goto(f"{base}/letters/fair-pay/team/")
    author.get_by_label("Email").fill("moderator@example.org")
    author.get_by_label("Role").select_option("moderator")
    author.get_by_role("button", name="Send the invitation").click()
    invitation = inbox.next_link("moderator@example.org", INVITATION)
    moderator = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_up(moderator, base, inbox, "moderator@example.org")
    log_in(moderator, base, "moderator@example.org")
    moderator.goto(invitation)
    moderator.get_by_role("button", name="Accept the invitation").click()
    moderator.goto(f"{base}/letters/fair-pay/moderation/")
    set_up_authenticator(moderator)

    # A flood arrives; a stranger signs as a famous painter and confirms by email.
    for i in range(6):
        SignatureFactory(letter=letter, verified=True, name=f"Bot {i}", email=f"b{i}@flood.example")
    SignatureFactory(letter=letter, verified=True, name="Real Person")
    signer = browser.new_context().new_page()
    signer.goto(f"{base}/letters/fair-pay/")
    signer.get_by_label("Full name").fill("Famous Painter")
    signer.get_by_label("Email").fill("not.the.painter@example.net")
    signer.get_by_label("I agree that my signature").check()
    signer.get_by_role("button", name="Sign", exact=True).click()
    signer.goto(inbox.next_link("not.the.painter@example.net", SIGNATURE))
    signer.get_by_role("button", name="Confirm my signature").click()
    assert public_count(signer, base, "fair-pay") == "8"
    expect(signer.get_by_text("Famous Painter")).to_be_visible()

    # The moderator flags the impersonation through the watch list and hides it.
    moderator.goto(f"{base}/letters/fair-pay/moderation/watch/")
    moderator.get_by_label("Name to watch").fill("Famous Painter")
    moderator.get_by_role("button", name="Add").click()
    moderator.goto(f"{base}/letters/fair-pay/moderation/?state=flagged")
    row = moderator.locator("tr", has_text="Famous Painter")
    expect(row.get_by_text("Name on the moderators' watch list")).to_be_visible()
    row.locator("input[type=checkbox]").check()
    moderator.get_by_role("button", name="Hide name").click()
    assert public_count(signer, base, "fair-pay") == "8"
    expect(signer.get_by_text("Famous Painter")).not_to_be_visible()

    # The flood: preview count, invalidate, the public count drops; then undo.
    moderator.goto(f"{base}/letters/fair-pay/moderation/invalidate/")
    moderator.get_by_label("Email domain").fill("flood.example")
    moderator.get_by_role("button", name="Preview").click()
    expect(moderator.get_by_text("6 signatures match.")).to_be_visible()
    moderator.get_by_role("button", name="Invalidate 6 signatures").click()
    assert moderator.locator(".entry-state").inner_text() == "Done"
    assert public_count(signer, base, "fair-pay") == "2"
    moderator.get_by_role("button", name="Undo this action").click()
    assert moderator.locator(".entry-state").inner_text() == "Undone"
    assert public_count(signer, base, "fair-pay") == "8"

    # Every step is in the audit log, which the author sees too.
    author.goto(f"{base}/letters/fair-pay/moderation/log/")
    log = author.locator("table.log").inner_text()
    for action in (
        "Created the letter",
        "Published the letter",
        "Invited a co-owner or moderator",
        "Accepted an invitation",
        "Hid signatures",
        "Invalidated signatures in bulk",
    ):
        assert action in log
    screenshot(author, "journey-audit-log")
