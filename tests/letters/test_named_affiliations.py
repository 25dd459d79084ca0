"""A letter's owners verify the affiliations of its named signatories: by their own check,
or by an email the signatory confirms from an address at the organization's domain."""

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import AuditEntry, Letter, LetterRole, NamedSignatory
from letters.services import (
    LetterData,
    LetterDraftData,
    NamedSignatoryData,
    letter_update,
    letter_upsert,
)
from mail.models import OutboundEmail
from petition.affiliations.services import KIND_NAMED, AffiliationLink, make_affiliation_token
from tests.factories import LetterFactory, LetterRoleFactory, NamedSignatoryFactory

pytestmark = pytest.mark.django_db
AFFILIATION_LINK = re.compile(r"https?://\S+/affiliations/confirm/[^/\s]+/")


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="named", title="A letter with named signatories")


@pytest.fixture
def ada(letter: Letter) -> NamedSignatory:
    return NamedSignatoryFactory(letter=letter, name="Ada Example", affiliation="Example Studio")


@pytest.fixture
def impostor(letter: Letter) -> NamedSignatory:
    return NamedSignatoryFactory(
        letter=letter, name="Famous Painter", affiliation="member of the alpha programme"
    )


@pytest.fixture
def owner(letter: Letter):
    return LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user


@pytest.fixture
def post(
    client: Client, owner, django_capture_on_commit_callbacks: Callable
) -> Callable[..., object]:
    client.force_login(owner)

    def _post(path: str, data: dict[str, object] | None = None) -> object:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data or {})

    return _post


def action_path(person: NamedSignatory) -> str:
    return reverse(
        "named_affiliation_action", kwargs={"slug": person.letter.slug, "named_id": person.pk}
    )


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def public_page(client: Client, letter: Letter) -> str:
    return client.get(letter.get_absolute_url()).content.decode()


def test_unverified_named_affiliations_say_so_publicly(
    client: Client, letter: Letter, impostor: NamedSignatory
) -> None:
    page = public_page(client, letter)
    assert re.search(
        r"member of the alpha programme</bdi> <span class=\"aff-mark aff-unverified\">\(unverified\)",
        page,
    )


def test_owners_page_lists_each_named_signatory_with_its_actions(
    client: Client, letter: Letter, owner, ada: NamedSignatory, impostor: NamedSignatory
) -> None:
    client.force_login(owner)
    page = client.get(reverse("named_affiliations", args=[letter.slug])).content.decode()
    assert "Ada Example" in page and "Famous Painter" in page
    assert page.count("Mark verified (moderator check)") == 2
    assert page.count("Send a verification email") == 2
    assert "Remove verification" not in page
    team = client.get(reverse("letter_team", args=[letter.slug])).content.decode()
    assert reverse("named_affiliations", args=[letter.slug]) in team


def test_owner_marks_a_named_signatory_verified_and_removes_it_with_audit(
    client: Client, letter: Letter, ada: NamedSignatory, post: Callable
) -> None:
    response = post(action_path(ada), {"op": "verify", f"n{ada.pk}-check-domain": "example.org"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.affiliation_verification, ada.affiliation_domain) == ("moderator", "example.org")
    assert "Example Studio" in public_page(client, letter)
    assert "checked by a moderator (example.org)" in public_page(client, letter)

    post(action_path(ada), {"op": "unverify"})
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""
    assert "(unverified)" in public_page(client, letter)
    entries = AuditEntry.objects.filter(letter=letter).order_by("pk")
    assert [e.action for e in entries] == [
        AuditEntry.Action.AFFILIATION_VERIFY,
        AuditEntry.Action.AFFILIATION_UNVERIFY,
    ]
    assert entries[0].detail["named_signatory"] == ada.pk


def test_a_verification_email_is_confirmed_by_the_signatory(
    client: Client, letter: Letter, ada: NamedSignatory, post: Callable
) -> None:
    response = post(
        action_path(ada),
        {
            "op": "email",
            f"n{ada.pk}-email-domain": "example.org",
            f"n{ada.pk}-email-email": "ada@studio.example.org",
        },
    )
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["ada@studio.example.org"]]
    outbound = OutboundEmail.objects.get(kind=OutboundEmail.Kind.AFFILIATION)
    assert outbound.signature_id is None
    assert "list Ada Example among its signatories" in mail.outbox[0].body

    link = path_of(AFFILIATION_LINK.search(str(mail.outbox[0].body)).group(0))
    signatory = Client()  # the person at the work address, not signed in
    assert b"Confirm my affiliation" in signatory.get(link).content
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""
    assert signatory.post(link).status_code == 302
    ada.refresh_from_db()
    assert (ada.affiliation_verification, ada.affiliation_domain) == ("email", "example.org")
    assert "verified via example.org email" in public_page(client, letter)
    assert "ada@studio" not in public_page(client, letter)


def test_an_address_outside_the_domain_is_refused_on_the_page(
    letter: Letter, ada: NamedSignatory, post: Callable
) -> None:
    response = post(
        action_path(ada),
        {
            "op": "email",
            f"n{ada.pk}-email-domain": "example.org",
            f"n{ada.pk}-email-email": "ada@elsewhere.net",
        },
    )
    assert response.status_code == 400
    assert "This address is not at example.org" in response.content.decode()
    assert mail.outbox == []


