import json
import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import Letter
from petition.models import Signature
from petition.selectors import letter_signature_count
from petition.selfservice.services import SignatureNotEditable, signature_withdraw
from petition.signing.tokens import make_manage_token, make_verification_token
from tests.factories import LetterFactory, SignatureFactory
from tests.petition.conftest import confirm_link, html_part
from tests.responses import TestResponse

MANAGE_LINK = re.compile(r"https?://\S+/manage/[^/\s]+/")


def manage_path(signature: Signature, letter: Letter | None = None) -> str:
    letter = letter or signature.letter
    token = make_manage_token(signature_id=signature.pk, letter_id=signature.letter_id)
    return reverse("signature_manage", kwargs={"slug": letter.slug, "token": token})


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def verified(letter: Letter) -> Signature:
    return SignatureFactory(
        letter=letter, verified=True, email="ada@example.org", title="Engineer", city="Oslo"
    )


@pytest.fixture
def post(client: Client, django_capture_on_commit_callbacks: Callable) -> Callable[..., object]:
    def _post(path: str, data: dict[str, object] | None = None) -> TestResponse:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data or {})

    return _post


def test_one_email_per_signature_carries_both_the_confirm_and_the_manage_link(
    letter: Letter, sign: Callable, confirm: Callable, client: Client
) -> None:
    sign(letter)
    (verify_email,) = mail.outbox
    manage_path = path_of(MANAGE_LINK.search(str(verify_email.body)).group(0))
    html = html_part(verify_email)
    assert manage_path in html
    # Before confirming, the manage page says what is missing.
    pending = client.get(manage_path)
    assert pending.status_code == 200
    assert b"waiting for you to confirm it" in pending.content
    confirm(confirm_link(verify_email))
    assert len(mail.outbox) == 1  # confirming sends nothing more
    confirmed = client.get(manage_path)
    assert confirmed.status_code == 200
    assert b"Your signature is confirmed." in confirmed.content


def test_the_already_signed_email_carries_the_manage_link(
    letter: Letter, verified: Signature, sign: Callable, client: Client
) -> None:
    sign(letter, email="ada@example.org")
    (already,) = mail.outbox
    assert "already signed" in already.subject
    link = MANAGE_LINK.search(str(already.body)).group(0)
    assert client.get(path_of(link)).status_code == 200


