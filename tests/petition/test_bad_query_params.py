"""Every number or address read from a query string or form is refused with a clear 4xx,
never a 500: non-ASCII digits ("²" passes str.isdigit(), not int()), numbers beyond what
the database or a datetime holds, more digits than int() takes, addresses urlsplit refuses."""

import pytest
from django.test import Client
from django.urls import reverse

from delivery.models import DeliveryDocument
from letters.models import AuditEntry, Letter, LetterRole
from petition.models import Signature, WatchedName
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory

pytestmark = pytest.mark.django_db

BAD_NUMBERS = ["²", "\u0661\u0662", "1_0", "-1", "+1", "9" * 25, "1" * 5000, "0x1"]


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="fair")


@pytest.fixture
def owner_client(client: Client, letter: Letter) -> Client:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user)
    return client


@pytest.mark.parametrize(
    "before",
    [
        "²_1",
        "1_²",
        "\u0661_1",
        "99999999999999999999_1",  # past year 9999: no datetime holds it
        "1_99999999999999999999",  # past the largest bigint
        "-1_1",
        "1_1_1",
        "_",
    ],
)
def test_api_signatures_refuses_a_bad_cursor_with_400(
    client: Client, letter: Letter, before: str
) -> None:
    response = client.get("/api/v1/letters/fair/signatures", {"before": before})
    assert response.status_code == 400
    assert "previous page" in response.json()["detail"]


@pytest.mark.parametrize("query", [{"before": "1" * 5000}, {"limit": "²"}, {"limit": "9" * 40}])
def test_api_signatures_refuses_out_of_schema_values_with_422(
    client: Client, letter: Letter, query: dict
) -> None:
    assert client.get("/api/v1/letters/fair/signatures", query).status_code == 422


def test_api_signatures_takes_the_largest_cursor(client: Client, letter: Letter) -> None:
    SignatureFactory(letter=letter, verified=True)
    response = client.get(
        "/api/v1/letters/fair/signatures", {"before": "253402300799999999_9223372036854775807"}
    )
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


@pytest.mark.parametrize("query", [{"offset": "9" * 30}, {"limit": "0"}, {"limit": "101"}])
def test_api_letter_list_refuses_out_of_bounds_paging_with_422(client: Client, query: dict) -> None:
    assert client.get("/api/v1/letters", query).status_code == 422


@pytest.mark.parametrize("before", BAD_NUMBERS)
def test_moderation_log_refuses_a_bad_before_with_400(
    owner_client: Client, letter: Letter, before: str
) -> None:
    response = owner_client.get(reverse("moderation_log", args=[letter.slug]), {"before": before})
    assert response.status_code == 400
    assert "`before` must be a whole number" in response.content.decode()


def test_moderation_log_pages_with_a_good_before(owner_client: Client, letter: Letter) -> None:
    entry = AuditEntry.objects.create(letter=letter, action=AuditEntry.Action.HIDE)
    url = reverse("moderation_log", args=[letter.slug])
    assert owner_client.get(url, {"before": str(entry.pk + 1)}).status_code == 200
    assert owner_client.get(url, {"before": str(2**63 - 1)}).status_code == 200


@pytest.mark.parametrize("before", BAD_NUMBERS)
def test_moderation_queue_refuses_a_bad_before_with_400(
    owner_client: Client, letter: Letter, before: str
) -> None:
    response = owner_client.get(reverse("moderation_queue", args=[letter.slug]), {"before": before})
    assert response.status_code == 400


@pytest.mark.parametrize("remove", BAD_NUMBERS)
def test_watch_list_refuses_a_bad_id_to_remove_with_400(
    owner_client: Client, letter: Letter, remove: str
) -> None:
    WatchedName.objects.create(letter=letter, name="Famous Painter", name_key="famous painter")
    response = owner_client.post(
        reverse("moderation_watch", args=[letter.slug]), {"remove": remove}
    )
    assert response.status_code == 400
    assert "not on this letter" in response.content.decode()
    assert WatchedName.objects.filter(letter=letter).count() == 1


@pytest.mark.parametrize("signature", BAD_NUMBERS)
def test_bulk_moderation_refuses_a_bad_id_and_changes_nothing(
    owner_client: Client, letter: Letter, signature: str
) -> None:
    mine = SignatureFactory(letter=letter, verified=True)
    response = owner_client.post(
        reverse("moderation_bulk", args=[letter.slug]),
        {"action": "reject", "signature": [mine.pk, signature]},
        follow=True,
    )
    assert response.status_code < 500
    assert Signature.objects.get(pk=mine.pk).moderation == ""


@pytest.mark.parametrize("expected", BAD_NUMBERS)
def test_invalidation_refuses_a_bad_expected_count(
    owner_client: Client, letter: Letter, expected: str
) -> None:
    SignatureFactory(letter=letter, verified=True, email="x@spam.example")
    response = owner_client.post(
        reverse("moderation_invalidate", args=[letter.slug]),
        {"domain": "spam.example", "expected": expected, "confirm": "1"},
    )
    assert response.status_code < 500
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.INVALIDATE).exists()


@pytest.mark.parametrize("document", BAD_NUMBERS)
def test_delivery_download_refuses_a_bad_document_number_with_400(
    owner_client: Client, letter: Letter, document: str
) -> None:
    response = owner_client.get(
        reverse("delivery_download", args=[letter.slug]), {"document": document}
    )
    assert response.status_code == 400
    assert "whole number" in response.content.decode()


def test_delivery_download_of_a_number_past_any_id_finds_no_document(
    owner_client: Client, letter: Letter
) -> None:
    DeliveryDocument.objects.create(letter=letter)
    response = owner_client.get(
        reverse("delivery_download", args=[letter.slug]), {"document": str(2**63 - 1)}
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    "url", ["http://[/", "http://%5B/", "http://[::1/letters/fair/", "http://testserver:99999/"]
)
def test_oembed_of_an_address_urlsplit_refuses_is_404(client: Client, letter: Letter, url: str):
    response = client.get("/oembed", {"url": url})
    assert response.status_code == 404


def test_oembed_raw_unclosed_bracket_in_the_query_is_404(client: Client, letter: Letter) -> None:
    assert client.get("/oembed?url=http://%5B/").status_code == 404


@pytest.mark.parametrize("value", [*BAD_NUMBERS, "0", "1000000"])
def test_oembed_refuses_bad_pixels_with_a_clear_400(client: Client, letter: Letter, value: str):
    response = client.get("/oembed", {"url": "http://testserver/letters/fair/", "maxwidth": value})
    assert response.status_code == 400
    assert response.json()["detail"] == "`maxwidth` must be a whole number of pixels, at least 1."


@pytest.mark.parametrize("origin", ["http://[", "http://[::1", "http://x:99999"])
def test_a_post_with_an_unparseable_origin_is_refused_as_cross_site(
    client: Client, letter: Letter, origin: str
) -> None:
    response = client.post(
        reverse("signature_submit", args=[letter.slug]), {"name": "Ada"}, HTTP_ORIGIN=origin
    )
    assert response.status_code == 403
    assert not Signature.objects.exists()


@pytest.mark.parametrize("path", ["/letters/fair/moderation/log/99999999999999999999999/"])
def test_a_path_id_past_any_bigint_is_404(owner_client: Client, letter: Letter, path: str) -> None:
    assert owner_client.get(path).status_code == 404
