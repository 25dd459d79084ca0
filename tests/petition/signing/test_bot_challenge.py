"""The bot challenge (issue 15): under attack, the signing form's script solves a small proof
of work; the server checks its HMAC, expiry, letter and single use. A signature without a
good answer is still taken, the answer the same, but held until a moderator approves it."""

import hashlib
import time
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from letters.models import Letter, LetterRole
from petition.models import Signature
from petition.moderation.defences import defence_set
from petition.moderation.services import signatures_moderate
from petition.selectors import letter_signature_count
from petition.signing.challenge import (
    EXPIRES_SECONDS,
    MAX_NUMBER,
    Challenge,
    challenge_issue,
    challenge_verify,
)
from petition.signing.services import SignatureData, signature_create
from tests.factories import LetterRoleFactory
from tests.petition.conftest import confirm_link

Held = Signature.Moderation.HELD


def solve(challenge: Challenge) -> str:
    for number in range(challenge.maxnumber):
        digest = hashlib.sha256(f"{challenge.salt}{number}".encode()).hexdigest()
        if digest == challenge.challenge:
            return str(number)
    raise AssertionError("no answer")


def answer(challenge: Challenge) -> dict[str, str]:
    return {"salt": challenge.salt, "number": solve(challenge), "signature": challenge.signature}


def verify(letter_id: int, given: dict[str, str]) -> bool:
    return challenge_verify(
        letter_id=letter_id,
        salt=given["salt"],
        number=given["number"],
        signature=given["signature"],
    )


def test_a_solved_challenge_passes_once():
    challenge = challenge_issue(letter_id=7)
    assert challenge.maxnumber == MAX_NUMBER
    solution = answer(challenge)
    assert verify(7, solution)
    assert not verify(7, solution)  # the same answer again


def test_an_expired_challenge_fails():
    issued = time.time() - EXPIRES_SECONDS - 1
    solution = answer(challenge_issue(letter_id=7, now=issued))
    assert not verify(7, solution)


def test_a_challenge_for_another_letter_fails():
    solution = answer(challenge_issue(letter_id=7))
    assert not verify(8, solution)


def test_a_tampered_answer_fails():
    challenge = challenge_issue(letter_id=7)
    good = answer(challenge)
    number = int(good["number"])
    salt_parts = challenge.salt.split(".")
    later = ".".join([salt_parts[0], salt_parts[1], str(int(salt_parts[2]) + 3600), ""])
    tampered = [
        {**good, "number": str((number + 1) % MAX_NUMBER)},
        {**good, "salt": later},
        {**good, "signature": "0" * 64},
        {**good, "signature": ""},
        {**good, "number": ""},
        {**good, "number": "-1"},
        {**good, "number": "\uff11\uff12"},
        {**good, "number": "9" * 40},
        {**good, "salt": "x" * 500},
        {**good, "salt": "not.a.salt"},
        {**good, "salt": "a.7.soon."},
    ]
    for bad in tampered:
        assert not verify(7, bad), bad
    assert verify(7, good)  # the failures did not use it up


def test_a_made_up_challenge_fails_without_our_key():
    salt = f"{'ab' * 12}.7.{int(time.time()) + 60}."
    digest = hashlib.sha256(f"{salt}5".encode()).hexdigest()
    forged = hashlib.sha256(digest.encode()).hexdigest()
    assert not challenge_verify(letter_id=7, salt=salt, number="5", signature=forged)


def test_a_cache_outage_lets_a_correct_answer_through(monkeypatch):
    monkeypatch.setattr("petition.signing.challenge.cache_add", lambda *a, **k: None)
    solution = answer(challenge_issue(letter_id=7))
    assert verify(7, solution)


# Signing through the form.


@pytest.fixture
def owner(letter: Letter) -> User:
    return LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user


@pytest.fixture
def under_attack(letter: Letter, owner: User) -> Letter:
    defence_set(letter=letter, actor=owner, name="under_attack", value="on")
    return letter


def fetch_answer(client: Client, letter: Letter) -> dict[str, str]:
    response = client.get(reverse("signature_challenge", args=[letter.slug]))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    challenge = Challenge(**response.json())
    solution = answer(challenge)
    return {f"pow_{key}": value for key, value in solution.items()}


