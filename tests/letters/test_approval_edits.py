"""Where staff approve letters, an author's new words on a public letter wait for them."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from letters.models import AuditEntry, Letter
from letters.services import LetterDraftData, letter_approve, letter_update
from tests.factories import LetterFactory, UserFactory

pytestmark = pytest.mark.django_db


def draft_of(letter: Letter, **changes: Any) -> LetterDraftData:
    values: dict[str, Any] = {
        "title": letter.title,
        "slug": letter.slug,
        "body": letter.body,
        "recipient": letter.recipient,
        "goal": letter.goal,
        "closes_at": letter.closes_at,
        "language": letter.language,
        "signer_fields": list(letter.signer_fields),
        "premoderate": letter.premoderate,
    }
    values.update(changes)
    return LetterDraftData(**values)


@pytest.fixture
def approval(settings) -> None:
    settings.LETTERS_REQUIRE_APPROVAL = True


def test_an_authors_new_text_takes_an_open_letter_back_to_staff(approval: None) -> None:
    letter = LetterFactory(status=Letter.Status.OPEN, body="Approved words.")
    author = UserFactory()
    letter = letter_update(letter=letter, user=author, data=draft_of(letter, body="Other words."))
    assert letter.status == Letter.Status.REVIEW
    assert Client().get(letter.get_absolute_url()).status_code == 404
    assert AuditEntry.objects.filter(letter=letter, action=AuditEntry.Action.LETTER_SUBMIT).exists()

    letter_approve(letter=letter, user=UserFactory(is_staff=True))
    page = Client().get(letter.get_absolute_url())
    assert page.status_code == 200
    assert "Other words." in page.content.decode()


def test_a_new_title_also_waits_for_staff(approval: None) -> None:
    letter = LetterFactory(status=Letter.Status.OPEN)
    letter = letter_update(letter=letter, user=UserFactory(), data=draft_of(letter, title="New"))
    assert letter.status == Letter.Status.REVIEW


def test_other_settings_change_without_approval(approval: None) -> None:
    letter = LetterFactory(status=Letter.Status.OPEN, goal=10)
    letter = letter_update(letter=letter, user=UserFactory(), data=draft_of(letter, goal=20))
    assert letter.status == Letter.Status.OPEN


def test_staff_edits_stay_public(approval: None) -> None:
    letter = LetterFactory(status=Letter.Status.OPEN)
    staff = UserFactory(is_staff=True)
    letter = letter_update(letter=letter, user=staff, data=draft_of(letter, body="Edited."))
    assert letter.status == Letter.Status.OPEN


def test_a_closed_letters_text_cannot_change(approval: None) -> None:
    letter = LetterFactory(status=Letter.Status.CLOSED, body="Final words.")
    with pytest.raises(ValidationError, match="closed"):
        letter_update(letter=letter, user=UserFactory(), data=draft_of(letter, body="Changed."))
    assert Letter.objects.get(pk=letter.pk).body == "Final words."


def test_without_approval_mode_edits_go_public(settings) -> None:
    settings.LETTERS_REQUIRE_APPROVAL = False
    letter = LetterFactory(status=Letter.Status.OPEN)
    letter = letter_update(letter=letter, user=UserFactory(), data=draft_of(letter, body="New."))
    assert letter.status == Letter.Status.OPEN
