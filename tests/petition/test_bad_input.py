from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import Letter
from petition.models import Signature
from tests.factories import SignatureFactory

from .conftest import form_data, html_part

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"consent": None}, "consent", b"Please agree to the privacy notice"),
        ({"name": "x" * 121}, "name", b"at most 120 characters"),
        ({"name": "   "}, "name", b"This field is required"),
        ({"email": "not-an-address"}, "email", b"Enter a valid email address"),
        ({"email": "ada@@example.org"}, "email", b"Enter a valid email address"),
        ({"email": "ünïcode@example.org"}, "email", b"Enter a valid email address"),
        ({"email": "a" * 250 + "@example.org"}, "email", b"at most 254 characters"),
        ({"name": "Ada\r\nBcc: victim@example.org"}, "name", b"single line of plain text"),
        ({"name": "Ada\x00"}, "name", b"Null characters are not allowed"),
        ({"city": "Lyon\nBcc: x@y.z"}, "city", b"single line of plain text"),
        ({"comment": "x" * 1001}, "comment", b"at most 1000 characters"),
        ({"country": "XX"}, "country", b"Select a valid choice"),
    ],
)
def test_bad_input_gets_a_form_error_and_stores_nothing(
    letter: Letter, sign: Callable, overrides: dict, field: str, message: bytes
) -> None:
    response = sign(letter, **overrides)
    assert response.status_code == 400
    assert message in response.content
    assert f'id="id_{field}_error"'.encode() in response.content
    assert not Signature.objects.exists()
    assert len(mail.outbox) == 0


def test_form_errors_keep_what_the_signer_typed(letter: Letter, sign: Callable) -> None:
    response = sign(letter, name="Ada Example", consent=None)
    assert b'value="Ada Example"' in response.content


def test_html_in_fields_is_stored_as_text_and_escaped_on_the_page(
    letter: Letter, sign: Callable, client: Client
) -> None:
    sign(letter, name="<script>alert(1)</script>", organization='"><img src=x onerror=alert(2)>')
    signature = Signature.objects.get()
    assert signature.name == "<script>alert(1)</script>"
    Signature.objects.filter(pk=signature.pk).update(
        status="verified", verified_at=signature.created_at
    )
    page = client.get(letter.get_absolute_url()).content
    assert b"<script>alert(1)</script>" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert b"<img src=x" not in page


def test_html_in_a_name_is_escaped_in_the_html_email(letter: Letter, sign: Callable) -> None:
    sign(letter, name="<b>Ada</b>")
    html = html_part(mail.outbox[0])
    assert "<b>Ada</b>" not in html
    assert "&lt;b&gt;Ada&lt;/b&gt;" in html


def test_fields_the_letter_does_not_collect_are_ignored(sign: Callable) -> None:
    from tests.factories import LetterFactory

    bare = LetterFactory(signer_fields=[])
    sign(bare, organization="Should not be stored", comment="nor this")
    signature = Signature.objects.get()
    assert (signature.organization, signature.comment) == ("", "")


def test_signing_posted_from_another_site_is_refused_and_stores_nothing(letter: Letter) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("signature_submit", args=[letter.slug]),
        form_data(),
        headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert not Signature.objects.exists()


def test_bad_input_for_a_known_address_leaves_the_stored_signature_alone(
    letter: Letter, sign: Callable
) -> None:
    stored = SignatureFactory(
        letter=letter, name="Ada", email="ada@example.org", email_normalized="ada@example.org"
    )
    sign(letter, name="x" * 500, email="ada@example.org")
    stored.refresh_from_db()
    assert stored.name == "Ada"
    assert stored.emails_sent == 0


def test_unknown_letter_gives_404(client: Client) -> None:
    response = client.post(reverse("signature_submit", args=["no-such-letter"]), form_data())
    assert response.status_code == 404


@pytest.mark.parametrize("token", ["garbage", "a" * 400, "WzEsMV0:xxxx:yyyy", "%00"])
def test_garbage_tokens_get_a_clear_400(letter: Letter, client: Client, token: str) -> None:
    response = client.get(f"/letters/{letter.slug}/confirm/{token}/")
    assert response.status_code == 400


def test_a_token_with_a_slash_matches_no_confirm_url(letter: Letter, client: Client) -> None:
    response = client.get(f"/letters/{letter.slug}/confirm/..%2F/")
    assert response.status_code == 404
