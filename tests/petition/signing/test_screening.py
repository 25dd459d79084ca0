from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import RequestFactory

from core.clientip import client_ip
from letters.models import Letter
from petition.models import Block, Signature
from petition.selectors import letter_signature_count
from petition.signing.screening import blocks_changed
from tests.factories import LetterFactory
from tests.petition.conftest import confirm_link

pytestmark = pytest.mark.django_db


def request_from(remote: str, forwarded: str | None = None):
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
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
    from petition.signing.services import block_create

    assert block_create(kind=kind, value=value).value == stored


@pytest.mark.parametrize(
    ("kind", "value"),
    [("ip", "300.1.1.1/8"), ("ip", "10.0.0.0/99"), ("domain", "not a domain"), ("domain", "x")],
)
def test_malformed_blocks_are_refused_with_a_message(kind: str, value: str) -> None:
    from django.core.exceptions import ValidationError

    from petition.signing.services import block_create

    with pytest.raises(ValidationError, match="is not"):
        block_create(kind=kind, value=value)
    assert not Block.objects.exists()


def sign_from(client, letter: Letter, remote: str, **fields: object):
    from django.urls import reverse

    from tests.petition.conftest import form_data

    return client.post(
        reverse("signature_submit", args=[letter.slug]), form_data(**fields), REMOTE_ADDR=remote
    )


@pytest.fixture
def sign_at(client, django_capture_on_commit_callbacks: Callable) -> Callable[..., object]:
    """POST the signing form from a given client address."""

    def _sign(letter: Letter, remote: str, **fields: object) -> object:
        with django_capture_on_commit_callbacks(execute=True):
            return sign_from(client, letter, remote, **fields)

    return _sign


def test_a_honeypot_attempt_does_not_lock_the_real_owner_out(
    letter: Letter, sign_at: Callable
) -> None:
    bot = sign_at(letter, "198.51.100.7", email="victim@example.org", name="Bot", website="x")
    real = sign_at(letter, "203.0.113.9", email="Victim@example.org", name="Vic Tim")
    assert bot["Location"] == real["Location"]
    signature = Signature.objects.get()
    assert (signature.shadow_reason, signature.status, signature.name) == ("", "pending", "Vic Tim")
    assert [m.to for m in mail.outbox] == [["Victim@example.org"]]


