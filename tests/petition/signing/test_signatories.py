"""The full public list of signatories at /letters/<slug>/signatures/."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from letters.models import Letter
from tests.factories import LetterFactory, NamedSignatoryFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="fair-terms")


def names_on(page: str) -> list[str]:
    return re.findall(r'<span class="name">(?:<bdi>)?([^<]+)', page)


def test_the_list_shows_named_signatories_first_then_public_names_only(
    client: Client, letter: Letter, tally
) -> None:
    NamedSignatoryFactory(letter=letter, name="Ada Named")
    SignatureFactory(letter=letter, verified=True, name="Public Person")
    SignatureFactory(letter=letter, verified=True, name="Hidden Person", show_name=False)
    SignatureFactory(letter=letter, name="Pending Person")
    tally()
    page = client.get("/letters/fair-terms/signatures/").content.decode()
    assert page.index("Ada Named") < page.index("Public Person")
    assert "Hidden Person" not in page
    assert "Pending Person" not in page
    assert "@" not in "".join(names_on(page))


def test_pages_follow_each_other_without_gaps_or_repeats(client: Client, letter: Letter) -> None:
    start = timezone.now() - timedelta(days=1)
    for n in range(120):
        SignatureFactory(
            letter=letter, verified=True, name=f"Person {n:03d}",
            verified_at=start + timedelta(seconds=n // 2),  # pairs share a timestamp
        )  # fmt: skip
    seen: list[str] = []
    url = "/letters/fair-terms/signatures/"
    while url:
        page = client.get(url).content.decode()
        seen += names_on(page)
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = (
            "/letters/fair-terms/signatures/" + found.group(1).replace("&amp;", "&")
            if found
            else ""
        )
    assert len(seen) == 120
    assert len(set(seen)) == 120
    assert seen[0] == "Person 119"


def test_search_finds_names_and_organizations(client: Client, letter: Letter) -> None:
    SignatureFactory(letter=letter, verified=True, name="Dana Fox", organization="Atelier Nord")
    SignatureFactory(letter=letter, verified=True, name="Sam Lee", organization="Studio Sud")
    by_name = names_on(client.get("/letters/fair-terms/signatures/?q=fox").content.decode())
    assert by_name == ["Dana Fox"]
    by_org = names_on(client.get("/letters/fair-terms/signatures/?q=studio").content.decode())
    assert by_org == ["Sam Lee"]


def test_filters_by_country_and_verified_affiliation(client: Client, letter: Letter) -> None:
    SignatureFactory(letter=letter, verified=True, name="In France", country="FR")
    SignatureFactory(
        letter=letter, verified=True, name="Checked", organization="Studio",
        affiliation_verification="moderator",
    )  # fmt: skip
    french = names_on(client.get("/letters/fair-terms/signatures/?country=FR").content.decode())
    assert french == ["In France"]
    checked = names_on(client.get("/letters/fair-terms/signatures/?verified=1").content.decode())
    assert checked == ["Checked"]


@pytest.mark.parametrize(
    "query", ["?before=garbage", "?before=1_%C2%B2", "?before=99999999999999999999999_1"]
)
def test_a_cursor_the_list_never_gave_is_a_clear_400(
    client: Client, letter: Letter, query: str
) -> None:
    response = client.get(f"/letters/fair-terms/signatures/{query}")
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["?q=%00%1b", "?country=%00", "?country=ZZ", "?verified=%ff"])
def test_odd_filters_are_ignored_not_errors(client: Client, letter: Letter, query: str) -> None:
    assert client.get(f"/letters/fair-terms/signatures/{query}").status_code == 200


def test_a_draft_letter_has_no_public_list(client: Client) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert client.get("/letters/secret/signatures/").status_code == 404


def test_the_letter_page_links_to_the_full_list(client: Client, letter: Letter, tally) -> None:
    SignatureFactory(letter=letter, verified=True)
    tally()
    page = client.get("/letters/fair-terms/").content.decode()
    assert 'href="/letters/fair-terms/signatures/"' in page
    assert "See all 1 signatory" in page
