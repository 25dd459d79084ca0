from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from letters.models import Letter
from mail.models import OutboundEmail
from petition.models import Signature
from petition.selectors import letter_signature_count
from tests.factories import LetterFactory, SignatureFactory
from tests.petition.conftest import confirm_link, html_part

pytestmark = pytest.mark.django_db


def test_signing_creates_a_pending_signature_that_does_not_count(
    letter: Letter, sign: Callable
) -> None:
    response = sign(letter, email="ada@example.org", country="FR", city="Lyon")
    assert response.status_code == 302
    assert response["Location"] == reverse("signature_submitted", args=[letter.slug])
    signature = Signature.objects.get()
    assert (signature.status, str(signature.country), signature.city) == ("pending", "FR", "Lyon")
    assert letter_signature_count(letter) == 0


def test_signing_sends_one_email_with_one_absolute_link(
    letter: Letter, sign: Callable, settings
) -> None:
    settings.SITE_URL = "http://127.0.0.1:9123"
    sign(letter, email="ada@example.org")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert letter.title in message.subject
    link = confirm_link(message)
    assert link.startswith("http://127.0.0.1:9123/letters/fair-terms/confirm/")
    html = html_part(message)
    assert link in html
    assert OutboundEmail.objects.get().state == OutboundEmail.State.SENT


def test_following_the_link_asks_for_a_confirming_click_without_verifying(
    letter: Letter, sign: Callable, client: Client
) -> None:
    sign(letter)
    response = client.get(confirm_link(mail.outbox[0]))
    assert response.status_code == 200
    assert b"Confirm my signature" in response.content
    assert Signature.objects.get().status == "pending"


