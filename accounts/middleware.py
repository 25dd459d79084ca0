"""Where the site requires MFA, site staff set it up before they use the Django admin."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from letters.permissions import mfa_setup_redirect


class StaffMFAMiddleware:
    """Send staff without an authenticator app from any admin page to set one up, when
    REQUIRE_MFA_FOR_MODERATORS is on. Must come after the authentication and message
    middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._admin_prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._admin_prefix is None:
            self._admin_prefix = reverse("admin:index")
        # The path first: touching request.user reads the session, which would make every
        # public answer (embeds, API) vary on cookies.
        if not request.path.startswith(self._admin_prefix):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and (response := mfa_setup_redirect(request))
        ):
            return response
        return self.get_response(request)
