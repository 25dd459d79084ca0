"""Every write to letters goes through here: commands, admin and views alike."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Letter, NamedSignatory


@dataclass(frozen=True)
class NamedSignatoryData:
    name: str
    affiliation: str = ""


@dataclass(frozen=True)
class LetterData:
    slug: str
    title: str
    body: str
    recipient: str = ""
    goal: int | None = None
    language: str = "en"
    status: str = Letter.Status.DRAFT
    closes_at: datetime | None = None
    signer_fields: list[str] = field(default_factory=list)
    signatories: list[NamedSignatoryData] | None = None


def letter_save(*, letter: Letter) -> Letter:
    """Validate and save a letter, stamping its first publication time."""
    unknown = set(letter.signer_fields) - set(Letter.SignerField.values)
    if unknown:
        raise ValidationError(
            {"signer_fields": f"Unknown signer fields: {', '.join(sorted(unknown))}."}
        )
    if letter.status != Letter.Status.DRAFT and letter.published_at is None:
        letter.published_at = timezone.now()
    letter.full_clean(exclude=["owner"])
    letter.save()
    return letter


@transaction.atomic
def letter_upsert(*, data: LetterData) -> tuple[Letter, bool]:
    """Create the letter with this slug, or update it in place; replaces named signatories
    when the data lists them. Returns the letter and whether it was created."""
    letter = Letter.objects.select_for_update().filter(slug=data.slug).first()
    created = letter is None
    if letter is None:
        letter = Letter(slug=data.slug)
    letter.title = data.title
    letter.body = data.body
    letter.recipient = data.recipient
    letter.goal = data.goal
    letter.language = data.language
    letter.status = data.status
    letter.closes_at = data.closes_at
    letter.signer_fields = list(data.signer_fields)
    letter_save(letter=letter)
    if data.signatories is not None:
        letter.named_signatories.all().delete()
        NamedSignatory.objects.bulk_create(
            NamedSignatory(letter=letter, name=s.name, affiliation=s.affiliation, position=i)
            for i, s in enumerate(data.signatories, start=1)
        )
    return letter, created