def test_a_rate_limited_attempt_does_not_lock_the_address_either(
    letter: Letter, sign_at: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_letter_burst": "1/60"}
    sign_at(letter, "198.51.100.7", email="first@example.org")
    sign_at(letter, "198.51.100.7", email="victim@example.org", name="Bot")
    assert Signature.objects.get(email="victim@example.org").shadow_reason == "rate_ip_letter"
    sign_at(letter, "203.0.113.9", email="victim@example.org", name="Vic Tim")
    signature = Signature.objects.get(email="victim@example.org")
    assert (signature.shadow_reason, signature.name, signature.emails_sent) == ("", "Vic Tim", 1)
    assert [m.to for m in mail.outbox] == [["first@example.org"], ["victim@example.org"]]
    assert letter_signature_count(letter) == 0  # pending until confirmed, as ever


def test_a_taken_over_signature_counts_once_confirmed(
    letter: Letter, sign_at: Callable, confirm: Callable, tally: Callable
) -> None:
    sign_at(letter, "198.51.100.7", email="victim@example.org", website="x")
    sign_at(letter, "203.0.113.9", email="victim@example.org")
    confirm(confirm_link(mail.outbox[0]))
    tally()
    assert Signature.objects.get().status == "verified"
    assert letter_signature_count(letter) == 1


def test_a_shadow_attempt_after_a_real_signature_changes_nothing(
    letter: Letter, sign_at: Callable
) -> None:
    sign_at(letter, "203.0.113.9", email="ada@example.org", name="Ada")
    sign_at(letter, "198.51.100.7", email="ada@example.org", name="Bot", website="x")
    signature = Signature.objects.get()
    assert (signature.shadow_reason, signature.name) == ("", "Ada")
    assert len(mail.outbox) == 1


def test_honeypot_hits_count_against_the_rate_limits(
    letter: Letter, sign_at: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_letter_burst": "2/60"}
    for n in range(2):
        sign_at(letter, "198.51.100.7", email=f"bot{n}@example.org", website="x")
    sign_at(letter, "198.51.100.7", email="next@example.org")
    assert Signature.objects.get(email="next@example.org").shadow_reason == "rate_ip_letter"
    assert len(mail.outbox) == 0


def test_past_the_hard_limit_nothing_is_stored(letter: Letter, sign_at: Callable, settings) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_hard": "3/3600"}
    answers = [
        sign_at(letter, "198.51.100.7", email=f"bot{n}@example.org", website="x") for n in range(6)
    ]
    answers.append(sign_at(letter, "198.51.100.8", email="other-ip@example.org"))
    assert {(r.status_code, r["Location"]) for r in answers} == {(302, answers[0]["Location"])}
    assert Signature.objects.filter(shadow_reason="honeypot").count() == 3
    assert Signature.objects.filter(email="other-ip@example.org", shadow_reason="").exists()
    assert [m.to for m in mail.outbox] == [["other-ip@example.org"]]


def test_blocked_attempts_count_towards_the_hard_limit(
    letter: Letter, sign_at: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_hard": "2/3600"}
    Block.objects.create(kind="ip", value="198.51.100.0/24")
    blocks_changed()
    for n in range(4):
        sign_at(letter, "198.51.100.7", email=f"bot{n}@example.org")
    assert Signature.objects.filter(shadow_reason="blocked_ip").count() == 2


def test_moderators_see_shadow_banned_attempts_below_the_hard_limit(
    letter: Letter, sign_at: Callable
) -> None:
    from petition.moderation.selectors import QueueFilter, queue_page

    sign_at(letter, "198.51.100.7", email="bot@example.org", website="x")
    shown = queue_page(letter=letter, queue_filter=QueueFilter(state="shadow")).rows
    assert [s.email for s in shown] == ["bot@example.org"]


def test_ipv6_addresses_of_one_64_share_the_signing_limits(
    letter: Letter, sign_at: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_letter_burst": "2/60"}
    for n in range(1, 5):
        sign_at(letter, f"2001:db8:1:2::{n:x}", email=f"p{n}@example.org")
    sign_at(letter, "2001:db8:1:3::1", email="neighbour@example.org")
    reasons = list(Signature.objects.order_by("pk").values_list("shadow_reason", flat=True))
    assert reasons == ["", "", "rate_ip_letter", "rate_ip_letter", ""]
    assert len(mail.outbox) == 3


def test_ipv6_privacy_addresses_share_the_site_wide_limit(sign_at: Callable, settings) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_site": "2/3600"}
    for n in range(3):
        sign_at(LetterFactory(), f"2001:db8:1:2:{n + 1:x}:abcd:ef01:2345", email="a@example.org")
    reasons = list(Signature.objects.order_by("pk").values_list("shadow_reason", flat=True))
    assert reasons == ["", "", "rate_ip_site"]


def test_client_ip_gives_an_ipv4_mapped_address_as_ipv4(settings) -> None:
    settings.TRUSTED_PROXIES = []
    assert client_ip(request_from("::ffff:203.0.113.9")) == "203.0.113.9"


def test_ipv4_mapped_and_plain_ipv4_share_the_limits(
    letter: Letter, sign_at: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_letter_burst": "1/60"}
    sign_at(letter, "203.0.113.9", email="a@example.org")
    sign_at(letter, "::ffff:203.0.113.9", email="b@example.org")
    assert Signature.objects.get(email="b@example.org").shadow_reason == "rate_ip_letter"


def test_manage_link_requests_are_limited_per_ipv6_64(letter: Letter, settings) -> None:
    from petition.selfservice.services import manage_link_send
    from tests.factories import SignatureFactory

    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "manage_ip": "2/3600"}
    for n in range(3):
        SignatureFactory(letter=letter, email=f"s{n}@example.org", verified=True)
    sent = [
        manage_link_send(letter=letter, email=f"s{n}@example.org", ip_address=f"2001:db8::{n + 1}")
        for n in range(3)
    ]
    assert sent == [True, True, False]


def test_the_anomaly_scan_flags_a_burst_from_one_ipv6_64(letter: Letter, settings) -> None:
    from petition.moderation.anomalies import letter_flag_anomalies
    from tests.factories import SignatureFactory

    settings.ANOMALY_BURST_PER_IP = 3
    burst = [SignatureFactory(letter=letter, ip_address=f"2001:db8:1:2::{n + 1}") for n in range(3)]
    apart = [SignatureFactory(letter=letter, ip_address=f"2001:db8:1:{n + 3}::1") for n in range(3)]
    v4 = [SignatureFactory(letter=letter, ip_address=f"203.0.113.{n + 1}") for n in range(3)]
    letter_flag_anomalies(letter=letter)
    flagged = set(Signature.objects.filter(flags__contains="burst_ip").values_list("pk", flat=True))
    assert flagged == {s.pk for s in burst}
    assert not flagged & {s.pk for s in apart + v4}


def test_a_limit_that_is_not_count_per_seconds_is_refused() -> None:
    from core.ratelimit import Rate

    assert Rate.parse("10/60") == Rate(10, 60)
    assert Rate.parse("off") is None
    for text in ["ten/60", "10/0", "10/-5", "1e3/60"]:
        with pytest.raises(ValueError):
            Rate.parse(text)
