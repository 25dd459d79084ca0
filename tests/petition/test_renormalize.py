"""Re-normalizing stored addresses after the normalizer learned more."""

from io import StringIO

import pytest
from django.core.management import call_command

from letters.models import AuditEntry
from petition.models import Signature
from petition.moderation.services import audit_undo
from tests.factories import InvitationFactory, LetterFactory, SignatureFactory, UserFactory

pytestmark = pytest.mark.django_db


def stored(letter, email: str, old_key: str, **fields) -> Signature:
    """A signature as the old normalizer keyed it."""
    return SignatureFactory(letter=letter, email=email, email_normalized=old_key, **fields)


def run(*args: str) -> str:
    out = StringIO()
    call_command("renormalize_emails", *args, stdout=out)
    return out.getvalue()


def test_a_report_without_apply_writes_nothing() -> None:
    row = stored(LetterFactory(), "ada+x@outlook.fr", "ada+x@outlook.fr")
    output = run()
    assert "Would change 1 signatures" in output
    row.refresh_from_db()
    assert row.email_normalized == "ada+x@outlook.fr"


def test_keys_without_a_collision_are_updated() -> None:
    row = stored(LetterFactory(), '"ada"@gmail.com', '"ada"@gmail.com')
    run("--apply")
    row.refresh_from_db()
    assert (row.email_normalized, row.email_domain) == ("ada@gmail.com", "gmail.com")


def test_one_person_signed_twice_keeps_the_earliest_verified_one_counting(tally) -> None:
    letter = LetterFactory()
    later = stored(letter, "ada@outlook.fr", "ada@outlook.fr", verified=True)
    earlier = stored(letter, "ada+2@outlook.fr", "ada+2@outlook.fr", verified=True)
    Signature.objects.filter(pk=earlier.pk).update(verified_at=later.verified_at.replace(year=2020))
    tally()
    assert Signature.objects.counting().count() == 2
    output = run("--apply")
    tally()
    assert f"keeps #{earlier.pk}, duplicates #{later.pk}" in output
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert earlier.email_normalized == "ada@outlook.fr"
    assert (later.email_normalized, later.moderation) == (f"duplicate:{later.pk}", "invalidated")
    assert Signature.objects.counting().count() == 1
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INVALIDATE)
    audit_undo(entry=entry, actor=UserFactory(is_staff=True))
    later.refresh_from_db()
    assert later.moderation == ""


def test_running_twice_changes_nothing_more() -> None:
    letter = LetterFactory()
    stored(letter, "ada@outlook.fr", "ada@outlook.fr", verified=True)
    stored(letter, "ada+2@outlook.fr", "ada+2@outlook.fr", verified=True)
    run("--apply")
    assert "Changed 0 signatures, 0 invitations." in run("--apply")


def test_open_invitations_get_the_new_key() -> None:
    invitation = InvitationFactory(email="mod+team@hotmail.co.uk")
    type(invitation).objects.filter(pk=invitation.pk).update(
        email_normalized="mod+team@hotmail.co.uk"
    )
    run("--apply")
    invitation.refresh_from_db()
    assert invitation.email_normalized == "mod@hotmail.co.uk"
