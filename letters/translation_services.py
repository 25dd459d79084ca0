"""Every write to a letter's translations: the authoring pages and import_letter alike.

A translation is the letter in another language, sharing its one count and signatory
list. It records the letter version it was written from, so readers and authors can see
when the original has changed since.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.fields import max_length

from .audit import audit_record
from .languages import is_known_language, language_name_local, letter_translation_index_forget
from .markdown import markdown_problem
from .models import AuditEntry, Letter, LetterTranslation

TITLE_MAX_LENGTH = max_length(LetterTranslation, "title")
RECIPIENT_MAX_LENGTH = max_length(LetterTranslation, "recipient")


@dataclass(frozen=True)
class TranslationData:
    language: str
    title: str
    body: str
    recipient: str = ""


def _check(data: TranslationData) -> None:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Give the translation a title.")
    elif len(data.title) > TITLE_MAX_LENGTH:
        errors["title"] = _("The title is too long: at most %(max)s characters.") % {
            "max": TITLE_MAX_LENGTH
        }
    if len(data.recipient) > RECIPIENT_MAX_LENGTH:
        errors["recipient"] = _("The recipient is too long: at most %(max)s characters.") % {
            "max": RECIPIENT_MAX_LENGTH
        }
    if not data.body.strip():
        errors["body"] = _("The translation has no text.")
    elif problem := markdown_problem(data.body):
        errors["body"] = problem
    if errors:
        raise ValidationError(errors)


def _check_language(*, letter: Letter, language: str) -> None:
    if not is_known_language(language):
        raise ValidationError(
            {"language": _("“%(code)s” is not a language code we know.") % {"code": language}}
        )
    if language == letter.language:
        raise ValidationError(
            {
                "language": _("The letter itself is written in %(name)s; choose another language.")
                % {"name": language_name_local(language)}
            }
        )


def _duplicate(language: str) -> ValidationError:
    return ValidationError(
        {
            "language": _("This letter already has a translation in %(name)s; edit that one.")
            % {"name": language_name_local(language)}
        }
    )


@transaction.atomic
def translation_add(*, letter: Letter, user: Any, data: TranslationData) -> LetterTranslation:
    """Add the letter in another language, written from its current version; audited as
    TRANSLATION_ADD. A language the letter already has is refused, not overwritten."""
    _check_language(letter=letter, language=data.language)
    _check(data)
    if letter.translations.filter(language=data.language).exists():
        raise _duplicate(data.language)
    try:
        with transaction.atomic():
            found = LetterTranslation.objects.create(
                letter=letter,
                language=data.language,
                title=data.title.strip(),
                recipient=data.recipient.strip(),
                body=data.body,
                based_on_version=letter.version,
            )
    except IntegrityError:
        # Two authors adding the same language at once: the constraint keeps one.
        raise _duplicate(data.language) from None
    letter_translation_index_forget(letter.pk)
    audit_record(
        letter=letter,
        actor=user,
        action=AuditEntry.Action.TRANSLATION_ADD,
        detail={"language": found.language},
    )
    return found


@transaction.atomic
def translation_update(
    *, translation: LetterTranslation, user: Any, data: TranslationData
) -> LetterTranslation:
    """Save an edited translation, now counted as written from the letter's current
    version; audited as TRANSLATION_EDIT with the fields that changed."""
    _check(data)
    found = LetterTranslation.objects.select_for_update().get(pk=translation.pk)
    letter = Letter.objects.get(pk=found.letter_id)
    new = {"title": data.title.strip(), "recipient": data.recipient.strip(), "body": data.body}
    changed = [name for name, value in new.items() if getattr(found, name) != value]
    outdated = found.based_on_version != letter.version
    if not changed and not outdated:
        return found
    for name, value in new.items():
        setattr(found, name, value)
    found.based_on_version = letter.version
    found.save(update_fields=[*new, "based_on_version", "updated_at"])
    letter_translation_index_forget(letter.pk)
    audit_record(
        letter=letter,
        actor=user,
        action=AuditEntry.Action.TRANSLATION_EDIT,
        detail={
            "language": found.language,
            "fields": changed,
            "based_on_version": letter.version,
        },
    )
    return found


@transaction.atomic
def translation_delete(*, translation: LetterTranslation, user: Any) -> None:
    """Remove a translation; signatures made on it keep their language. Audited as
    TRANSLATION_DELETE with the title it had."""
    audit_record(
        letter=translation.letter,
        actor=user,
        action=AuditEntry.Action.TRANSLATION_DELETE,
        detail={"language": translation.language, "title": translation.title},
    )
    translation.delete()
    letter_translation_index_forget(translation.letter_id)


@transaction.atomic
def translations_import(
    *, letter: Letter, translations: list[TranslationData]
) -> list[tuple[LetterTranslation, bool]]:
    """Create or update the listed translations of an imported letter (by language).
    Translations the file does not list are left alone: authors may have added them in
    the browser. Returns each translation and whether it was created."""
    result = []
    for data in translations:
        _check_language(letter=letter, language=data.language)
        existing = letter.translations.filter(language=data.language).first()
        if existing is None:
            result.append((translation_add(letter=letter, user=None, data=data), True))
        else:
            result.append((translation_update(translation=existing, user=None, data=data), False))
    return result
