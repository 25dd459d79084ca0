"""The public changelog of a letter: every version of its text, what changed, and how
many signed each one."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .models import Letter
from .versions import letter_changelog


@require_GET
def letter_changes(request: HttpRequest, slug: str) -> HttpResponse:
    """Versions newest first with their word-level diffs; drafts and letters awaiting
    approval are not public, so they have no public changelog either."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    return render(
        request,
        "letters/changelog.html",
        {"letter": letter, "entries": letter_changelog(letter)},
    )