def test_confirmation_page_points_to_the_emailed_manage_link(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    response = confirm(confirm_link(mail.outbox[0]))
    assert b"change or withdraw your signature later" in response.content


def test_request_form_answers_the_same_whether_or_not_the_address_signed(
    letter: Letter, verified: Signature, post: Callable
) -> None:
    SignatureFactory(letter=letter, email="pending@example.org")
    path = reverse("signature_manage_request", args=[letter.slug])
    answers = [
        post(path, {"email": email})
        for email in ("ada@example.org", "pending@example.org", "nobody@example.org")
    ]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    assert MANAGE_LINK.search(str(mail.outbox[0].body))


def test_request_form_quietly_stops_emailing_one_address_over_its_limit(
    letter: Letter, verified: Signature, post: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "manage_email": "2/3600"}
    path = reverse("signature_manage_request", args=[letter.slug])
    answers = [post(path, {"email": "Ada@example.org"}) for _ in range(4)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(mail.outbox) == 2


def test_request_form_refuses_an_invalid_address_with_400(letter: Letter, post: Callable) -> None:
    response = post(reverse("signature_manage_request", args=[letter.slug]), {"email": "nope"})
    assert response.status_code == 400
    assert mail.outbox == []


def test_hiding_the_name_removes_it_from_the_public_list(
    letter: Letter, verified: Signature, post: Callable
) -> None:
    assert Signature.objects.publicly_listed().filter(pk=verified.pk).exists()
    response = post(manage_path(verified), {"title": "Engineer", "city": "Oslo"})
    assert response.status_code == 302
    assert not Signature.objects.publicly_listed().filter(pk=verified.pk).exists()


def test_changing_a_public_field_saves_it_and_lapses_a_moderator_approval(
    letter: Letter, verified: Signature, post: Callable
) -> None:
    Signature.objects.filter(pk=verified.pk).update(moderation="approved")
    post(manage_path(verified), {"title": "Architect", "city": "Oslo", "show_name": "on"})
    verified.refresh_from_db()
    assert (verified.title, verified.moderation) == ("Architect", "")


def test_withdrawing_lowers_the_count_after_the_tally(
    letter: Letter, verified: Signature, post: Callable, tally: Callable
) -> None:
    SignatureFactory(letter=letter, verified=True)
    tally()
    assert letter_signature_count(letter) == 2
    withdraw = manage_path(verified) + "withdraw/"
    response = post(withdraw)
    assert response.status_code == 302
    tally()
    verified.refresh_from_db()
    assert verified.status == Signature.Status.WITHDRAWN
    assert letter_signature_count(letter) == 1


def test_get_never_changes_anything(letter: Letter, verified: Signature, client: Client) -> None:
    path = manage_path(verified)
    before = Signature.objects.values().get(pk=verified.pk)
    for suffix in ("", "withdraw/", "data.json"):
        assert client.get(path + suffix).status_code == 200
    assert Signature.objects.values().get(pk=verified.pk) == before


def test_tampered_link_is_refused_with_400(
    letter: Letter, verified: Signature, client: Client
) -> None:
    path = manage_path(verified)
    # Change one character in the middle of the token, to one it does not already hold: a
    # fixed "x" near the end left the token intact when it was an "x" already, or when it
    # only touched base64's unused padding bits.
    at = path.rstrip("/").rfind("/") + 1 + 20
    replacement = "A" if path[at] != "A" else "B"
    response = client.get(path[:at] + replacement + path[at + 1 :])
    assert response.status_code == 400
    assert b"This link is not valid" in response.content


def test_verification_token_does_not_work_as_a_manage_link(
    letter: Letter, verified: Signature, client: Client
) -> None:
    token = make_verification_token(signature_id=verified.pk, letter_id=letter.pk)
    path = reverse("signature_manage", kwargs={"slug": letter.slug, "token": token})
    assert client.get(path).status_code == 400


def test_expired_link_is_refused_with_410(
    letter: Letter, verified: Signature, client: Client, settings
) -> None:
    settings.PETITION_MANAGE_LINK_MAX_AGE = -1
    response = client.get(manage_path(verified))
    assert response.status_code == 410
    assert b"expired" in response.content


def test_link_for_another_letters_signature_is_refused_with_400(
    letter: Letter, verified: Signature, post: Callable
) -> None:
    other = LetterFactory(slug="other-letter")
    response = post(manage_path(verified, letter=other) + "withdraw/")
    assert response.status_code == 400
    verified.refresh_from_db()
    assert verified.status == Signature.Status.VERIFIED


def test_withdraw_forged_across_sites_is_refused_with_403(
    letter: Letter, verified: Signature
) -> None:
    response = Client(enforce_csrf_checks=True).post(
        manage_path(verified) + "withdraw/", headers={"Origin": "https://attacker.example"}
    )
    assert response.status_code == 403
    verified.refresh_from_db()
    assert verified.status == Signature.Status.VERIFIED


def test_withdrawn_signature_link_says_so_and_offers_only_the_download(
    letter: Letter, verified: Signature, client: Client
) -> None:
    signature_withdraw(signature_id=verified.pk)
    response = client.get(manage_path(verified))
    assert response.status_code == 200
    assert b"You have withdrawn this signature." in response.content
    main = response.content.split(b'<main id="main"', 1)[1].split(b"</main>", 1)[0]
    assert b"<form" not in main  # (the footer's language switcher is a form)
    assert b"data.json" in response.content


def test_changes_to_a_withdrawn_signature_are_refused(
    letter: Letter, verified: Signature, post: Callable
) -> None:
    signature_withdraw(signature_id=verified.pk)
    response = post(manage_path(verified), {"title": "Changed", "show_name": "on"})
    assert response.status_code == 409
    verified.refresh_from_db()
    assert verified.title == "Engineer"


@pytest.mark.parametrize(
    "field", [{"title": "x" * 121}, {"city": "Oslo\nBcc: x@example.org"}, {"comment": "y" * 1001}]
)
def test_invalid_field_values_are_refused_with_400_and_change_nothing(
    letter: Letter, verified: Signature, post: Callable, field: dict[str, str]
) -> None:
    before = Signature.objects.values().get(pk=verified.pk)
    response = post(manage_path(verified), field)
    assert response.status_code == 400
    assert b'class="error"' in response.content
    assert Signature.objects.values().get(pk=verified.pk) == before


def test_data_download_is_the_signers_own_data_as_a_json_attachment(
    letter: Letter, verified: Signature, client: Client
) -> None:
    SignatureFactory(letter=letter, verified=True, email="someone.else@example.org")
    response = client.get(manage_path(verified) + "data.json")
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["email"] == "ada@example.org"
    assert data["title"] == "Engineer"
    assert data["letter"]["slug"] == letter.slug
    assert "someone.else" not in response.content.decode()
    assert "shadow_reason" not in data and "moderation" not in data


def test_pending_signature_cannot_be_withdrawn(letter: Letter) -> None:
    signature = SignatureFactory(letter=letter)
    with pytest.raises(SignatureNotEditable):
        signature_withdraw(signature_id=signature.pk)


def test_signing_again_after_withdrawing_reopens_it_as_pending_with_a_new_link(
    letter: Letter, verified: Signature, sign: Callable, tally: Callable
) -> None:
    signature_withdraw(signature_id=verified.pk)
    sign(letter, email="ada@example.org", name="Ada Again")
    verified.refresh_from_db()
    assert (verified.status, verified.name, verified.verified_at) == ("pending", "Ada Again", None)
    assert "Confirm your signature" in mail.outbox[-1].subject
    assert Signature.objects.filter(letter=letter).count() == 1


def test_old_verification_link_of_a_withdrawn_signature_says_withdrawn(
    letter: Letter, verified: Signature, client: Client
) -> None:
    signature_withdraw(signature_id=verified.pk)
    token = make_verification_token(signature_id=verified.pk, letter_id=letter.pk)
    response = client.get(reverse("signature_confirm", args=[letter.slug, token]))
    assert b"You have withdrawn this signature" in response.content
