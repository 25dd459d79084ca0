"""Who may do what on a letter. Every authoring and moderation view goes through here.

Roles are per letter and nothing else grants them: an account without a role on a letter
gets a 404 for its private pages, as if they did not exist; an anonymous visitor is sent
to log in. Where the site requires it, anyone holding a role must have set up MFA first.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import AuditEntry, Letter, LetterRole

OWNER = LetterRole.Role.OWNER
MODERATOR = LetterRole.Role.MODERATOR
ANY_ROLE = (OWNER, MODERATOR)

View = Callable[..., HttpResponseBase]


def letter_role(*, letter: Letter, user: Any) -> str | None:
    """The user's role on the letter, or None."""
    if not user.is_authenticated:
        return None
    return (
        LetterRole.objects.filter(letter=letter, user=user).values_list("role", flat=True).first()
    )


def user_has_mfa(user: Any) -> bool:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def mfa_setup_redirect(request: HttpRequest) -> HttpResponse | None:
    """Where the site requires MFA for moderation, send a user without it to set it up."""
    if not settings.UNDERSIGNED_REQUIRE_MFA or user_has_mfa(request.user):
        return None
    messages.warning(
        request,
        _(
            "This site requires two-factor authentication for everyone who manages or "
            "moderates a letter. Set up an authenticator app to continue."
        ),
    )
    return redirect(f"{settings.MFA_SETUP_URL}?next={request.get_full_path()}")


STAFF_ACCESS_SESSION_KEY = "staff-access-audited"


def _audit_staff_access(request: HttpRequest, letter: Letter) -> None:
    """One audit entry per letter and staff session: who looked, and at which page first."""
    from .audit import audit_record

    audited = request.session.get(STAFF_ACCESS_SESSION_KEY, [])
    if letter.pk in audited:
        return
    audit_record(
        letter=letter,
        actor=request.user,
        action=AuditEntry.Action.STAFF_ACCESS,
        detail={"path": request.path[:200]},
    )
    request.session[STAFF_ACCESS_SESSION_KEY] = [*audited, letter.pk][-200:]


def letter_role_required(*roles: str) -> Callable[[View], View]:
    """Run the view only for a user holding one of `roles` on the letter named by the
    `slug` URL argument; the view receives `letter` and `role` instead of `slug`."""
    allowed = roles or ANY_ROLE

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            letter = Letter.objects.filter(slug=slug).first()
            role = letter_role(letter=letter, user=request.user) if letter else None
            as_staff = letter is not None and role is None and request.user.is_staff
            if as_staff:
                # Site staff may open any letter's team pages (an ownerless letter needs
                # someone); they act as an owner, and the first visit is audited.
                role = OWNER
            if letter is None or role not in allowed:
                raise Http404
            if response := mfa_setup_redirect(request):
                return response
            if as_staff:
                _audit_staff_access(request, letter)
            return view(request, *args, letter=letter, role=role, **kwargs)

        # The URL walk in tests/test_roles.py reads which roles each view admits.
        wrapper.letter_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorator
