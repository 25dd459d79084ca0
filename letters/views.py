from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from petition.forms import SignatureForm
from petition.selectors import letter_latest_public_signatures, letter_signature_counts

from .languages import (
    language_links,
    language_name_local,
    letter_localized,
    letter_translation,
    letter_translation_index,
    mark_negotiated,
    negotiate_language,
    page_language,
)
from .markdown import markdown_excerpt
from .models import Letter, LetterTranslation
from .permissions import letter_role


def home(request: HttpRequest) -> HttpResponse:
    letters = list(Letter.objects.accepting_signatures())
    counts = letter_signature_counts(letter.pk for letter in letters)
    for letter in letters:
        letter.signature_count = counts[letter.pk]
    return render(request, "letters/home.html", {"letters": letters})


def letter_context(letter: Letter, form: SignatureForm | None = None) -> dict[str, object]:
    count = letter_signature_counts([letter.pk])[letter.pk]
    return {
        "letter": letter,
        "named_signatories": list(letter.named_signatories.all()),
        "signature_count": count,
        "progress_percent": min(100, round(100 * count / letter.goal)) if letter.goal else None,
        "latest_signatures": letter_latest_public_signatures(letter),
        "form": form or SignatureForm(letter=letter),
        "description": markdown_excerpt(letter.body),
    }


def letter_detail(request: HttpRequest, slug: str, language: str | None = None) -> HttpResponse:
    """The letter in the language the URL names, or else the best one for the reader's
    Accept-Language header (then the answer varies with that header)."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    index = letter_translation_index(letter)
    if language is None:
        chosen = negotiate_language(
            request.headers.get("Accept-Language", ""),
            [letter.language, *index],
            default=letter.language,
        )
        found = letter_translation(letter, chosen)
        return mark_negotiated(letter_page(request, letter, translation=found, index=index))
    found = letter_translation(letter, language)
    if language != letter.language and found is None:
        return render(
            request,
            "letters/letter_language_missing.html",
            {
                "letter": letter,
                "language_name": language_name_local(language),
                "languages": language_links(letter, index, current=""),
            },
            status=404,
        )
    return letter_page(request, letter, translation=found, index=index)


def letter_page(
    request: HttpRequest,
    letter: Letter,
    *,
    translation: LetterTranslation | None,
    index: dict[str, int] | None = None,
    form: SignatureForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The letter's page in the translation given (None: the original): its text, the
    interface (and so the signing form) in that language where the site has it, and the
    other languages linked."""
    shown = letter_localized(letter, translation)
    with page_language(shown.page_language):
        form = form or SignatureForm(letter=letter, initial={"language": shown.page_language})
        context = letter_context(shown, form)
        # Only signed-in readers cost a query: the letter's team gets its links here.
        context["team_role"] = letter_role(letter=letter, user=request.user)
        context["languages"] = language_links(
            letter,
            letter_translation_index(letter) if index is None else index,
            current=shown.page_language,
        )
        response = render(request, "letters/letter_detail.html", context, status=status)
    response["Content-Language"] = shown.page_language
    return response
