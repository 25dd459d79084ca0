from collections.abc import Callable

import pytest
from django.core import mail
from django.test import RequestFactory

from letters.models import Letter
from petition.models import Block, Signature
from petition.screening import blocks_changed, client_ip
from petition.selectors import letter_signature_count
from tests.factories import LetterFactory

from .conftest import confirm_link

pytestmark = pytest.mark.django_db


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_client_ip_ignores_forwarded_for_without_trusted_proxies(settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_client_ip_takes_the_nearest_untrusted_hop_behind_a_trusted_proxy(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = request_from("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.5")
    assert client_ip(request) == "203.0.113.9"


def test_client_ip_does_not_trust_a_header_from_an_untrusted_peer(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("198.51.100.7", "203.0.113.9")) == "198.51.100.7"


def test_client_ip_stops_at_garbage_in_the_header(settings) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(request_from("10.0.0.2", "203.0.113.9, not-an-ip")) == "10.0.0.2"


def test_signing_over_the_per_ip_burst_limit_is_stored_silently_and_never_counts(
    letter: Letter, sign: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_letter_burst": "2/60"}
    answers = [sign(letter, email=f"p{n}@example.org") for n in range(4)]
    assert {r.status_code for r in answers} == {302}
    assert {r["Location"] for r in answers} == {answers[0]["Location"]}
    reasons = list(Signature.objects.order_by("pk").values_list("shadow_reason", flat=True))
    assert reasons == ["", "", "rate_ip_letter", "rate_ip_letter"]
    assert len(mail.outbox) == 2


def test_site_wide_ip_limit_covers_every_letter(sign: Callable, settings) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_site": "2/3600"}
    for n in range(3):
        sign(LetterFactory(), email=f"p{n}@example.org")
    assert Signature.objects.filter(shadow_reason="rate_ip_site").count() == 1


def test_per_address_limit_applies_across_letters(sign: Callable, settings) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "email": "2/3600"}
    for _ in range(3):
        sign(LetterFactory(), email="ada@example.org")
    assert Signature.objects.filter(shadow_reason="rate_email").count() == 1


def test_limits_can_be_turned_off(letter: Letter, sign: Callable, settings) -> None:
    settings.PETITION_RATE_LIMITS = dict.fromkeys(settings.PETITION_RATE_LIMITS, "off")
    for n in range(15):
        sign(letter, email=f"p{n}@example.org")
    assert not Signature.objects.exclude(shadow_reason="").exists()


def test_honeypot_signature_is_stored_flagged_and_gets_no_email(
    letter: Letter, sign: Callable
) -> None:
    response = sign(letter, website="http://spam.example")
    assert response.status_code == 302
    assert Signature.objects.get().shadow_reason == "honeypot"
    assert len(mail.outbox) == 0


def test_blocked_domain_and_subdomains_are_shadow_banned(letter: Letter, sign: Callable) -> None:
    Block.objects.create(kind="domain", value="spam.example")
    blocks_changed()
    sign(letter, email="a@spam.example")
    sign(letter, email="b@mail.spam.example")
    sign(letter, email="c@notspam.example")
    reasons = dict(Signature.objects.values_list("email", "shadow_reason"))
    assert reasons == {
        "a@spam.example": "blocked_domain",
        "b@mail.spam.example": "blocked_domain",
        "c@notspam.example": "",
    }


def test_blocked_ip_range_is_shadow_banned(letter: Letter, sign: Callable) -> None:
    Block.objects.create(kind="ip", value="127.0.0.0/8")
    blocks_changed()
    sign(letter)
    assert Signature.objects.get().shadow_reason == "blocked_ip"


def test_block_on_another_letter_does_not_apply(letter: Letter, sign: Callable) -> None:
    Block.objects.create(kind="ip", value="127.0.0.0/8", letter=LetterFactory())
    blocks_changed()
    sign(letter)
    assert Signature.objects.get().shadow_reason == ""


def test_shadow_banned_signature_confirmed_anyway_does_not_count(
    letter: Letter, sign: Callable, confirm: Callable, settings
) -> None:
    sign(letter)
    link = confirm_link(mail.outbox[0])
    Signature.objects.update(shadow_reason="blocked_ip")
    confirm(link)
    assert Signature.objects.get().status == "verified"
    assert letter_signature_count(letter) == 0


def test_a_flood_from_one_address_sends_no_more_emails(
    letter: Letter, sign: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "email": "1/3600"}
    for _ in range(5):
        sign(letter, email="victim@example.org")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("ip", " 203.0.113.7/24 ", "203.0.113.0/24"),
        ("ip", "2001:db8::1", "2001:db8::1/128"),
        ("domain", "@Spam.Example.", "spam.example"),
        ("domain", "bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_blocks_are_stored_in_a_canonical_form(kind: str, value: str, stored: str) -> None:
    from petition.services import block_create

    assert block_create(kind=kind, value=value).value == stored


@pytest.mark.parametrize(
    ("kind", "value"),
    [("ip", "300.1.1.1/8"), ("ip", "10.0.0.0/99"), ("domain", "not a domain"), ("domain", "x")],
)
def test_malformed_blocks_are_refused_with_a_message(kind: str, value: str) -> None:
    from django.core.exceptions import ValidationError

    from petition.services import block_create

    with pytest.raises(ValidationError, match="is not"):
        block_create(kind=kind, value=value)
    assert not Block.objects.exists()
