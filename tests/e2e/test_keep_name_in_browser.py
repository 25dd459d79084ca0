"""The signing form offers to keep a public name after anonymization only while the name
is to be shown, without JavaScript (a CSS rule), and the choice is stored."""

import pytest
from playwright.sync_api import expect

from letters.models import Letter
from petition.models import Signature
from tests.factories import LetterFactory

from .conftest import submit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def letter(settings, live_server) -> Letter:
    settings.SITE_URL = live_server.url
    return LetterFactory(slug="keep-or-not")


def test_keep_name_shows_only_with_a_public_name_and_is_stored(
    page, live_server, letter: Letter
) -> None:
    page.goto(f"{live_server.url}/letters/keep-or-not/")
    keep = page.get_by_label("Keep my name on the public list after the letter closes")
    expect(keep).to_be_visible()
    assert not keep.is_checked()
    page.get_by_label("Show my name publicly").uncheck()
    expect(keep).not_to_be_visible()
    page.get_by_label("Show my name publicly").check()
    keep.check()
    page.get_by_label("Full name").fill("Kim Keeper")
    page.get_by_label("Email").fill("kim@example.org")
    page.get_by_label("I agree that my signature").check()
    submit(page.get_by_role("button", name="Sign", exact=True))
    assert Signature.objects.get(email="kim@example.org").keep_name is True
