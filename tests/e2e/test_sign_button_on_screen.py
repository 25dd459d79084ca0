"""The Sign button is where a reader can press it: on every common laptop and desktop
screen it is fully on screen at the top of the letter and while reading anywhere in it,
and pressing Tab through the form never puts focus off screen. A phone keeps its jump link."""

import pytest
from playwright.sync_api import expect

from letters.models import Letter
from tests.factories import LetterFactory, NamedSignatoryFactory

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOPS = [(1280, 720), (1366, 768), (1440, 900), (1920, 1080)]
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: we ask for fair pay, for credit, and for a say in the terms "
    "under which our work is used, now and in every later version of the programme."
    for n in range(40)
)


@pytest.fixture
def letter() -> Letter:
    # Every optional field the form can have: the tallest signing panel there is.
    letter = LetterFactory(
        slug="long-read",
        body=LONG_BODY,
        goal=1000,
        signer_fields=["title", "organization", "city", "country", "comment"],
    )
    for n in range(3):
        NamedSignatoryFactory(letter=letter, name=f"Named Person {n}")
    return letter


def button_in_viewport(page) -> dict:
    return page.evaluate(
        """() => {
            const b = document.querySelector('#sign button[type=submit]').getBoundingClientRect();
            return {top: b.top, bottom: b.bottom, left: b.left, right: b.right,
                    inside: b.top >= 0 && b.left >= 0 && b.bottom <= innerHeight
                            && b.right <= innerWidth && b.height > 0};
        }"""
    )


@pytest.mark.parametrize(("width", "height"), DESKTOPS)
def test_the_sign_button_is_on_screen_at_the_top_and_mid_letter(
    browser, live_server, letter: Letter, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/letters/long-read/")
    at_top = button_in_viewport(page)
    assert at_top["inside"], (width, height, at_top)
    for fraction in (0.3, 0.6):
        page.evaluate(f"window.scrollTo(0, document.body.scrollHeight * {fraction})")
        page.wait_for_timeout(50)
        mid = button_in_viewport(page)
        assert mid["inside"], (width, height, fraction, mid)
    # With the optional details opened, the panel scrolls within itself and the button
    # stays pinned on screen.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight * 0.4)")
    page.locator("#sign .more-fields summary").click()
    expect(page.locator("#sign textarea[name=comment]")).to_be_visible()
    opened = button_in_viewport(page)
    assert opened["inside"], (width, height, "details open", opened)
    context.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1366, 768)])
def test_tabbing_through_the_form_never_leaves_focus_off_screen(
    browser, live_server, letter: Letter, width: int, height: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{live_server.url}/letters/long-read/")
    page.locator("#id_name").focus()
    seen = []
    for _ in range(12):
        state = page.evaluate(
            """() => {
                const e = document.activeElement, r = e.getBoundingClientRect();
                return {id: e.id || e.tagName, inForm: !!e.closest('#sign'),
                        onScreen: r.bottom > 0 && r.top < innerHeight && r.height > 0};
            }"""
        )
        if not state["inForm"]:
            break
        seen.append(state["id"])
        assert state["onScreen"], (width, height, state, seen)
        page.keyboard.press("Tab")
    assert "id_consent" in seen
    context.close()


def test_a_phone_keeps_the_jump_link_to_the_form(browser, live_server, letter: Letter) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/letters/long-read/")
    jump = page.get_by_role("link", name="Sign this letter")
    expect(jump).to_be_in_viewport()
    jump.click()
    expect(page.get_by_label("Full name")).to_be_in_viewport()
    context.close()
