from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.params import BadParameter, StrictIntegerField, parse_int
from core.text import PlainTextField, TextKind

from .selectors import QUEUE_STATES
from .services import BULK_ACTIONS, COMMENT_ACTIONS, MATCHING_ACTIONS, InvalidationCriteria

STATE_LABELS = {
    "all": _("All"),
    "pending": _("Pending email confirmation"),
    "verified": _("Verified and counting"),
    "awaiting": _("Awaiting approval"),
    "held": _("Held: no bot challenge solved"),
    "flagged": _("Flagged"),
    "hidden": _("Hidden"),
    "rejected": _("Rejected"),
    "invalidated": _("Invalidated"),
    "shadow": _("Shadow-banned"),
}


class QueueFilterForm(forms.Form):
    STATE_LABELS = STATE_LABELS
    state = forms.ChoiceField(
        label=_("Show"), choices=[(s, STATE_LABELS[s]) for s in QUEUE_STATES], required=False
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Part of a name, or an email domain such as @example.org."),
    )
    before = StrictIntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_state(self) -> str:
        return self.cleaned_data["state"] or "all"


class BulkActionForm(forms.Form):
    """An action on signatures: the selected ones (checkboxes, or one row's own buttons),
    every one on the page, or every one the queue's filter shows (a background job)."""

    SCOPES = ("selected", "page", "matching")
    action = forms.ChoiceField(choices=[(a, a) for a in (*BULK_ACTIONS, *COMMENT_ACTIONS)])
    scope = forms.ChoiceField(choices=[(s, s) for s in SCOPES], required=False)
    signature_ids = forms.CharField(required=False)
    page_ids = forms.CharField(required=False, max_length=20000)
    # The queue filter "matching" applies to, and how many it showed.
    state = forms.ChoiceField(choices=[(s, s) for s in QUEUE_STATES], required=False)
    q = forms.CharField(required=False, max_length=200)
    expected = StrictIntegerField(required=False, min_value=0)
    # The newest signature the count covers, whether the page said "more than", and whether
    # this is the confirmation that counted them exactly.
    up_to = StrictIntegerField(required=False, min_value=1)
    more = forms.BooleanField(required=False)
    confirm = forms.BooleanField(required=False)
    note = PlainTextField(required=False, max_length=500, kind=TextKind.LINE)
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, data: Any, **kwargs: Any) -> None:
        data = data.copy()
        # Checkboxes arrive as a list under "signature"; keep them as one field to validate.
        data["signature_ids"] = ",".join(data.getlist("signature"))
        super().__init__(data, **kwargs)

    @staticmethod
    def _ids(text: str) -> list[int]:
        raw = [part for part in text.split(",") if part.strip()]
        try:
            return [parse_int(part.strip(), name="signature") for part in raw]
        except BadParameter:
            raise ValidationError(
                _("The selection holds something that is not a signature.")
            ) from None

    def clean_signature_ids(self) -> list[int]:
        return self._ids(self.cleaned_data["signature_ids"])

    def clean_page_ids(self) -> list[int]:
        return self._ids(self.cleaned_data["page_ids"])

    def clean_scope(self) -> str:
        return self.cleaned_data["scope"] or "selected"

    def clean_state(self) -> str:
        return self.cleaned_data["state"] or "all"

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        scope = data["scope"]
        if scope == "page":
            data["signature_ids"] = data["page_ids"]
        if scope == "matching":
            if data.get("expected") is None:
                raise ValidationError(_("The count of matching signatures is missing."))
            if data["action"] not in MATCHING_ACTIONS:
                raise ValidationError(_("This action applies to selected signatures only."))
        elif not data["signature_ids"]:
            raise ValidationError(_("Select at least one signature."))
        return data


class InvalidationForm(forms.Form):
    domain = forms.CharField(
        label=_("Email domain"),
        required=False,
        max_length=255,
        help_text=_("Takes its subdomains too, e.g. spam.example."),
    )
    cidr = forms.CharField(
        label=_("IP address or CIDR range"),
        required=False,
        max_length=64,
        help_text=_("e.g. 203.0.113.0/24 or 2001:db8::/48."),
    )
    name_pattern = forms.CharField(
        label=_("Name pattern"),
        required=False,
        max_length=120,
        help_text=_("* stands for any run of characters, ? for one; case and accents are ignored."),
    )
    created_from = forms.DateTimeField(
        label=_("Signed from"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    created_to = forms.DateTimeField(
        label=_("Signed before"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    expected = StrictIntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    up_to = StrictIntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    more = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            data["criteria"] = InvalidationCriteria(
                domain=data.get("domain") or "",
                cidr=data.get("cidr") or "",
                name_pattern=data.get("name_pattern") or "",
                created_from=data.get("created_from"),
                created_to=data.get("created_to"),
            ).cleaned()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(None if field == "__all__" else field, messages)
        return data


class WatchedNameForm(forms.Form):
    name = forms.CharField(label=_("Name to watch"), max_length=120)
