from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from petition.forms import SignatureForm
from petition.selectors import letter_latest_public_signatures, letter_signature_counts

from .markdown import markdown_excerpt
from .models import Letter
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


def letter_detail(request: HttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    context = letter_context(letter)
    # Only signed-in readers cost a query: the letter's team gets its links here.
    context["team_role"] = letter_role(letter=letter, user=request.user)
    return render(request, "letters/letter_detail.html", context)
