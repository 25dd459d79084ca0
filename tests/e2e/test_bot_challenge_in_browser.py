"""The bot challenge in a real browser at phone size (issue 15): with the letter under
attack, a reader's browser solves the proof of work by itself and the signature counts
once confirmed; a signer that skips the challenge (here a browser without JavaScript,
as a script posting the form would) gets the same answer and email, but is held for a
moderator. Nothing is fetched from another site and the page's CSP refuses nothing.

How long solving took is printed and written next to the screenshots; speed is not
asserted (the shared test machine is no phone)."""

import re
import time

import pytest
from playwright.sync_api import expect

from letters.models import Letter, LetterRole
from petition.models import Signature
from petition.moderation.defences import defence_set
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, LetterRoleFactory

from .conftest import ARTIFACTS, screenshot
from .test_moderation_in_browser import mail_server, public_count, text_of  # noqa: F401
from .test_no_third_party import REPORT_VIOLATIONS, Watch, origin

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM = re.compile(r"https?://\S+/confirm/\S+/")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(slug="besieged", signer_fields=[])
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    defence_set(letter=letter, actor=owner, name="under_attack", value="on")
    return letter


def sign_on(page, base: str, name: str, email: str) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("I agree that my signature").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()


def confirm(page, message) -> None:
    page.goto(CONFIRM.search(text_of(message)).group(0))
    page.get_by_role("button", name="Confirm my signature").click()
    expect(page.get_by_text("change or withdraw your signature later")).to_be_visible()


def test_under_attack_a_browser_solves_the_challenge_and_a_scripted_signer_is_held(
    browser,
    live_server,
    letter: Letter,
    mail_server: SmtpSink,  # noqa: F811
) -> None:
    base = live_server.url
    watch = Watch(site=origin(base), current="letter page")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.on("request", watch.on_request)
    page.on("console", watch.on_console)

    started = time.monotonic()
    page.goto(f"{base}/letters/besieged/")
    form = page.locator("form[data-challenge]")
    expect(form).to_have_attribute("data-pow-ms", re.compile(r"^\d+$"), timeout=20_000)
    waited_ms = round((time.monotonic() - started) * 1000)
    solved_ms = int(form.get_attribute("data-pow-ms") or "0")
    assert page.locator("input[name=pow_number]").input_value().isdigit()
    timing = f"bot challenge at 390x844: solved {solved_ms} ms after the script started, {waited_ms} ms after the page was asked for"
    print(timing)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "bot-challenge-timing.txt").write_text(timing + "\n")
    screenshot(page, "bot-challenge-solved-phone")

    sign_on(page, base, "Phone Signer", "phone.signer@example.org")
    watch.current = "confirmation"
    confirm(page, mail_server.wait_for(1)[0])

    # A signer that never runs the challenge: same answer, same email, held.
    scripted = browser.new_context(viewport=PHONE, java_script_enabled=False)
    bot_page = scripted.new_page()
    bot_page.goto(f"{base}/letters/besieged/")
    sign_on(bot_page, base, "Scripted Signer", "scripted@example.org")
    confirm(bot_page, mail_server.wait_for(2)[1])
    scripted.close()

    signer = Signature.objects.get(email_normalized="phone.signer@example.org")
    held = Signature.objects.get(email_normalized="scripted@example.org")
    assert (signer.status, signer.moderation) == ("verified", "")
    assert (held.status, held.moderation) == ("verified", Signature.Moderation.HELD)
    watch.current = "count"
    deadline = time.monotonic() + 20
    while public_count(page, base, "besieged") != "1" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert public_count(page, base, "besieged") == "1"
    expect(page.get_by_text("Phone Signer")).to_be_visible()
    expect(page.get_by_text("Scripted Signer")).to_have_count(0)
    assert watch.seen("/letters/besieged/sign/challenge/")
    assert not watch.problems(), watch.problems()
    context.close()
