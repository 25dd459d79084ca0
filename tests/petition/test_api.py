import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from letters.models import Letter
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_letter_detail_gives_the_verified_count(client: Client, tally) -> None:
    letter = LetterFactory(slug="fair", goal=5000)
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    SignatureFactory(letter=letter)
    tally()
    data = client.get("/api/v1/letters/fair").json()
    assert data["slug"] == "fair"
    assert data["title"] == letter.title
    assert data["status"] == "open"
    assert data["goal"] == 5000
    assert data["signature_count"] == 2


def test_letter_list_has_open_and_closed_letters_newest_first_never_drafts(
    client: Client,
) -> None:
    now = timezone.now()
    LetterFactory(slug="open-one", published_at=now - timedelta(days=2))
    LetterFactory(slug="draft-one", status=Letter.Status.DRAFT)
    LetterFactory(slug="closed-one", status=Letter.Status.CLOSED, published_at=now)
    data = client.get("/api/v1/letters").json()
    assert [item["slug"] for item in data["items"]] == ["closed-one", "open-one"]
    assert data["count"] == 2


@pytest.mark.parametrize(("status", "slug"), [("open", "open-one"), ("closed", "past-one")])
def test_letter_list_filters_by_public_status(client: Client, status: str, slug: str) -> None:
    LetterFactory(slug="open-one")
    LetterFactory(slug="past-one", closes_at=timezone.now() - timedelta(hours=1))
    data = client.get(f"/api/v1/letters?status={status}").json()
    assert [item["slug"] for item in data["items"]] == [slug]


def test_letter_list_is_paginated(client: Client) -> None:
    LetterFactory.create_batch(3)
    data = client.get("/api/v1/letters?limit=2&offset=2").json()
    assert data["count"] == 3
    assert len(data["items"]) == 1


def test_draft_letter_is_404_in_the_api(client: Client) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert client.get("/api/v1/letters/secret").status_code == 404
    assert client.get("/api/v1/letters/nope").status_code == 404


def test_api_never_contains_an_email_address(client: Client) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory(letter=letter, email="hidden.person@example.net", verified=True)
    for url in ("/api/v1/letters", "/api/v1/letters/fair"):
        body = client.get(url).content
        assert b"hidden.person" not in body
        assert b"@" not in body


def test_api_sets_no_cookie(client: Client) -> None:
    LetterFactory(slug="fair")
    response = client.get("/api/v1/letters/fair")
    assert not response.cookies


