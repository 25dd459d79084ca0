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

    show_name = forms.BooleanField(
        label=_("Show my name publicly on the list of signatories"), required=False
    )

    def __init__(self, *args: Any, signature: Signature, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "show_name": signature.show_name,
                **{f: getattr(signature, f) for f in editable_fields(signature.letter)},
            },
        )
        super().__init__(*args, **kwargs)
        # The signing form's fields, so a value accepted there is accepted here and no more.
        for field in editable_fields(signature.letter):
            self.fields[field] = copy.deepcopy(SignatureForm.base_fields[field])
        self.order_fields([*editable_fields(signature.letter), "show_name"])

    def clean_comment(self) -> str:
        comment = self.cleaned_data.get("comment", "")
        if "\x00" in comment:
            raise ValidationError(_("Null characters are not allowed."))
        return comment.strip()

    def public_fields(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if name != "show_name"}
