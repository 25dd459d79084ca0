"""The pages over both letters and signatures: the home page, a letter's public page with
its signing form and counts, its preview for the team, its changelog with the signatures
on each version, and the dashboard of a user's letters.

A UI layer, as the organisers' and the public's pages sit over the models in larger Django
projects: it imports letters and petition; neither imports it.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.normalize import normalize_email
from core.progress import goal_percent
from letters.languages import (
    language_links,
    language_name_local,
    letter_in_language,
    letter_localized,
    letter_translation,
    letter_translation_index,
    mark_negotiated,
    negotiate_language,
    page_language,
)
from letters.markdown import markdown_excerpt
from letters.models import Invitation, Letter, LetterRole, LetterTranslation
from letters.permissions import ANY_ROLE, letter_role, letter_role_required, mfa_setup_redirect
from letters.services import invitation_token
from letters.versions import letter_changelog
from petition.selectors import (
    letter_anonymous_verified_count,
    letter_latest_public_signatures,
    letter_public_comments,
    letter_signature_counts,
    version_counts,
)
from petition.signing.forms import SignatureForm

HOME_SORTS = ("signed", "newest")
HOME_OPEN_LIMIT = 60
HOME_CLOSED_LIMIT = 6


def home(request: HttpRequest) -> HttpResponse:
    """Open letters with their counts (most signed first, or newest), a search over titles
    and recipients, a few recently closed letters, and a way to start a letter."""
    query = "".join(ch for ch in request.GET.get("q", "") if ch.isprintable())[:100].strip()
    sort = request.GET.get("sort", "")
    sort = sort if sort in HOME_SORTS else HOME_SORTS[0]
    found = Q(title__icontains=query) | Q(recipient__icontains=query) if query else Q()
    open_letters = list(
        Letter.objects.accepting_signatures().filter(found).order_by("-published_at", "-pk")
    )
    closed_letters = list(
        Letter.objects.public()
        .filter(found)
        .exclude(pk__in=[letter.pk for letter in open_letters])
        .order_by("-published_at", "-pk")[:HOME_CLOSED_LIMIT]
    )
    counts = letter_signature_counts(letter.pk for letter in [*open_letters, *closed_letters])
    if sort == "signed":
        open_letters.sort(key=lambda letter: counts[letter.pk], reverse=True)
    cards = [
        LetterCard(letter, counts[letter.pk], goal_percent(counts[letter.pk], letter.goal))
        for letter in open_letters[:HOME_OPEN_LIMIT]
    ]
    closed_cards = [
        LetterCard(letter, counts[letter.pk], goal_percent(counts[letter.pk], letter.goal))
        for letter in closed_letters
    ]
    if request.user.is_authenticated:
        start_url = reverse("letter_new")
    elif settings.SIGNUP_MODE != "closed":
        start_url = reverse("account_signup")
    else:
        start_url = ""
    return render(
        request,
        "letters/home.html",
        {
            "letters": cards,
            "closed_letters": closed_cards,
            "query": query,
            "sort": sort,
            "more": len(open_letters) > HOME_OPEN_LIMIT,
            "start_url": start_url,
        },
    )


@dataclass(frozen=True)
class LetterCard:
    letter: Letter
    signature_count: int
    goal_percent: int | None


def _has_owner(letter: Letter) -> bool:
    """Whether the letter has an owner to write to; the letter page's query annotates it
    (has_owner), so reading it costs nothing there."""
    annotated = getattr(letter, "has_owner", None)
    if annotated is not None:
        return bool(annotated)
    return LetterRole.objects.filter(letter=letter, role=LetterRole.Role.OWNER).exists()


def letter_context(letter: Letter, form: SignatureForm | None = None) -> dict[str, object]:
    count = letter_signature_counts([letter.pk])[letter.pk]
    return {
        "letter": letter,
        "named_signatories": list(letter.named_signatories.all()),
        "signature_count": count,
        "progress_percent": goal_percent(count, letter.goal),
        "latest_signatures": letter_latest_public_signatures(letter),
        "public_comments": letter_public_comments(letter),
        "anonymous_verified_count": letter_anonymous_verified_count(letter),
        "form": form or SignatureForm(letter=letter),
        "description": markdown_excerpt(letter.body),
        # Owners to write to through the contact form (their addresses stay private).
        "can_contact": _has_owner(letter),
    }


def letter_detail(request: HttpRequest, slug: str, language: str | None = None) -> HttpResponse:
    """The letter in the language the URL names, or else the best one for the reader's
    Accept-Language header (then the answer varies with that header)."""
    letter = get_object_or_404(Letter.objects.public().with_owner_flag(), slug=slug)
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


@dataclass(frozen=True)
class WaitingInvitation:
    """An open invitation on the dashboard, with the link that accepts it."""

    invitation: Invitation
    token: str


@dataclass(frozen=True)
class DashboardRow:
    """A letter the user holds a role on, with its count."""

    membership: LetterRole
    signature_count: int


def _open_invitations_for(user: Any) -> list[WaitingInvitation]:
    try:
        normalized = normalize_email(user.email)
    except ValueError:
        return []
    return [
        WaitingInvitation(invitation=invitation, token=invitation_token(invitation))
        for invitation in Invitation.objects.open()
        .filter(email_normalized=normalized)
        .select_related("letter")
    ]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """My letters: each letter the user holds a role on, and invitations waiting for them."""
    memberships = list(
        LetterRole.objects.filter(user=request.user.pk)
        .select_related("letter")
        .order_by("-letter__created_at")
    )
    counts = letter_signature_counts(m.letter_id for m in memberships)
    rows = [
        DashboardRow(membership=membership, signature_count=counts[membership.letter_id])
        for membership in memberships
    ]
    return render(
        request,
        "letters/author/dashboard.html",
        {"memberships": rows, "invitations": _open_invitations_for(request.user)},
    )


def _preview(request: HttpRequest, *, letter: Letter, role: str | None) -> HttpResponse:
    # ?lang= shows a translation, so it can be checked before the letter goes public.
    shown = letter_in_language(letter, request.GET.get("lang", "")[:10])
    with page_language(shown.page_language):
        context = letter_context(shown)
        context.update({"role": role, "section": "preview"})
        return render(request, "letters/author/preview.html", context)


_team_preview = letter_role_required(*ANY_ROLE)(_preview)


def letter_preview(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The letter's page as the public will see it, for its team and site staff, whatever
    its status; a banner says when it is not public yet."""
    user = request.user
    if user.is_authenticated and user.is_staff:
        letter = get_object_or_404(Letter, slug=slug)
        if response := mfa_setup_redirect(request):
            return response
        return _preview(request, letter=letter, role=None)
    return _team_preview(request, slug)


# Staff pass too (above); the URL walk in tests/test_roles.py reads the team roles.
letter_preview.letter_roles = ANY_ROLE  # type: ignore[attr-defined]


@require_GET
def letter_changes(request: HttpRequest, slug: str) -> HttpResponse:
    """Versions newest first with their word-level diffs and the signatures on each; drafts
    and letters awaiting approval are not public, so they have no public changelog either."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    entries = letter_changelog(letter, signature_counts=version_counts(letter))
    return render(request, "letters/changelog.html", {"letter": letter, "entries": entries})