def test_confirming_verifies_and_the_count_goes_up(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    assert letter_signature_count(letter) == 0
    response = confirm(confirm_link(mail.outbox[0]))
    assert response.status_code == 200
    assert b"your signature counts" in response.content
    assert Signature.objects.get().status == "verified"
    assert letter_signature_count(letter) == 1


def test_a_link_used_twice_counts_once(
    letter: Letter, sign: Callable, confirm: Callable, client: Client
) -> None:
    sign(letter)
    link = confirm_link(mail.outbox[0])
    confirm(link)
    second = confirm(link)
    assert second.status_code == 200
    assert b"already confirmed" in second.content
    assert client.get(link).status_code == 200
    assert letter_signature_count(letter) == 1


def test_tampered_link_is_refused_and_changes_nothing(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    link = confirm_link(mail.outbox[0])
    head, token, _ = link.rsplit("/", 2)
    forged = f"{head}/{token[:-3]}{'aaa' if not token.endswith('aaa') else 'bbb'}/"
    response = confirm(forged)
    assert response.status_code == 400
    assert b"not valid" in response.content
    assert Signature.objects.get().status == "pending"


def test_link_for_another_signature_id_is_refused(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    link = confirm_link(mail.outbox[0])
    # Change one character of the sealed token.
    head, token, _ = link.rsplit("/", 2)
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    response = confirm(f"{head}/{tampered}/")
    assert response.status_code == 400
    assert Signature.objects.get().status == "pending"


def test_expired_link_is_refused_with_410(
    letter: Letter, sign: Callable, confirm: Callable, settings
) -> None:
    sign(letter)
    link = confirm_link(mail.outbox[0])
    settings.PETITION_VERIFY_LINK_MAX_AGE = -1
    response = confirm(link)
    assert response.status_code == 410
    assert b"expired" in response.content
    assert Signature.objects.get().status == "pending"


def test_link_under_another_letter_is_refused(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    other = LetterFactory(slug="other")
    sign(letter)
    link = confirm_link(mail.outbox[0]).replace("/fair-terms/", f"/{other.slug}/")
    assert confirm(link).status_code == 400
    assert Signature.objects.get().status == "pending"


def test_same_address_in_capitals_does_not_count_twice(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter, email="ada@example.org")
    confirm(confirm_link(mail.outbox[0]))
    response = sign(letter, email="  ADA@Example.ORG ")
    assert response.status_code == 302
    assert Signature.objects.count() == 1
    assert letter_signature_count(letter) == 1


def test_signing_again_while_pending_resends_the_link(letter: Letter, sign: Callable) -> None:
    sign(letter, email="ada@example.org")
    sign(letter, email="Ada@example.org")
    assert Signature.objects.count() == 1
    assert len(mail.outbox) == 2
    assert all("Confirm your signature" in m.subject for m in mail.outbox)


def test_signing_again_after_verification_sends_already_signed(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    confirm(confirm_link(mail.outbox[0]))
    sign(letter)
    assert len(mail.outbox) == 2  # the verification email (with the manage link), "already signed"
    assert "already signed" in mail.outbox[1].subject
    assert "/confirm/" not in mail.outbox[1].body
    assert "/manage/" in mail.outbox[1].body


def test_emails_per_signature_are_capped(letter: Letter, sign: Callable, settings) -> None:
    settings.PETITION_MAX_EMAILS_PER_SIGNATURE = 3
    for _ in range(6):
        assert sign(letter).status_code == 302
    assert len(mail.outbox) == 3


def test_answer_is_the_same_whether_or_not_the_address_signed(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    fresh = sign(letter, email="new@example.org")
    sign(letter, email="known@example.org")
    confirm(confirm_link(mail.outbox[-1]))
    known = sign(letter, email="known@example.org")
    pending = sign(letter, email="new@example.org")
    assert {r.status_code for r in (fresh, known, pending)} == {302}
    assert {r["Location"] for r in (fresh, known, pending)} == {fresh["Location"]}


def test_database_refuses_a_second_signature_for_one_normalized_email(letter: Letter) -> None:
    SignatureFactory(letter=letter, email="ada@example.org", email_normalized="ada@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        SignatureFactory(letter=letter, email="ADA@example.org", email_normalized="ada@example.org")


def test_same_address_may_sign_two_different_letters(letter: Letter, sign: Callable) -> None:
    other = LetterFactory()
    sign(letter, email="ada@example.org")
    sign(other, email="ada@example.org")
    assert Signature.objects.count() == 2


def test_draft_letter_refuses_signatures_as_not_found(sign: Callable) -> None:
    draft = LetterFactory(status=Letter.Status.DRAFT)
    assert sign(draft).status_code == 404
    assert not Signature.objects.exists()


def test_closed_letter_refuses_signatures_with_a_message(sign: Callable) -> None:
    closed = LetterFactory(status=Letter.Status.CLOSED)
    response = sign(closed)
    assert response.status_code == 403
    assert b"no longer accepts signatures" in response.content
    assert not Signature.objects.exists()


def test_letter_past_its_closing_time_refuses_signatures(sign: Callable) -> None:
    expired = LetterFactory(closes_at=timezone.now() - timedelta(minutes=1))
    assert sign(expired).status_code == 403
    assert not Signature.objects.exists()
    assert len(mail.outbox) == 0


def test_signing_page_is_not_reachable_by_get(letter: Letter, client: Client) -> None:
    assert client.get(reverse("signature_submit", args=[letter.slug])).status_code == 405


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("stufferg@gmail.com", '"stufferg"@gmail.com'),
        ("stufferg@hotmail.co.uk", "stufferg+again@hotmail.co.uk"),
        ("stufferg@outlook.fr", "stufferg+again@outlook.fr"),
        ("stufferg@live.co.uk", "StuffErg+again@live.co.uk"),
        ("stufferg@protonmail.ch", "stufferg+again@proton.me"),
    ],
)
def test_one_mailbox_signs_once_however_its_address_is_spelled(
    letter: Letter, sign: Callable, first: str, again: str
) -> None:
    sign(letter, email=first)
    sign(letter, email=again)
    assert Signature.objects.count() == 1