def test_the_form_asks_for_the_challenge_only_under_attack(
    client: Client, letter: Letter, owner: User
):
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "data-challenge" not in page and "pow.js" not in page
    defence_set(letter=letter, actor=owner, name="under_attack", value="on")
    page = client.get(letter.get_absolute_url()).content.decode()
    url = reverse("signature_challenge", args=[letter.slug])
    assert f'data-challenge="{url}"' in page
    assert 'name="pow_salt"' in page and "js/pow.js" in page


def test_under_attack_a_signer_who_skips_the_challenge_is_held_and_a_solver_counts(
    client: Client,
    under_attack: Letter,
    owner: User,
    sign: Callable,
    confirm: Callable,
    tally: Callable,
):
    skipped = sign(under_attack, name="Bot Example", email="bot@example.org")
    solved = sign(
        under_attack,
        name="Ada Example",
        email="ada@example.org",
        **fetch_answer(client, under_attack),
    )
    # The same answer, and each gets the email to confirm.
    assert skipped.status_code == solved.status_code == 302
    assert skipped["Location"] == solved["Location"]
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        confirm(confirm_link(message))
    tally()
    bot = Signature.objects.get(email_normalized="bot@example.org")
    ada = Signature.objects.get(email_normalized="ada@example.org")
    assert (bot.status, bot.moderation, bot.counted) == ("verified", Held, False)
    assert (ada.status, ada.moderation, ada.counted) == ("verified", "", True)
    assert letter_signature_count(under_attack) == 1
    # Not on the public list either, until a moderator approves it.
    page = client.get(under_attack.get_absolute_url()).content.decode()
    assert "Bot Example" not in page
    # Moderators find it under its own filter.
    client.force_login(owner)
    queue = reverse("moderation_queue", args=[under_attack.slug])
    held = client.get(queue, {"state": "held"}).content.decode()
    assert "Bot Example" in held and "Ada Example" not in held
    signatures_moderate(letter=under_attack, actor=owner, action="approve", signature_ids=[bot.pk])
    tally()
    assert letter_signature_count(under_attack) == 2


def test_a_reused_or_stale_answer_is_held(client: Client, under_attack: Letter, sign: Callable):
    fields = fetch_answer(client, under_attack)
    sign(under_attack, email="first@example.org", **fields)
    sign(under_attack, email="second@example.org", **fields)
    sign(under_attack, email="third@example.org", pow_salt="x", pow_number="1", pow_signature="y")
    moderation = dict(Signature.objects.values_list("email_normalized", "moderation"))
    assert moderation == {
        "first@example.org": "",
        "second@example.org": Held,
        "third@example.org": Held,
    }


def test_nothing_is_held_when_not_under_attack(letter: Letter, sign: Callable):
    sign(letter, email="plain@example.org")
    sign(letter, email="junk@example.org", pow_salt="x", pow_number="1", pow_signature="y")
    assert set(Signature.objects.values_list("moderation", flat=True)) == {""}


def test_a_held_withdrawn_or_shadow_row_signed_again_without_an_answer_stays_held(
    letter: Letter,
):
    data = SignatureData(name="Ada Example", email="ada@example.org")
    signature = signature_create(letter=letter, data=data, honeypot=True)
    assert signature is not None and signature.shadow_reason
    taken = signature_create(letter=letter, data=data, hold=True)
    assert taken is not None
    taken.refresh_from_db()
    assert (taken.shadow_reason, taken.moderation) == ("", Held)
    Signature.objects.filter(pk=taken.pk).update(
        status="withdrawn", verified_at=taken.created_at, moderation="approved"
    )
    signature_create(letter=letter, data=data, hold=True)
    taken.refresh_from_db()
    assert (taken.status, taken.moderation) == ("pending", Held)


def test_the_challenge_of_a_closed_letter_is_refused(client: Client, letter: Letter):
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.CLOSED)
    response = client.get(reverse("signature_challenge", args=[letter.slug]))
    assert response.status_code == 403
