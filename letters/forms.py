"""Forms for writing and managing a letter in the browser. They validate input; the
services in letters/services.py do every write."""

from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from core.fields import max_length
from core.params import StrictIntegerField
from core.text import PlainTextField

from .markdown import markdown_problem
from .models import Letter, LetterRole
from .services import (
    BODY_MAX_LENGTH,
    RESERVED_SLUGS,
    LetterDraftData,
    NamedSignatoryData,
    closes_at_problem,
    slug_problem,
)

SLUG_MAX_LENGTH = max_length(Letter, "slug")
GOAL_MAX = 1_000_000_000


class LetterForm(forms.Form):
    title = PlainTextField(label=_("Title"), max_length=200)
    slug = forms.SlugField(
        label=_("Address"),
        max_length=SLUG_MAX_LENGTH,
        required=False,
        help_text=_(
            "The letter's address: /letters/<address>/. Lowercase letters, digits and hyphens. "
            "Left blank, it is made from the title. It cannot change once published."
        ),
    )
    recipient = PlainTextField(
        label=_("Recipient"),
        max_length=200,
        required=False,
        help_text=_("Who the letter is addressed to, e.g. “The board of Example AI”."),
    )
    organiser_name = PlainTextField(
        label=_("Started by"),
        max_length=120,
        required=False,
        help_text=_(
            "Who started the letter, a person or a group, shown to readers: "
            "“Started by … on …”. Your email address is never shown."
        ),
    )
    organiser_organization = PlainTextField(
        label=_("Their organization"), max_length=160, required=False
    )
    body = forms.CharField(
        label=_("Text"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 18, "class": "markdown-source"}),
        help_text=_(
            "Markdown: **bold**, *italic*, [links](https://example.org), lists, quotes. "
            "Images and raw HTML are removed."
        ),
    )
    goal = StrictIntegerField(
        label=_("Goal"),
        required=False,
        min_value=1,
        max_value=GOAL_MAX,
        help_text=_("The number of signatures you aim for; shown as a progress bar."),
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at (UTC)"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Optional. After this time the letter takes no more signatures."),
    )
    language = forms.ChoiceField(label=_("Language of the letter"), choices=settings.LANGUAGES)
    signer_fields = forms.MultipleChoiceField(
        label=_("Ask signers for"),
        required=False,
        choices=Letter.SignerField.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Name and email are always asked; these are optional for the signer."),
    )
    premoderate = forms.BooleanField(
        label=_("Pre-moderate public names"),
        required=False,
        help_text=Letter._meta.get_field("premoderate").help_text,
    )
    premoderate_comments = forms.BooleanField(
        label=_("Pre-moderate public comments"),
        required=False,
        help_text=Letter._meta.get_field("premoderate_comments").help_text,
    )

    def __init__(self, *args: Any, letter: Letter | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter
        if letter is not None and letter.status != Letter.Status.DRAFT:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = _("Published letters keep their address.")

    @classmethod
    def initial_for(cls, letter: Letter) -> dict[str, Any]:
        return {
            "title": letter.title,
            "slug": letter.slug,
            "recipient": letter.recipient,
            "organiser_name": letter.organiser_name,
            "organiser_organization": letter.organiser_organization,
            "body": letter.body,
            "goal": letter.goal,
            "closes_at": timezone.localtime(letter.closes_at) if letter.closes_at else None,
            "language": letter.language,
            "signer_fields": list(letter.signer_fields),
            "premoderate": letter.premoderate,
            "premoderate_comments": letter.premoderate_comments,
        }

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data.get("slug") or ""
        if self.letter is not None and self.fields["slug"].disabled:
            return self.letter.slug
        if slug:
            if problem := slug_problem(slug):
                raise forms.ValidationError(problem)
            return slug
        return self._suggest_slug()

    def _suggest_slug(self) -> str:
        base = slugify(self.data.get(self.add_prefix("title"), ""))[: SLUG_MAX_LENGTH - 4]
        base = base.strip("-")
        if not base:
            raise forms.ValidationError(
                _(
                    "Choose an address: the title gives none (use letters a to z, digits and hyphens)."
                )
            )
        taken = Letter.objects.filter(slug__startswith=base)
        if self.letter is not None:
            taken = taken.exclude(pk=self.letter.pk)
        used = set(taken.values_list("slug", flat=True)) | RESERVED_SLUGS
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def clean_language(self) -> str:
        language: str = self.cleaned_data["language"]
        # Two texts claiming one language: readers could reach only one of them.
        if (
            self.letter is not None
            and language != self.letter.language
            and self.letter.translations.filter(language=language).exists()
        ):
            raise forms.ValidationError(
                _(
                    "The letter has a translation in this language. Delete that "
                    "translation first, or choose another language."
                )
            )
        return language

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if problem := markdown_problem(body):
            raise forms.ValidationError(problem)
        return body

    def clean_closes_at(self) -> datetime | None:
        closes_at: datetime | None = self.cleaned_data.get("closes_at")
        unchanged = self.letter is not None and closes_at == self.letter.closes_at
        if closes_at is not None and not unchanged and closes_at <= timezone.now():
            raise forms.ValidationError(_("Choose a closing time in the future."))
        if problem := closes_at_problem(closes_at):
            raise forms.ValidationError(problem)
        return closes_at

    def to_data(self, signatories: list[NamedSignatoryData] | None) -> LetterDraftData:
        data = self.cleaned_data
        return LetterDraftData(
            title=data["title"],
            slug=data["slug"],
            body=data["body"],
            recipient=data["recipient"],
            goal=data["goal"],
            closes_at=data["closes_at"],
            language=data["language"],
            signer_fields=list(data["signer_fields"]),
            premoderate=data["premoderate"],
            premoderate_comments=data["premoderate_comments"],
            signatories=signatories,
            organiser_name=data["organiser_name"],
            organiser_organization=data["organiser_organization"],
        )


class NamedSignatoryForm(forms.Form):
    name = PlainTextField(label=_("Name"), max_length=200)
    affiliation = PlainTextField(label=_("Affiliation"), max_length=200, required=False)


NamedSignatoryFormSet = forms.formset_factory(
    NamedSignatoryForm,
    extra=3,
    can_delete=True,
    can_order=True,
    max_num=500,
    validate_max=True,
)


def signatory_formset(data: Any = None, *, letter: Letter | None = None) -> forms.BaseFormSet:
    initial = (
        [{"name": s.name, "affiliation": s.affiliation} for s in letter.named_signatories.all()]
        if letter is not None
        else []
    )
    return NamedSignatoryFormSet(data, initial=initial, prefix="signatories")


def signatories_from(formset: forms.BaseFormSet) -> list[NamedSignatoryData]:
    """The named signatories in the order the author gave, without removed rows."""
    return [
        NamedSignatoryData(
            name=form.cleaned_data["name"], affiliation=form.cleaned_data.get("affiliation", "")
        )
        for form in formset.ordered_forms
        if form.cleaned_data.get("name")
    ]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=LetterRole.Role.choices,
        initial=LetterRole.Role.MODERATOR,
        help_text=_(
            "Moderators review signatures. Owners also edit, publish and close the letter "
            "and manage its team."
        ),
    )
