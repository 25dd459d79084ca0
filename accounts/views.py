from allauth.mfa.models import Authenticator
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from letters.models import LetterRole


@login_required
def account_overview(request: HttpRequest) -> HttpResponse:
    """The account page: address, password and two-factor authentication, in one place."""
    authenticators = {a.type: a for a in Authenticator.objects.filter(user=request.user)}
    recovery = authenticators.get(Authenticator.Type.RECOVERY_CODES)
    return render(
        request,
        "accounts/overview.html",
        {
            "totp": authenticators.get(Authenticator.Type.TOTP),
            "recovery_codes_left": (
                len(recovery.wrap().get_unused_codes()) if recovery is not None else None
            ),
            "letter_count": LetterRole.objects.filter(user=request.user.pk).count(),
        },
    )
