"""A signer who uses only the keyboard: Tab, Shift+Tab, Space and Enter. The skip link is
the first stop, the signing form is reached from the page's own link, errors come back
tied to their fields with focus on the first one, and every stop shows where focus is."""

import pytest
from allauth.account.models import EmailAddress

from letters.models import Letter, LetterRole
from petition.models import Signature
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
    UserFactory,
)

from .conftest import screenshot
from .test_moderation_in_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# What the keyboard user sees of the focused element: an outline or a ring drawn with a
# box-shadow, in the computed style while it has focus.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name'),
    type: el.getAttribute('type'), text: (el.innerText || '').trim().slice(0, 60),
    href: el.getAttribute('href'), inMain: !!el.closest('main'),
    inSignForm: !!el.closest('#sign form'), visible: outline || shadow,
  };
}"""


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    letter = LetterFactory(
        slug="by-keyboard",
        title="Every control within reach of a keyboard",
        signer_fields=["organization", "country"],
        body="We ask for [accessible tools](https://example.org/) for everyone.",
    )
    NamedSignatoryFactory(letter=letter, name="Ada Example")
    return letter


def focused(page) -> dict:
    state = page.evaluate(FOCUS_STATE)
    assert state is not None, "focus was lost to the page body"
    assert state["visible"], f"no visible focus indicator on {state}"
    return state


def tab(page, *, shift: bool = False) -> dict:
    page.keyboard.press("Shift+Tab" if shift else "Tab")
    return focused(page)


def tab_until(page, wanted, *, limit: int = 60) -> dict:
    """Tabs forward, checking each stop's focus indicator, until `wanted(state)` holds."""
    for _ in range(limit):
        state = tab(page)
        if wanted(state):
            return state
    raise AssertionError(f"not reached within {limit} Tab presses")


def error_tie(page, field_id: str) -> dict:
    """The field's invalid state and the text of every element its aria-describedby names."""
    return page.evaluate(
        """(id) => {
          const el = document.getElementById(id);
          const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
          return {
            invalid: el.getAttribute('aria-invalid'),
            described: ids.map(i => document.getElementById(i)?.innerText.trim() || null),
            errorIds: ids.filter(i => document.getElementById(i)?.classList.contains('error')),
          };
        }""",
        field_id,
    )


@pytest.mark.parametrize("viewport", ["desktop", "mobile"])
def test_a_keyboard_user_signs_with_errors_shown_at_their_fields(
    browser, live_server, letter: Letter, viewport: str
) -> None:
    size = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 390, "height": 844}}
    context = browser.new_context(viewport=size[viewport])
    page = context.new_page()
    try:
        _sign_by_keyboard(page, live_server.url, letter, viewport)
    finally:
        context.close()


def _sign_by_keyboard(page, base: str, letter: Letter, viewport: str) -> None:
    page.goto(f"{base}/letters/by-keyboard/")

    skip = tab(page)
    assert (skip["tag"], skip["text"]) == ("a", "Skip to content")
    screenshot(page, f"keyboard-{viewport}-skip-link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/letters/by-keyboard/#main")
    after_skip = tab(page)
    assert after_skip["inMain"], "the skip link did not move past the header"

    if viewport == "mobile":
        # The form is below the letter on a phone; the page's own link leads to it.
        def is_jump(state: dict) -> bool:
            return state["href"] == "#sign"

        jump = after_skip if is_jump(after_skip) else tab_until(page, is_jump)
        assert jump["text"] == "Sign this letter"
        page.keyboard.press("Enter")
        first = tab(page)
    else:
        first = (
            after_skip if after_skip["inSignForm"] else tab_until(page, lambda s: s["inSignForm"])
        )
    assert first["id"] == "id_name"

    # Shift+Tab goes back out of the form and Tab comes back to the same field.
    assert not tab(page, shift=True)["inSignForm"]
    assert tab(page)["id"] == "id_name"

    # Too hasty: no name, a mistyped address, no consent.
    email = tab(page)
    assert email["id"] == "id_email"
    page.keyboard.type("kay.board@example")
    submit = tab_until(page, lambda s: s["inSignForm"] and s["type"] == "submit")
    assert submit["text"] == "Sign"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert "/sign/" in page.url
    assert focused(page)["id"] == "id_name", "focus is not on the first field to correct"
    screenshot(page, f"keyboard-{viewport}-signing-errors")
    for field_id in ("id_name", "id_email", "id_consent"):
        tie = error_tie(page, field_id)
        assert tie["invalid"] == "true", field_id
        assert tie["errorIds"] == [f"{field_id}_error"], (field_id, tie)
    assert "Please agree to the privacy notice" in " ".join(
        error_tie(page, "id_consent")["described"]
    )
    assert error_tie(page, "id_organization")["invalid"] is None

    # Corrected by keyboard alone: type the name, retype the address, tick the consent.
    page.keyboard.type("Kay Board")
    assert tab(page)["id"] == "id_email"
    page.keyboard.press("Control+A")
    page.keyboard.type("kay.board@example.org")
    consent = tab_until(page, lambda s: s["id"] == "id_consent")
    assert consent["type"] == "checkbox"
    page.keyboard.press("Space")
    assert page.locator("#id_consent").is_checked()
    tab_until(page, lambda s: s["inSignForm"] and s["type"] == "submit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/letters/by-keyboard/signed/**")
    screenshot(page, f"keyboard-{viewport}-signed")

    signature = Signature.objects.get(letter=letter)
    assert (signature.name, signature.email) == ("Kay Board", "kay.board@example.org")
    assert signature.status == Signature.Status.PENDING


