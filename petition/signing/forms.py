from functools import cached_property, lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from core.normalize import normalize_email
from core.text import PlainTextField, TextKind
from letters.languages import letter_languages
from letters.models import Letter

from ..moderation.defences import letter_under_attack
from .services import SignatureData


@lru_cache(maxsize=16)
def _country_choices(language: str) -> list[tuple[str, str]]:
    return [("", "—"), *((code, str(name)) for code, name in countries)]


def country_choices() -> list[tuple[str, str]]:
    """Countries sorted in the active language, built once per language and process."""
    return _country_choices(get_language() or "en")


class CountrySelect(forms.Select):
    """The country list renders the same ~250 options for every blank form; render them once."""

    _blank: dict[tuple[str, str, str], SafeString] = {}

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        if value not in (None, ""):
            return super().render(name, value, attrs, renderer)
        key = (get_language() or "en", name, repr(sorted({**self.attrs, **(attrs or {})}.items())))
        if key not in self._blank:
            self._blank[key] = super().render(name, value, attrs, renderer)
        return self._blank[key]


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries)


class CountryField(forms.ChoiceField):
    """Checks a posted country against the set of codes, not by walking the ~250 choices
    (which Django normalizes again on every walk): the sign POST runs this for every
    signature."""

    def valid_value(self, value: Any) -> bool:
        return str(value) in _country_codes()


class SignatureForm(forms.Form):
    # The Unicode policy (core/text.py) refuses line breaks and control characters, which
    # in a name could also smuggle headers into an email, and invisible or bidi characters.
    name = PlainTextField(
        label=_("Full name"), max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )  # fmt: skip
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        help_text=_("We send you a link to confirm. Never shown publicly."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )  # fmt: skip
    title = PlainTextField(
        label=_("Title or occupation"), max_length=120, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )  # fmt: skip
    organization = PlainTextField(
        label=_("Organization"), max_length=160, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )  # fmt: skip
    city = PlainTextField(
        label=_("City"), max_length=120, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )  # fmt: skip
    country = CountryField(
        label=_("Country"), required=False, choices=country_choices,
        widget=CountrySelect(attrs={"autocomplete": "country"}),
    )  # fmt: skip
    comment = PlainTextField(
        label=_("Comment"), max_length=1000, required=False, kind=TextKind.PROSE,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    show_comment = forms.BooleanField(
        label=_("Show my comment publicly with my name"), required=False, initial=False
    )
    show_name = forms.BooleanField(
        label=_("Show my name publicly on the list of signatories"), required=False, initial=True
    )
    keep_name = forms.BooleanField(
        label=_("Keep my name on the public list after the letter closes, when the other details of signatures are erased"),
        required=False, initial=False,
    )  # fmt: skip
    consent = forms.BooleanField(
        label=_("I agree that my signature is stored and used as the privacy notice says"),
        error_messages={"required": _("Please agree to the privacy notice to sign.")},
    )

    # The language of the page the form is on; emails to the signer use it.
    language = forms.CharField(required=False, max_length=10, widget=forms.HiddenInput)

    # A trap for naive bots: hidden from people and assistive technology, so only a
    # program that fills every field fills it.
    website = forms.CharField(
        label=_("Leave this field empty"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )  # fmt: skip

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter
        for field in Letter.SignerField.values:
            if not letter.collects(field):
                del self.fields[field]
        if not letter.collects("comment"):
            del self.fields["show_comment"]
        elif letter.premoderate_comments:
            self.fields["show_comment"].label = _(
                "Show my comment publicly with my name, once a moderator has read it"
            )

    # The letter's optional details, shown behind a disclosure so the form stays short.
    OPTIONAL = ("title", "organization", "city", "country", "comment", "show_comment")
    CHOICES = ("show_name", "keep_name", "consent")

    @property
    def optional_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.OPTIONAL if name in self.fields]

    @property
    def optional_fields_open(self) -> bool:
        """Open the disclosure when one of its fields has an error or a value typed."""
        return any(field.errors or field.value() for field in self.optional_fields)

    @cached_property
    def challenge_required(self) -> bool:
        """Under attack, the page's script solves a bot challenge (petition/signing/challenge.py)
        before the form is sent."""
        return letter_under_attack(self.letter)

    @property
    def choice_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CHOICES if name in self.fields]

    def full_clean(self) -> None:
        super().full_clean()
        # The page comes back with the errors; without any script, autofocus is what puts
        # a keyboard or screen reader user on the first field to correct (its error is
        # tied to it by aria-describedby).
        for name, field in self.fields.items():
            if name in self.errors and not field.widget.is_hidden and name != "website":
                field.widget.attrs["autofocus"] = True
                break

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Please enter your name."))
        return name

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        try:
            normalize_email(email)
        except ValueError:
            raise ValidationError(_("Enter a valid email address.")) from None
        return email

    def clean_comment(self) -> str:
        comment = self.cleaned_data.get("comment", "")
        if "\x00" in comment:
            raise ValidationError(_("Null characters are not allowed."))
        return comment.strip()

    def clean_language(self) -> str:
        # Not the signer's to get wrong: a language the letter lacks means its original.
        language = self.cleaned_data.get("language", "")
        return language if language in letter_languages(self.letter) else self.letter.language

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.cleaned_data.get("website"))

    def to_data(self) -> SignatureData:
        data = self.cleaned_data
        return SignatureData(
            name=data["name"],
            email=data["email"],
            title=data.get("title", ""),
            organization=data.get("organization", ""),
            city=data.get("city", ""),
            country=data.get("country", "") or "",
            comment=data.get("comment", ""),
            show_comment=bool(data.get("show_comment")),
            show_name=data["show_name"],
            language=data["language"],
            # Only a public name can be kept public.
            keep_name=bool(data.get("keep_name")) and data["show_name"],
        )
