"""A material edit asks signers of older versions to confirm again: one email each,
through the outbox, and a link whose page shows what changed and acts only on POST."""

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import AuditEntry, Letter
from letters.services import LetterDraftData, letter_update
from mail.models import OutboundEmail
from petition.models import Signature
from petition.reconfirm.services import make_reconfirm_token, reconfirm_request_run
from petition.signing.tokens import make_manage_token
from tests.conftest import SmtpSink
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

pytestmark = pytest.mark.django_db
RECONFIRM_LINK = re.compile(r"https?://\S+/reconfirm/[^/\s]+/")


@pytest.fixture
def owner() -> object:
    return UserFactory(email="owner@example.org")


@pytest.fixture
def letter(owner) -> Letter:
    letter = LetterFactory(
        slug="fair-terms", title="Fair terms", body="We ask you to pay the artists."
    )
    LetterRoleFactory(letter=letter, user=owner)
    return letter


@pytest.fixture
def material_edit(owner, django_capture_on_commit_callbacks: Callable) -> Callable[..., Letter]:
    """Edit the body as the owner, running the after-commit job and emails inline."""

    def _edit(letter: Letter, body: str, *, material: bool = True, note: str = "") -> Letter:
        letter = Letter.objects.get(pk=letter.pk)
        data = LetterDraftData(
            title=letter.title,
            slug=letter.slug,
            body=body,
            recipient=letter.recipient,
            goal=letter.goal,
            closes_at=letter.closes_at,
            language=letter.language,
            signer_fields=list(letter.signer_fields),
            premoderate=letter.premoderate,
        )
        with django_capture_on_commit_callbacks(execute=True):
            return letter_update(letter=letter, user=owner, data=data, note=note, material=material)

    return _edit


def reconfirm_path(signature: Signature, letter: Letter | None = None) -> str:
    letter = letter or signature.letter
    token = make_reconfirm_token(signature_id=signature.pk, letter_id=signature.letter_id)
    return reverse("signature_reconfirm", kwargs={"slug": letter.slug, "token": token})


def reconfirm_emails() -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECONFIRM))


def reconfirmed_signature_ids() -> list[int]:
    """The signatures asked to reconfirm, in order; every such email is for one."""
    ids = []
    for email in reconfirm_emails():
        assert email.signature_id is not None, email
        ids.append(email.signature_id)
    return sorted(ids)


def test_material_edit_emails_each_counting_signer_of_an_older_version(
    letter: Letter, material_edit: Callable
) -> None:
    counting = SignatureFactory(letter=letter, verified=True, email="ada@example.org")
    hidden = SignatureFactory(letter=letter, verified=True, moderation="hidden")
    SignatureFactory(letter=letter)  # pending
    SignatureFactory(letter=letter, verified=True, moderation="invalidated")
    SignatureFactory(letter=letter, verified=True, shadow_reason="honeypot")
    SignatureFactory(
        letter=letter, status=Signature.Status.WITHDRAWN, verified_at=counting.verified_at
    )

    material_edit(letter, "We ask you to pay every artist.", note="Every artist.")

    assert reconfirmed_signature_ids() == sorted([counting.pk, hidden.pk])
    assert {m.to[0] for m in mail.outbox} >= {"ada@example.org"}
    message = next(m for m in mail.outbox if m.to == ["ada@example.org"])
    assert message.subject == "The letter you signed has changed: Fair terms"
    assert "You signed version 1" in message.body and "version 2" in message.body
    assert RECONFIRM_LINK.search(str(message.body))
    counting.refresh_from_db()
    assert counting.reconfirm_requested_version == 2 and counting.version == 1


def test_a_minor_edit_emails_nobody(letter: Letter, material_edit: Callable) -> None:
    SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "We ask you to pay the artists!", material=False)
    assert reconfirm_emails() == []
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.RECONFIRM_REQUEST).exists()


def test_signers_of_every_older_version_are_asked(letter: Letter, material_edit: Callable) -> None:
    first = SignatureFactory(letter=letter, verified=True, version=1)
    material_edit(letter, "Version two.", material=False)
    second = SignatureFactory(letter=letter, verified=True, version=2)
    material_edit(letter, "Version three.")
    assert reconfirmed_signature_ids() == [first.pk, second.pk]


def test_two_material_edits_do_not_mail_anyone_twice(
    letter: Letter, material_edit: Callable
) -> None:
    signers = SignatureFactory.create_batch(3, letter=letter, verified=True)
    material_edit(letter, "Second text.")
    material_edit(letter, "Third text.")
    assert reconfirmed_signature_ids() == sorted(s.pk for s in signers)
    assert len(mail.outbox) == 3
    # The one link they hold shows the newest text.
    letter.refresh_from_db()
    assert letter.version == 3


def test_a_signer_who_confirmed_is_asked_again_at_the_next_material_edit(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    client.post(reconfirm_path(signer))
    signer.refresh_from_db()
    assert signer.version == 2
    material_edit(letter, "Third text.")
    assert OutboundEmail.objects.filter(signature=signer, kind="reconfirm").count() == 2


def test_running_the_job_again_mails_nobody_twice(
    letter: Letter, material_edit: Callable, settings
) -> None:
    settings.MODERATION_BATCH_SIZE = 2
    SignatureFactory.create_batch(5, letter=letter, verified=True)
    material_edit(letter, "Second text.")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.RECONFIRM_REQUEST)
    assert (entry.state, entry.signature_count, entry.total) == ("done", 5, 5)
    assert entry.detail == {"version": 2}

    AuditEntry.objects.filter(pk=entry.pk).update(state=AuditEntry.State.RUNNING)
    assert reconfirm_request_run(entry_id=entry.pk) == 0
    assert len(reconfirm_emails()) == 5


