"""The team of a letter: invitations by email, accepting them, withdrawing, removing."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from letters.models import AuditEntry, Invitation, Letter, LetterRole
from letters.services import INVITATION_TOKEN_SALT, invitation_from_token, invitation_token
from mail.models import OutboundEmail
from tests.factories import InvitationFactory, LetterFactory, LetterRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/invitations/[^/\s]+/")


@pytest.fixture
def owner() -> LetterRole:
    return LetterRoleFactory(letter=LetterFactory(slug="team-letter"), role=LetterRole.Role.OWNER)


@pytest.fixture
def owner_client(client: Client, owner: LetterRole) -> Client:
    client.force_login(owner.user)
    return client


def invite(client: Client, letter: Letter, email: str, role: str = "moderator"):
    return client.post(
        reverse("letter_team_invite", kwargs={"slug": letter.slug}), {"email": email, "role": role}
    )


def accept_url(invitation: Invitation) -> str:
    return reverse("invitation_accept", kwargs={"token": invitation_token(invitation)})


# --- Inviting ---------------------------------------------------------------------------


def test_inviting_queues_an_email_with_a_signed_link(owner_client: Client, owner) -> None:
    response = invite(owner_client, owner.letter, "Mod@Example.org")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email_normalized == "mod@example.org"
    assert invitation.invited_by == owner.user
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.INVITATION)
    assert email.to == "Mod@Example.org"
    (link,) = set(LINK.findall(email.body_text))
    # The token carries the time it was signed, so compare what it opens, not its text.
    prefix = accept_url(invitation).rsplit("/", 2)[0] + "/"
    assert prefix in link
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation_from_token(token) == invitation
    assert AuditEntry.objects.get().action == AuditEntry.Action.ROLE_INVITE


def test_invitation_email_is_delivered_over_smtp(owner_client, owner, settings, smtp_sink):
    from mail.outbox import outbox_drain

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    invite(owner_client, owner.letter, "mod@example.org")
    assert outbox_drain(linger_seconds=0) == 1
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "mod@example.org"
    assert settings.SITE_NAME in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert LINK.search(body)
    assert owner.letter.title in body


def test_a_second_invitation_to_the_same_address_is_refused(owner_client, owner) -> None:
    invite(owner_client, owner.letter, "mod@example.org")
    response = invite(owner_client, owner.letter, "MOD@example.org", role="owner")
    assert response.status_code == 400
    assert "already waiting" in response.content.decode()
    assert Invitation.objects.get().role == "moderator"
    assert OutboundEmail.objects.count() == 1


def test_inviting_a_member_is_refused(owner_client, owner) -> None:
    member = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.MODERATOR)
    response = invite(owner_client, owner.letter, member.user.email.upper())
    assert response.status_code == 400
    assert "already on this letter" in response.content.decode()
    assert not Invitation.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_an_expired_invitation_is_replaced_by_a_new_one(owner_client, owner) -> None:
    old = InvitationFactory(
        letter=owner.letter,
        email="mod@example.org",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    assert invite(owner_client, owner.letter, "mod@example.org").status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert Invitation.objects.open().get().pk != old.pk


def test_a_malformed_address_is_refused(owner_client, owner) -> None:
    assert invite(owner_client, owner.letter, "not-an-address").status_code == 400
    assert not Invitation.objects.exists()


def test_moderators_see_the_team_without_the_invitation_form(client, owner) -> None:
    moderator = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.MODERATOR)
    client.force_login(moderator.user)
    page = client.get(reverse("letter_team", kwargs={"slug": owner.letter.slug}))
    assert page.status_code == 200
    assert owner.user.email in page.content.decode()
    assert "Send the invitation" not in page.content.decode()
    assert invite(client, owner.letter, "x@example.org").status_code == 404


# --- Accepting --------------------------------------------------------------------------


def test_accepting_gives_the_role_and_uses_up_the_invitation(client: Client, owner) -> None:
    invitation = InvitationFactory(letter=owner.letter, email="Mod@Example.org")
    user = UserFactory(email="mod@example.org")
    client.force_login(user)
    assert client.get(accept_url(invitation)).status_code == 200
    assert not LetterRole.objects.filter(user=user).exists()
    response = client.post(accept_url(invitation))
    assert response.status_code == 302
    assert LetterRole.objects.get(user=user, letter=owner.letter).role == "moderator"
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert AuditEntry.objects.get().action == AuditEntry.Action.ROLE_ACCEPT


def test_accepting_with_another_account_is_forbidden_and_says_which_address(client, owner):
    invitation = InvitationFactory(letter=owner.letter, email="mod@example.org")
    client.force_login(UserFactory(email="someone-else@example.org"))
    response = client.post(accept_url(invitation))
    assert response.status_code == 403
    assert "mod@example.org" in response.content.decode()
    assert LetterRole.objects.count() == 1
    assert Invitation.objects.get().accepted_at is None


def test_anonymous_acceptance_is_sent_to_log_in(client: Client, owner) -> None:
    invitation = InvitationFactory(letter=owner.letter)
    page = client.get(accept_url(invitation))
    assert page.status_code == 200
    assert invitation.email in page.content.decode()
    response = client.post(accept_url(invitation))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_tampered_link_is_refused_with_400(client: Client, owner) -> None:
    invitation = InvitationFactory(letter=owner.letter)
    token = invitation_token(invitation)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = client.get(reverse("invitation_accept", kwargs={"token": tampered}))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_a_link_signed_for_something_else_is_refused(client: Client) -> None:
    token = signing.dumps({"invitation": "1; drop"}, salt=INVITATION_TOKEN_SALT)
    assert client.get(reverse("invitation_accept", kwargs={"token": token})).status_code == 410


def test_an_invitation_past_its_expiry_is_gone(client: Client, owner) -> None:
    invitation = InvitationFactory(
        letter=owner.letter, expires_at=timezone.now() - timedelta(seconds=1)
    )
    client.force_login(UserFactory(email=invitation.email))
    response = client.post(accept_url(invitation))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not LetterRole.objects.filter(user__email=invitation.email).exists()


def test_a_link_older_than_its_signed_lifetime_is_gone(client: Client, owner, settings) -> None:
    settings.INVITATION_MAX_AGE_DAYS = 7
    invitation = InvitationFactory(letter=owner.letter)
    token = invitation_token(invitation)
    later = timezone.now().timestamp() + 8 * 86400
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = client.get(reverse("invitation_accept", kwargs={"token": token}))
    assert response.status_code == 410


def test_a_used_link_is_gone(client: Client, owner) -> None:
    invitation = InvitationFactory(letter=owner.letter, accepted_at=timezone.now())
    assert client.get(accept_url(invitation)).status_code == 410


def test_a_withdrawn_invitation_stops_working(owner_client: Client, owner) -> None:
    invitation = InvitationFactory(letter=owner.letter)
    url = reverse(
        "letter_invitation_revoke",
        kwargs={"slug": owner.letter.slug, "invitation_id": invitation.pk},
    )
    assert owner_client.post(url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert AuditEntry.objects.get().action == AuditEntry.Action.ROLE_REVOKE
    assert Client().get(accept_url(invitation)).status_code == 410


def test_withdrawing_another_letters_invitation_is_404(owner_client: Client, owner) -> None:
    other = InvitationFactory()
    url = reverse(
        "letter_invitation_revoke", kwargs={"slug": owner.letter.slug, "invitation_id": other.pk}
    )
    assert owner_client.post(url).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_a_moderator_invited_as_owner_is_promoted(client: Client, owner) -> None:
    member = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.MODERATOR)
    invitation = InvitationFactory(
        letter=owner.letter, email=member.user.email, role=LetterRole.Role.OWNER
    )
    client.force_login(member.user)
    client.post(accept_url(invitation))
    member.refresh_from_db()
    assert member.role == LetterRole.Role.OWNER


# --- Removing members -------------------------------------------------------------------


def remove_url(letter: Letter, member: LetterRole) -> str:
    return reverse("letter_member_remove", kwargs={"slug": letter.slug, "member_id": member.pk})


def test_an_owner_removes_a_moderator(owner_client: Client, owner) -> None:
    member = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.MODERATOR)
    assert owner_client.post(remove_url(owner.letter, member)).status_code == 302
    assert not LetterRole.objects.filter(pk=member.pk).exists()
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.ROLE_REMOVE
    assert entry.detail["email"] == member.user.email


def test_the_last_owner_cannot_be_removed(owner_client: Client, owner) -> None:
    response = owner_client.post(remove_url(owner.letter, owner))
    assert response.status_code == 400
    assert "only owner" in response.content.decode()
    assert LetterRole.objects.filter(pk=owner.pk).exists()
    assert not AuditEntry.objects.exists()


def test_removing_a_member_of_another_letter_is_404(owner_client: Client, owner) -> None:
    stranger = LetterRoleFactory(role=LetterRole.Role.MODERATOR)
    assert owner_client.post(remove_url(owner.letter, stranger)).status_code == 404
    assert LetterRole.objects.filter(pk=stranger.pk).exists()


def test_dashboard_shows_invitations_waiting_for_my_address(client: Client, owner) -> None:
    InvitationFactory(letter=owner.letter, email="me@example.org")
    client.force_login(UserFactory(email="Me@example.org"))
    page = client.get(reverse("dashboard")).content.decode()
    assert "Invitations waiting for you" in page
    assert owner.letter.title in page


# --- Limits on invitations --------------------------------------------------------------


def invite_and_revoke(client: Client, letter: Letter, email: str):
    response = invite(client, letter, email)
    invitation = Invitation.objects.filter(letter=letter).order_by("-pk").first()
    if invitation is not None and invitation.revoked_at is None:
        client.post(
            reverse(
                "letter_invitation_revoke",
                kwargs={"slug": letter.slug, "invitation_id": invitation.pk},
            )
        )
    return response


def test_invite_revoke_reinvite_cannot_flood_one_address(owner_client, owner, settings) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "invitation_address": "3/86400",
    }
    answers = [
        invite_and_revoke(owner_client, owner.letter, "target@example.org") for _ in range(6)
    ]
    assert [r.status_code for r in answers] == [302, 302, 302, 400, 400, 400]
    assert "too many invitations" in answers[3].content.decode()
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.INVITATION).count() == 3


def test_the_address_limit_holds_across_spellings_and_letters(client, settings) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "invitation_address": "2/86400",
    }
    user = UserFactory()
    client.force_login(user)
    letters = [LetterRoleFactory(user=user, role=LetterRole.Role.OWNER).letter for _ in range(3)]
    spellings = ["target@gmail.com", "Tar.get+1@gmail.com", "target+2@googlemail.com"]
    answers = [
        invite(client, letter, email) for letter, email in zip(letters, spellings, strict=True)
    ]
    assert [r.status_code for r in answers] == [302, 302, 400]


def test_one_inviter_is_limited_across_addresses(owner_client, owner, settings) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "invitation_inviter": "2/86400",
    }
    answers = [invite(owner_client, owner.letter, f"m{n}@example.org") for n in range(3)]
    assert [r.status_code for r in answers] == [302, 302, 400]
    assert "You have sent too many invitations" in answers[2].content.decode()
    assert Invitation.objects.count() == 2


def test_one_letter_is_limited_whoever_invites(client, owner, settings) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "invitation_letter": "2/86400",
    }
    second = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.OWNER)
    answers = []
    for n, member in enumerate([owner, second, owner]):
        client.force_login(member.user)
        answers.append(invite(client, owner.letter, f"m{n}@example.org"))
    assert [r.status_code for r in answers] == [302, 302, 400]
    assert "team has sent too many invitations" in answers[2].content.decode()


def test_the_invitation_subject_is_fixed_not_the_inviters_text(
    owner_client, owner, settings
) -> None:
    settings.SITE_NAME = "Undersigned Test"
    Letter.objects.filter(pk=owner.letter.pk).update(title="WIN A FREE PRIZE at scam.example")
    invite(owner_client, owner.letter, "mod@example.org")
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.INVITATION)
    assert "scam" not in email.subject.lower()
    assert "Undersigned Test" in email.subject