def test_openapi_document_describes_the_letter_endpoints(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/letters/{slug}" in spec["paths"]
    assert "/api/v1/letters" in spec["paths"]


def test_letter_detail_gives_breakdowns_by_country_and_day(client: Client, tally) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory.create_batch(2, letter=letter, verified=True, country="FR")
    SignatureFactory(letter=letter, verified=True, country="DE")
    SignatureFactory(letter=letter, verified=True)
    tally()
    data = client.get("/api/v1/letters/fair").json()
    assert data["breakdowns"]["by_country"] == {"DE": 1, "FR": 2, "unknown": 1}
    assert sum(day["count"] for day in data["breakdowns"]["by_day"]) == 4


def test_letter_detail_lists_its_languages_and_public_fields(client: Client) -> None:
    LetterFactory(slug="fair", language="fr", recipient="The board")
    data = client.get("/api/v1/letters/fair").json()
    assert data["languages"] == ["fr"]
    assert data["recipient"] == "The board"
    assert {"closes_at", "url", "breakdowns"} <= data.keys()


def test_signature_list_of_a_draft_letter_is_404(client: Client) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert client.get("/api/v1/letters/secret/signatures").status_code == 404


def test_signature_list_gives_only_the_public_fields(client: Client) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory(letter=letter, email="x.person@example.net", verified=True)
    response = client.get("/api/v1/letters/fair/signatures")
    (item,) = response.json()["items"]
    assert set(item) == {
        "name",
        "title",
        "organization",
        "city",
        "country",
        "signed_at",
        "affiliation_verified",
        "affiliation_domain",
        "log_index",  # its entry in the letter's public trust log (trustlog/)
        "comment",  # null unless the signer chose to show it (petition.models)
        "name_withheld",
    }
    assert b"x.person" not in response.content


@pytest.mark.parametrize(
    "url", ["/api/v1/letters", "/api/v1/letters/fair", "/api/v1/letters/fair/signatures"]
)
def test_api_gets_are_public_cookie_free_and_briefly_cacheable(client: Client, url: str) -> None:
    LetterFactory(slug="fair")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "stale-while-revalidate" in response["Cache-Control"]
    assert re.search(r"max-age=\d+", response["Cache-Control"])
    assert not response.cookies
    assert "cookie" not in response.get("Vary", "").lower()


@pytest.mark.parametrize("url", ["/api/v1/letters", "/api/v1/letters/fair"])
def test_api_answers_304_to_a_matching_etag(client: Client, url: str) -> None:
    LetterFactory(slug="fair")
    first = client.get(url)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Access-Control-Allow-Origin"] == "*"


def test_api_errors_are_not_tagged_for_caching_as_content(client: Client) -> None:
    response = client.get("/api/v1/letters/nope")
    assert response.status_code == 404
    assert "ETag" not in response


def test_warm_api_letter_detail_needs_no_database_query(
    client: Client, tally, django_assert_num_queries
) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory(letter=letter, verified=True, country="FR")
    tally()
    client.get("/api/v1/letters/fair")
    with django_assert_num_queries(0):
        data = client.get("/api/v1/letters/fair").json()
    assert data["signature_count"] == 1
    assert data["breakdowns"]["by_country"] == {"FR": 1}


def test_warm_api_answers_unknown_letters_without_a_query(
    client: Client, django_assert_num_queries
) -> None:
    client.get("/api/v1/letters/nope")
    with django_assert_num_queries(0):
        assert client.get("/api/v1/letters/nope").status_code == 404


def _documented(client: Client) -> dict[tuple[str, str], set[int]]:
    document = client.get("/api/v1/openapi.json").json()
    return {
        (path, method): {int(code) for code in operation["responses"]}
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


# For each operation: requests that between them give every answer it can give.
PROBES = {
    "/api/v1/letters": ["", "?status=nope", "?limit=0", "?offset=-1", "?limit=101"],
    "/api/v1/letters/{slug}": ["/fair", "/nope"],
    "/api/v1/letters/{slug}/signatures": [
        "/fair/signatures",
        "/nope/signatures",
        "/fair/signatures?limit=0",
        "/fair/signatures?limit=201",
        "/fair/signatures?before=%C2%B2_1",
        "/fair/signatures?before=99999999999999999999_1",
    ],
}


def test_every_operation_documents_exactly_the_answers_it_gives(client: Client) -> None:
    LetterFactory(slug="fair")
    documented = _documented(client)
    assert {path for path, _method in documented} == set(PROBES)
    for (path, method), codes in documented.items():
        assert method == "get"
        seen = set()
        for probe in PROBES[path]:
            response = client.get("/api/v1/letters" + probe)
            seen.add(response.status_code)
            if response.status_code == 200:
                again = client.get("/api/v1/letters" + probe, HTTP_IF_NONE_MATCH=response["ETag"])
                seen.add(again.status_code)
        assert seen <= codes, f"{path} answers {sorted(seen - codes)} it does not document"
        assert codes <= seen, f"{path} documents {sorted(codes - seen)} it never answers"


def test_openapi_document_states_the_paging_bounds(client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()

    def parameter(path: str, name: str) -> dict:
        (found,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == name]
        return found["schema"]

    letters = parameter("/api/v1/letters", "limit")
    assert (letters["minimum"], letters["maximum"]) == (1, 100)
    assert parameter("/api/v1/letters", "offset")["minimum"] == 0
    signatures = parameter("/api/v1/letters/{slug}/signatures", "limit")
    assert (signatures["minimum"], signatures["maximum"]) == (1, 200)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/letters/" + "a" * 300,
        "/api/v1/letters/a%0A:%20b",
        "/api/v1/letters/caf%C3%A9",
        "/embed/" + "a" * 300 + "/count.json",
    ],
)
def test_what_cannot_be_a_slug_is_a_404_that_makes_no_cache_key(
    client: Client, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the fuzz suite: a slug from the URL made the cache key as it was, too long
    or with line breaks for a cache backend (memcached refuses such keys)."""

    def no_cache_key(key: str, build: object) -> None:
        raise AssertionError(f"a cache key was made: {key[:40]!r}")

    monkeypatch.setattr("petition.api.cached_twice", no_cache_key)
    monkeypatch.setattr("petition.embeds.selectors.cached_twice", no_cache_key)
    assert client.get(url).status_code == 404