def test_a_free_mail_domain_is_refused_for_the_team_check(
    letter: Letter, ada: NamedSignatory, post: Callable
) -> None:
    response = post(action_path(ada), {"op": "verify", f"n{ada.pk}-check-domain": "outlook.com"})
    assert response.status_code == 400
    assert "gives out personal mailboxes" in response.content.decode()
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""


def test_a_signatory_without_an_affiliation_cannot_be_verified(
    letter: Letter, post: Callable
) -> None:
    plain = NamedSignatoryFactory(letter=letter, affiliation="")
    response = post(action_path(plain), {"op": "verify"})
    assert response.status_code == 409
    plain.refresh_from_db()
    assert plain.affiliation_verification == ""


def test_removing_a_verification_that_does_not_exist_is_a_clear_error(
    ada: NamedSignatory, post: Callable
) -> None:
    response = post(action_path(ada), {"op": "unverify"})
    assert response.status_code == 409
    assert "This affiliation is not verified." in response.content.decode()


def test_moderators_of_the_letter_cannot_use_the_owners_page(
    client: Client, letter: Letter, ada: NamedSignatory
) -> None:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    assert client.get(reverse("named_affiliations", args=[letter.slug])).status_code == 404
    assert client.post(action_path(ada), {"op": "verify"}).status_code == 404


def test_another_letters_signatory_is_404(letter: Letter, post: Callable) -> None:
    stranger = NamedSignatoryFactory()
    path = reverse(
        "named_affiliation_action", kwargs={"slug": letter.slug, "named_id": stranger.pk}
    )
    assert post(path, {"op": "verify"}).status_code == 404


def test_emails_for_named_signatories_are_rate_limited_per_letter(
    letter: Letter, ada: NamedSignatory, post: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "affiliation_letter": "1/3600",
    }
    data = {"op": "email", f"n{ada.pk}-email-domain": "example.org"}
    first = post(action_path(ada), {**data, f"n{ada.pk}-email-email": "a@example.org"})
    second = post(action_path(ada), {**data, f"n{ada.pk}-email-email": "b@example.org"})
    assert (first.status_code, second.status_code) == (302, 429)
    assert "Too many verification emails" in second.content.decode()
    assert len(mail.outbox) == 1


def verify(person: NamedSignatory) -> None:
    NamedSignatory.objects.filter(pk=person.pk).update(
        affiliation_verification="email", affiliation_domain="example.org"
    )


def draft_data(letter: Letter, signatories: list[NamedSignatoryData]) -> LetterDraftData:
    return LetterDraftData(
        title=letter.title,
        slug=letter.slug,
        body=letter.body,
        recipient=letter.recipient,
        language=letter.language,
        signer_fields=list(letter.signer_fields),
        signatories=signatories,
    )


def test_editing_the_list_keeps_unchanged_signatories_verified(
    letter: Letter, owner, ada: NamedSignatory, impostor: NamedSignatory
) -> None:
    verify(ada)
    letter_update(
        letter=letter,
        user=owner,
        data=draft_data(
            letter,
            [
                NamedSignatoryData("Newcomer", "Guild"),
                NamedSignatoryData("Ada Example", "Example Studio"),
            ],
        ),
    )
    rows = list(letter.named_signatories.all())
    assert [(r.name, r.position) for r in rows] == [("Newcomer", 1), ("Ada Example", 2)]
    assert rows[1].pk == ada.pk
    assert rows[1].affiliation_verification == "email"
    assert not NamedSignatory.objects.filter(pk=impostor.pk).exists()


def test_a_changed_affiliation_loses_its_verification(
    letter: Letter, owner, ada: NamedSignatory
) -> None:
    verify(ada)
    letter_update(
        letter=letter,
        user=owner,
        data=draft_data(letter, [NamedSignatoryData("Ada Example", "Alpha programme")]),
    )
    (row,) = letter.named_signatories.all()
    assert row.affiliation_verification == ""


def test_reimporting_a_letter_keeps_its_verified_signatories(
    letter: Letter, ada: NamedSignatory
) -> None:
    verify(ada)
    letter_upsert(
        data=LetterData(
            slug=letter.slug,
            title=letter.title,
            body=letter.body,
            status=letter.status,
            signatories=[NamedSignatoryData("Ada Example", "Example Studio")],
        )
    )
    ada.refresh_from_db()
    assert ada.affiliation_verification == "email"


def test_a_link_dies_when_the_signatory_is_renamed(
    client: Client, letter: Letter, ada: NamedSignatory
) -> None:
    token = make_affiliation_token(
        AffiliationLink(
            kind=KIND_NAMED,
            object_id=ada.pk,
            letter_id=letter.pk,
            email="ada@example.org",
            domain="example.org",
            fingerprint="0" * 16,
        )
    )
    response = client.post(reverse("affiliation_confirm", args=[token]))
    assert response.status_code == 409
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""
