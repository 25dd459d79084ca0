"""The page a signer reaches from a reconfirmation email: what changed since the version
they signed, and a button to confirm their signature on the newest one.

Links never act on GET (mail scanners fetch them): only the POST of the button changes
anything, and it is refused when a browser says it came from another site
(config/csrf.py).
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.csrf import origin_checked
from core.http import link_error
from letters.models import Letter
from letters.versions import version_diff

from ..models import Signature
from ..selfservice.views import signature_from_link
from ..signing.tokens import LinkInvalid, make_manage_token
from .services import NotReconfirmable, read_reconfirm_token, signature_reconfirm


def _link_error(request: HttpRequest, letter: Letter, *, expired: bool) -> HttpResponse:
    return link_error(request, purpose="reconfirm", letter=letter, expired=expired)


def _page(
    request: HttpRequest,
    letter: Letter,
    signature: Signature,
    *,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    versions = {
        v.number: v for v in letter.versions.filter(number__in=[signature.version, letter.version])
    }
    signed, current = versions.get(signature.version), versions.get(letter.version)
    manage_token = make_manage_token(signature_id=signature.pk, letter_id=letter.pk)
    context = {
        "letter": letter,
        "signature": signature,
        "signed_version": signed,
        "current_version": current,
        "diff": version_diff(signed, current) if signed and current and signed != current else None,
        "up_to_date": signature.version >= letter.version,
        "confirmable": signature.status == Signature.Status.VERIFIED,
        "manage_url": reverse(
            "signature_manage", kwargs={"slug": letter.slug, "token": manage_token}
        ),
        **extra,
    }
    return render(request, "petition/reconfirm/reconfirm.html", context, status=status)


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def signature_reconfirm_view(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET shows the changes since the signer's version; POST confirms the newest one."""
    found = signature_from_link(request, slug, token, read=read_reconfirm_token, error=_link_error)
    if isinstance(found, HttpResponse):
        return found
    signature, letter = found, found.letter
    if request.method == "GET":
        return _page(request, letter, signature)
    try:
        signature, changed = signature_reconfirm(signature_id=signature.pk, letter_id=letter.pk)
    except LinkInvalid:
        return _link_error(request, letter, expired=False)
    except NotReconfirmable:
        return _page(request, letter, signature, status=409)
    letter.refresh_from_db(fields=["version"])
    signature.letter = letter
    return _page(request, letter, signature, just_confirmed=changed)
