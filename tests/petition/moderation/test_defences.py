"""Defences tuned live: rate limits, blocks and the under-attack mode, set from the site by
owners (their letter) and staff (the site), stored, cached, audited, in effect at once."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from core import ratelimit
from letters.models import AuditEntry, Letter, LetterRole
from petition.models import Block, DefenceOverride, Signature
from petition.moderation.defences import (
    DefenceError,
    defence_block_add,
    defence_set,
    letter_under_attack,
)
from petition.signing.services import SignatureData, signature_create
from tests.factories import LetterFactory, LetterRoleFactory, UserFactory

pytestmark = pytest.mark.django_db
Shadow = Signature.ShadowReason


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="besieged")


@pytest.fixture
def owner(letter: Letter) -> User:
    return LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user


@pytest.fixture
def owner_client(client: Client, owner: User) -> Client:
    client.force_login(owner)
    return client


def sign(letter: Letter, n: int, ip: str = "198.51.100.9", start: int = 0) -> list[str]:
    reasons = []
    for i in range(start, start + n):
        signature = signature_create(
            letter=letter,
            data=SignatureData(name=f"Person {i}", email=f"p{i}.{letter.pk}@example.org"),
            ip_address=ip,
        )
        reasons.append(signature.shadow_reason if signature else "not stored")
    return reasons


def defences_url(letter: Letter) -> str:
    return reverse("moderation_defences", kwargs={"slug": letter.slug})


def test_an_owners_letter_limit_applies_at_once(letter: Letter, owner: User, settings):
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "ip_letter_burst": "10/60"}
    assert sign(letter, 2) == ["", ""]
    defence_set(letter=letter, actor=owner, name="ip_letter_burst", value="2/60")
    assert sign(letter, 1, start=2) == [Shadow.RATE_IP_LETTER]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DEFENCES)
    assert entry.detail == {
        "scope": "letter",
        "defence": "ip_letter_burst",
        "from": "default",
        "to": "2/60",
    }
    other = LetterFactory()
    assert sign(other, 3) == ["", "", ""]  # another letter keeps the default


def test_under_attack_tightens_the_letters_limits(letter: Letter, owner: User):
    defence_set(letter=letter, actor=owner, name="under_attack", value="on")
    assert letter_under_attack(letter)
    assert sign(letter, 4) == ["", "", "", Shadow.RATE_IP_LETTER]
    defence_set(letter=letter, actor=owner, name="under_attack", value="off")
    assert not letter_under_attack(letter)
    assert not DefenceOverride.objects.exists()


def test_an_owners_own_limit_wins_over_under_attack(letter: Letter, owner: User):
    defence_set(letter=letter, actor=owner, name="under_attack", value="on")
    defence_set(letter=letter, actor=owner, name="ip_letter_burst", value="off")
    defence_set(letter=letter, actor=owner, name="ip_letter_sustained", value="off")
    assert sign(letter, 5) == [""] * 5


def test_staff_set_a_site_wide_limit_owners_cannot(letter: Letter, owner: User):
    with pytest.raises(DefenceError):
        defence_set(letter=letter, actor=owner, name="ip_site", value="1/60", site_wide=True)
    with pytest.raises(DefenceError):
        defence_set(letter=letter, actor=owner, name="ip_site", value="1/60")
    staff = UserFactory(is_staff=True)
    defence_set(letter=letter, actor=staff, name="ip_site", value="1/60", site_wide=True)
    assert sign(LetterFactory(), 2) == ["", Shadow.RATE_IP_SITE]


@pytest.mark.parametrize("value", ["ten", "10/0", "10/-5", "1/2/3", "10 per minute"])
def test_a_bad_limit_is_refused_with_a_message(letter: Letter, owner_client: Client, value: str):
    response = owner_client.post(
        defences_url(letter), {"op": "limit", "name": "ip_letter_burst", "value": value}
    )
    assert response.status_code == 400
    assert "count/seconds" in response.content.decode()
    assert not DefenceOverride.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"op": "nonsense"},
        {"op": "limit", "name": "ip_hard", "value": "1/60"},
        {"op": "limit", "name": "ip_site", "value": "1/60", "site": "1"},
        {"op": "block_add", "kind": "ip", "value": "not an ip"},
        {"op": "block_add", "kind": "domain", "value": "com"},
        {"op": "block_add", "kind": "other", "value": "x"},
        {"op": "block_remove", "block": "x"},
        {"op": "block_remove", "block": "999999"},
    ],
)
def test_bad_defence_requests_are_a_400_and_change_nothing(
    letter: Letter, owner_client: Client, data: dict[str, str]
):
    assert owner_client.post(defences_url(letter), data).status_code == 400
    assert not DefenceOverride.objects.exists()
    assert not Block.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.DEFENCES).exists()


def test_owner_turns_under_attack_on_from_the_page(letter: Letter, owner_client: Client):
    page = owner_client.get(defences_url(letter)).content.decode()
    assert "Turn under-attack mode on" in page
    response = owner_client.post(defences_url(letter), {"op": "attack", "value": "on"})
    assert response.status_code == 302
    assert letter_under_attack(letter)
    assert "This letter is under attack." in owner_client.get(defences_url(letter)).content.decode()


def test_owner_blocks_a_domain_for_the_letter_and_lifts_it(
    letter: Letter, owner: User, owner_client: Client
):
    owner_client.post(
        defences_url(letter), {"op": "block_add", "kind": "domain", "value": "Spam.Example"}
    )
    block = Block.objects.get()
    assert (block.value, block.letter) == ("spam.example", letter)
    with pytest.raises(DefenceError):
        defence_block_add(letter=letter, actor=owner, kind="domain", value="spam.example")
    signature = signature_create(
        letter=letter, data=SignatureData(name="Bot", email="bot@spam.example")
    )
    assert signature is not None and signature.shadow_reason == Shadow.BLOCKED_DOMAIN
    owner_client.post(defences_url(letter), {"op": "block_remove", "block": str(block.pk)})
    assert not Block.objects.exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.DEFENCES).count() == 2


def test_owners_cannot_lift_a_site_wide_block(letter: Letter, owner_client: Client):
    block = Block.objects.create(kind="domain", value="spam.example")
    response = owner_client.post(
        defences_url(letter), {"op": "block_remove", "block": str(block.pk)}
    )
    assert response.status_code == 400
    assert Block.objects.filter(pk=block.pk).exists()


def test_moderators_do_not_get_the_defences_page(letter: Letter, client: Client):
    moderator = LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user
    client.force_login(moderator)
    assert client.get(defences_url(letter)).status_code == 404


def test_rate_limits_fall_back_to_defaults_when_overrides_fail(settings):
    settings.PETITION_RATE_LIMITS = {"demo": "5/60"}

    def broken(scope: int | None) -> dict[str, str]:
        raise RuntimeError("database down")

    previous = ratelimit._override_provider
    try:
        ratelimit.rate_overrides_register(broken)
        assert ratelimit.rate_limit("demo") == ratelimit.Rate(5, 60)
        ratelimit.rate_overrides_register(lambda scope: {"demo": "nonsense"})
        assert ratelimit.rate_limit("demo") == ratelimit.Rate(5, 60)
        ratelimit.rate_overrides_register(lambda scope: {"demo": "off"} if scope == 7 else {})
        assert ratelimit.rate_limit("demo", scope=7) is None
        assert ratelimit.rate_limit("demo") == ratelimit.Rate(5, 60)
    finally:
        ratelimit.rate_overrides_register(previous)
