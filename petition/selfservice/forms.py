import copy
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.normalize import normalize_email

from ..models import Signature
from ..signing.forms import SignatureForm
from .services import editable_fields


class ManageLinkRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("The email address you signed with"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )  # fmt: skip

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        try:
            normalize_email(email)
        except ValueError:
            raise ValidationError(_("Enter a valid email address.")) from None
        return email


class SignatureManageForm(forms.Form):
    """The signer's public choices, with the same fields and checks as the signing form."""

    show_comment = forms.BooleanField(
        label=_("Show my comment publicly with my name"), required=False
    )
    show_name = forms.BooleanField(
        label=_("Show my name publicly on the list of signatories"), required=False
    )
    show_affiliation_anonymously = forms.BooleanField(
        label=_("If my name is hidden, still show that my affiliation was verified"),
        help_text=_(
            "The list then reads “Name withheld · ✓ verified via” your organization's "
            "domain: never your name, title, organization or place."
        ),
        required=False,
    )

    # The choices, as opposed to the public fields (editable_fields).
    CHOICES = ("show_comment", "show_name", "show_affiliation_anonymously")

    def __init__(self, *args: Any, signature: Signature, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                **{choice: getattr(signature, choice) for choice in self.CHOICES},
                **{f: getattr(signature, f) for f in editable_fields(signature.letter)},
            },
        )
        super().__init__(*args, **kwargs)
        # The signing form's fields, so a value accepted there is accepted here and no more.
        for field in editable_fields(signature.letter):
            self.fields[field] = copy.deepcopy(SignatureForm.base_fields[field])
        if not signature.letter.collects("comment"):
            del self.fields["show_comment"]
        elif signature.letter.premoderate_comments:
            self.fields["show_comment"].label = _(
                "Show my comment publicly with my name, once a moderator has read it"
            )
        if not signature.affiliation_verification:
            # Nothing verified to show; the choice appears once the affiliation is verified.
            del self.fields["show_affiliation_anonymously"]
        self.order_fields(
            [*editable_fields(signature.letter), *(c for c in self.CHOICES if c in self.fields)]
        )

    def clean_comment(self) -> str:
        comment = self.cleaned_data.get("comment", "")
        if "\x00" in comment:
            raise ValidationError(_("Null characters are not allowed."))
        return comment.strip()

    def public_fields(self) -> dict[str, str]:
        return {
            name: value for name, value in self.cleaned_data.items() if name not in self.CHOICES
        }

    def choices(self) -> dict[str, bool]:
        """The signer's choices this form asked about (the others stay as they are)."""
        return {name: value for name, value in self.cleaned_data.items() if name in self.CHOICES}
