"""The part of the editing form that describes a change to a published letter's text."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.text import PlainTextField, TextKind

from .models import Letter
from .versions import NOTE_MAX_LENGTH


class VersionNoteForm(forms.Form):
    """Shown beside the editor once a letter is published; used only if the text changes."""

    note = PlainTextField(
        kind=TextKind.LINE,
        label=_("What changed"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        help_text=_(
            "A short note shown in the letter's public changelog, e.g. “Corrected the "
            "recipient's name”."
        ),
    )
    material = forms.BooleanField(
        label=_("This is a material change: ask earlier signers to confirm again"),
        required=False,
        help_text=_(
            "Everyone who signed an earlier version gets an email showing what changed, with "
            "a button to confirm their signature on the new text (or a link to withdraw it). "
            "Use it when the meaning changes, not for typos."
        ),
    )


def version_saved_message(letter: Letter) -> str:
    """What the author is told after an edit made a new version."""
    latest = letter.versions.order_by("-number").first()
    if latest is not None and latest.material:
        return gettext(
            "The text is now version %(number)s. Signers of earlier versions are being "
            "emailed to confirm their signature again."
        ) % {"number": letter.version}
    return gettext(
        "The text is now version %(number)s; the public changelog shows what changed."
    ) % {"number": letter.version}