def test_autofocus_is_set_only_when_the_form_comes_back_with_errors(client, letter) -> None:
    """A fresh page must not pull focus past the letter; a page with errors puts it on the
    first field to correct (here the email: the name is fine) and nowhere else."""
    fresh = client.get("/letters/by-keyboard/").content.decode()
    assert "autofocus" not in fresh
    response = client.post(
        "/letters/by-keyboard/sign/", {"name": "Kay Board", "email": "kay@", "country": "XX"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("autofocus") == 1
    email = page[page.index('id="id_email"') - 300 : page.index('id="id_email"')]
    assert "autofocus" in email.rsplit("<input", 1)[1]


# Where a focused element is, and whether it can be seen at all (the honeypot field, for
# one, must never take focus).
FOCUS_BOX = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const box = el.getBoundingClientRect();
  return {html: el.outerHTML.slice(0, 120), width: box.width, height: box.height,
          left: box.left + window.scrollX, top: box.top + window.scrollY};
}"""


def tab_through(page, *, limit: int = 200) -> list[dict]:
    """Every Tab stop of the page, from the top until focus leaves the document."""
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        box = page.evaluate(FOCUS_BOX)
        if box is None:
            return stops
        state = page.evaluate(FOCUS_STATE)
        box["visible"] = state["visible"]
        stops.append(box)
    raise AssertionError(f"more than {limit} Tab stops")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/letters/by-keyboard/",
        "/letters/by-keyboard/changes/",
        "/letters/by-keyboard/manage/",
        "/privacy/",
        "/accounts/login/",
        "/embed/by-keyboard/",
    ],
)
def test_every_tab_stop_is_on_screen_and_shows_focus(page, live_server, letter, path) -> None:
    page.goto(f"{live_server.url}{path}")
    stops = tab_through(page)
    assert stops, "nothing on the page takes focus"
    hidden = [s["html"] for s in stops if s["width"] < 1 or s["height"] < 1 or s["left"] < 0]
    assert not hidden, f"focus lands on elements nobody can see: {hidden}"
    unmarked = [s["html"] for s in stops if not s["visible"]]
    assert not unmarked, f"no visible focus indicator: {unmarked}"


def test_every_tab_stop_on_team_pages_is_on_screen_and_shows_focus(
    page, live_server, letter
) -> None:
    owner = UserFactory(email="keys@example.org")
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    LetterRoleFactory(letter=letter, user=owner, role=LetterRole.Role.OWNER)
    SignatureFactory(letter=letter, verified=True, flags="disposable")
    log_in(page, live_server.url, owner.email)
    paths = [
        "/dashboard/",
        "/letters/by-keyboard/moderation/",
        "/letters/by-keyboard/moderation/invalidate/",
        "/letters/by-keyboard/edit/",
        "/letters/by-keyboard/team/",
        "/letters/by-keyboard/translations/",
        "/letters/by-keyboard/delivery/",
    ]
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        stops = tab_through(page)
        hidden = [s["html"] for s in stops if s["width"] < 1 or s["height"] < 1 or s["left"] < 0]
        unmarked = [s["html"] for s in stops if not s["visible"]]
        assert len(stops) > 5, path
        assert not hidden, f"{path}: focus lands on elements nobody can see: {hidden}"
        assert not unmarked, f"{path}: no visible focus indicator: {unmarked}"
