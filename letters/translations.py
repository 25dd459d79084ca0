"""The letter's translations in the authoring pages, for its owners: list and add, edit
with a preview, delete after a confirming POST. Services in letters/translation_services.py
do every write and audit it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.text import PlainTextField

from .languages import (
    language_choices,
    language_name_local,
    letter_language_url,
    normalize_language_code,
)
from .markdown import render_markdown
from .models import Letter, LetterTranslation
from .permissions import OWNER, letter_role_required
from .services import BODY_MAX_LENGTH
from .translation_services import (
    TranslationData,
    translation_add,
    translation_delete,
    translation_update,
)


class LanguageField(forms.ChoiceField):
    """A language code Django knows; "pt_BR" or "FR" are read as "pt-br" and "fr"."""

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return normalize_language_code(value) or value


class TranslationForm(forms.Form):
    title = PlainTextField(label=gettext_lazy("Title"), max_length=200)
    recipient = PlainTextField(label=gettext_lazy("Recipient"), max_length=200, required=False)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 18, "class": "markdown-source"}),
        help_text=gettext_lazy(
            "Markdown, as in the letter: **bold**, *italic*, [links](https://example.org), "
            "lists, quotes. Images and raw HTML are removed."
        ),
    )

    def data_for(self, language: str) -> TranslationData:
        data = self.cleaned_data
        return TranslationData(
            language=language, title=data["title"], recipient=data["recipient"], body=data["body"]
        )


class NewTranslationForm(TranslationForm):
    language = LanguageField(
        label=gettext_lazy("Language"),
        choices=language_choices,
        error_messages={
            "invalid_choice": gettext_lazy("“%(value)s” is not a language code we know."),
        },
    )
    field_order = ["language", "title", "recipient", "body"]

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter

    def clean_language(self) -> str:
        language: str = self.cleaned_data["language"]
        if language == self.letter.language:
            raise forms.ValidationError(
                _("The letter itself is written in %(name)s; choose another language.")
                % {"name": language_name_local(language)}
            )
        if self.letter.translations.filter(language=language).exists():
            raise forms.ValidationError(
                _("This letter already has a translation in %(name)s; edit that one.")
                % {"name": language_name_local(language)}
            )
        return language


def _preview_of(request: HttpRequest) -> str | None:
    if "preview" not in request.POST:
        return None
    return render_markdown(request.POST.get("body", "")[:BODY_MAX_LENGTH])


@dataclass(frozen=True)
class TranslationRow:
    """A translation as the owners' list shows it."""

    language: str
    name: str
    title: str
    based_on_version: int
    outdated: bool
    updated_at: datetime
    public_url: str


def _rows(letter: Letter) -> list[TranslationRow]:
    return [
        TranslationRow(
            language=row.language,
            name=language_name_local(row.language),
            title=row.title,
            based_on_version=row.based_on_version,
            outdated=row.based_on_version < letter.version,
            updated_at=row.updated_at,
            public_url=letter_language_url(letter, row.language),
        )
        for row in letter.translations.only(
            "language", "title", "based_on_version", "updated_at"
        ).order_by("language")
    ]


@letter_role_required(OWNER)
@require_http_methods(["GET", "POST"])
def translation_list(request: HttpRequest, *, letter: Letter, role: str) -> HttpResponse:
    """The letter's translations, and a form to add one (with a preview of its text)."""
    form = NewTranslationForm(request.POST or None, letter=letter)
    preview = None
    status = 200
    if request.method == "POST":
        preview = _preview_of(request)
        if preview is None and form.is_valid():
            language = form.cleaned_data["language"]
            try:
                translation_add(letter=letter, user=request.user, data=form.data_for(language))
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Translation in %(name)s added.") % {"name": language_name_local(language)},
                )
                return redirect("letter_translation_edit", slug=letter.slug, language=language)
        status = 200 if preview is not None else 400
    return render(
        request,
        "letters/author/translations.html",
        {
            "letter": letter,
            "role": role,
            "section": "translations",
            "translations": _rows(letter),
            "original_name": language_name_local(letter.language),
            "form": form,
            "preview": preview,
        },
        status=status,
    )


@letter_role_required(OWNER)
@require_http_methods(["GET", "POST"])
def translation_edit(
    request: HttpRequest, *, letter: Letter, role: str, language: str
) -> HttpResponse:
    """Edit one translation; saving marks it as written from the letter's current version."""
    found = get_object_or_404(LetterTranslation, letter=letter, language=language)
    if request.method == "POST":
        form = TranslationForm(request.POST)
    else:
        form = TranslationForm(
            initial={"title": found.title, "recipient": found.recipient, "body": found.body}
        )
    preview = None
    status = 200
    if request.method == "POST":
        preview = _preview_of(request)
        if preview is None and form.is_valid():
            try:
                translation_update(
                    translation=found, user=request.user, data=form.data_for(language)
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Translation saved."))
                return redirect("letter_translation_edit", slug=letter.slug, language=language)
        status = 200 if preview is not None else 400
    return render(
        request,
        "letters/author/translation_edit.html",
        {
            "letter": letter,
            "role": role,
            "section": "translations",
            "translation": found,
            "name": language_name_local(language),
            "outdated": found.based_on_version < letter.version,
            "public_url": letter_language_url(letter, language),
            "form": form,
            "preview": preview,
        },
        status=status,
    )


@letter_role_required(OWNER)
@require_http_methods(["GET", "POST"])
def translation_delete_view(
    request: HttpRequest, *, letter: Letter, role: str, language: str
) -> HttpResponse:
    """GET asks to confirm; only the POST of its button deletes."""
    found = get_object_or_404(LetterTranslation, letter=letter, language=language)
    if request.method == "POST":
        translation_delete(translation=found, user=request.user)
        messages.success(
            request, _("Translation in %(name)s deleted.") % {"name": language_name_local(language)}
        )
        return redirect("letter_translations", slug=letter.slug)
    return render(
        request,
        "letters/author/translation_delete.html",
        {
            "letter": letter,
            "role": role,
            "section": "translations",
            "translation": found,
            "name": language_name_local(language),
        },
    )