def test_the_edit_is_audited_as_a_version_and_a_request(
    letter: Letter, material_edit: Callable
) -> None:
    SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.", note="Stronger ask.")
    actions = set(AuditEntry.objects.filter(letter=letter).values_list("action", flat=True))
    assert {"letter_version", "reconfirm_request"} <= actions
    version_entry = AuditEntry.objects.get(action="letter_version")
    assert version_entry.detail == {"version": 2, "material": True, "note": "Stronger ask."}


def test_reconfirm_email_travels_over_real_smtp(
    letter: Letter, material_edit: Callable, smtp_sink: SmtpSink, settings
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    SignatureFactory(letter=letter, verified=True, email="grace@example.org")
    material_edit(letter, "We ask you to pay every artist.")
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "grace@example.org"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert RECONFIRM_LINK.search(text) and RECONFIRM_LINK.search(html)


# --- The page behind the link ---------------------------------------------------------


def test_the_page_shows_the_diff_and_get_changes_nothing(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "We ask you to pay every artist.", note="Every artist.")
    path = reconfirm_path(signer)

    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200
    html = response.content.decode()
    assert "<del>the artists.</del><ins>every artist.</ins>" in html
    assert "Every artist." in html
    assert "Confirm my signature on the new version" in html
    assert "/manage/" in html
    assert response["Cache-Control"].startswith("max-age=0")
    signer.refresh_from_db()
    assert signer.version == 1


def test_post_confirms_the_current_version(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    material_edit(letter, "Third text.", material=False)

    response = client.post(reconfirm_path(signer))

    assert response.status_code == 200
    assert b"now stands for version 3" in response.content
    signer.refresh_from_db()
    assert signer.version == 3
    changelog = client.get(reverse("letter_changes", args=[letter.slug])).content.decode()
    assert "1 signature on this version" in changelog


def test_post_twice_changes_nothing_more(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    client.post(reconfirm_path(signer))
    response = client.post(reconfirm_path(signer))
    assert response.status_code == 200
    assert b"already stands for the current version" in response.content


def test_post_from_another_site_is_refused(letter: Letter, material_edit: Callable) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    response = Client(enforce_csrf_checks=True).post(
        reconfirm_path(signer), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    signer.refresh_from_db()
    assert signer.version == 1


def test_a_withdrawn_signature_cannot_be_confirmed(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    Signature.objects.filter(pk=signer.pk).update(status=Signature.Status.WITHDRAWN)
    response = client.post(reconfirm_path(signer))
    assert response.status_code == 409
    assert b"You have withdrawn this signature" in response.content
    signer.refresh_from_db()
    assert signer.version == 1


def test_a_tampered_link_is_refused_with_400(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    path = reconfirm_path(signer)
    # One character in the middle of the token (near its end, a change may touch only
    # base64's unused padding bits and leave the token intact).
    at = path.rstrip("/").rfind("/") + 1 + 20
    tampered = path[:at] + ("A" if path[at] != "A" else "B") + path[at + 1 :]
    for method in (client.get, client.post):
        response = method(tampered)
        assert response.status_code == 400
        assert b"This link is not valid" in response.content
    signer.refresh_from_db()
    assert signer.version == 1


def test_an_expired_link_is_refused_with_410(
    letter: Letter, material_edit: Callable, client: Client, settings
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    settings.PETITION_RECONFIRM_LINK_MAX_AGE = -1
    response = client.post(reconfirm_path(signer))
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    signer.refresh_from_db()
    assert signer.version == 1


def test_a_manage_link_is_not_a_reconfirm_link(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    token = make_manage_token(signature_id=signer.pk, letter_id=letter.pk)
    response = client.post(reverse("signature_reconfirm", args=[letter.slug, token]))
    assert response.status_code == 400


def test_a_link_for_another_letter_is_refused(
    letter: Letter, material_edit: Callable, client: Client
) -> None:
    signer = SignatureFactory(letter=letter, verified=True)
    material_edit(letter, "Second text.")
    other = LetterFactory(slug="other")
    response = client.post(reconfirm_path(signer, letter=other))
    assert response.status_code == 400
    signer.refresh_from_db()
    assert signer.version == 1


def test_a_draft_has_no_reconfirm_page(client: Client) -> None:
    draft = LetterFactory(status=Letter.Status.DRAFT)
    signer = SignatureFactory(letter=draft, verified=True)
    assert client.get(reconfirm_path(signer)).status_code == 404


def test_a_signer_who_confirms_only_after_a_material_edit_is_asked_too(
    letter: Letter, material_edit: Callable, django_capture_on_commit_callbacks: Callable
) -> None:
    from petition.signing.services import signature_verify

    pending = SignatureFactory(letter=letter, version=1)
    material_edit(letter, "Second text.")
    assert reconfirm_emails() == []

    with django_capture_on_commit_callbacks(execute=True):
        signature_verify(signature_id=pending.pk, letter_id=letter.pk)

    assert [e.signature_id for e in reconfirm_emails()] == [pending.pk]
    pending.refresh_from_db()
    assert pending.reconfirm_requested_version == 2


def test_a_signer_who_confirms_after_a_minor_edit_is_not_asked(
    letter: Letter, material_edit: Callable
) -> None:
    from petition.signing.services import signature_verify

    pending = SignatureFactory(letter=letter, version=1)
    material_edit(letter, "Second text.", material=False)
    signature_verify(signature_id=pending.pk, letter_id=letter.pk)
    assert reconfirm_emails() == []
