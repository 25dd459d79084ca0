"""Pages a signer reaches through the emailed manage link, and the form that sends it.

Links never act on GET (mail scanners fetch them): every change is a POST, refused when
a browser says it came from another site (config/csrf.py: no cookie needed).
"""

import contextlib
import json
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.clientip import client_ip
from core.csrf import origin_checked
from core.http import link_error
from letters.languages import render_in_language
from letters.models import Letter

from ..models import Signature
from ..signing.tokens import LinkExpired, LinkInvalid, read_manage_token
from .forms import ManageLinkRequestForm, SignatureManageForm
from .services import (
    SignatureNotEditable,
    manage_link_send,
    signature_data_export,
    signature_update_public_fields,
    signature_withdraw,
)


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def manage_link_request(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask for a manage link by email; the answer never says whether the address signed."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    form = ManageLinkRequestForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            context = {"letter": letter, "form": form}
            return render(request, "petition/manage/request.html", context, status=400)
        manage_link_send(
            letter=letter, email=form.cleaned_data["email"], ip_address=client_ip(request)
        )
        return render(request, "petition/manage/request_sent.html", {"letter": letter})
    return render(request, "petition/manage/request.html", {"letter": letter, "form": form})


def signature_from_link(
    request: HttpRequest,
    slug: str,
    token: str,
    *,
    read: Callable[[str], tuple[int, int]] = read_manage_token,
    error: Callable[..., HttpResponse] | None = None,
) -> Signature | HttpResponse:
    """The signature a signer's link (a manage link, or what `read` reads) names on this
    letter, or the error page to answer with (`error`, by default the manage link's)."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    answer_error = error or _link_error
    try:
        signature_id, letter_id = read(token)
    except LinkExpired:
        return answer_error(request, letter, expired=True)
    except LinkInvalid:
        return answer_error(request, letter, expired=False)
    signature = letter.signatures.filter(pk=signature_id).first()
    if letter_id != letter.pk or signature is None:
        return answer_error(request, letter, expired=False)
    signature.letter = letter
    return signature


def _link_error(request: HttpRequest, letter: Letter, *, expired: bool) -> HttpResponse:
    return link_error(request, purpose="manage", letter=letter, expired=expired)


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def signature_manage(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """Show the signature; a POST changes its public choices."""
    signature = signature_from_link(request, slug, token)
    if isinstance(signature, HttpResponse):
        return signature
    letter = signature.letter
    editable = signature.status == Signature.Status.VERIFIED
    form = SignatureManageForm(
        request.POST if request.method == "POST" else None, signature=signature
    )
    status = 200
    if request.method == "POST":
        if not editable:
            status = 409
        elif form.is_valid():
            try:
                changed = signature_update_public_fields(
                    signature_id=signature.pk, fields=form.public_fields(), **form.choices()
                )
            except SignatureNotEditable:
                status = 409
            else:
                messages.success(
                    request, _("Your changes are saved.") if changed else _("Nothing changed.")
                )
                return redirect("signature_manage", slug=letter.slug, token=token)
        else:
            status = 400
    context = {
        "letter": letter,
        "signature": signature,
        "token": token,
        "form": form,
        "editable": editable,
    }
    # In the signer's language, with the letter's title in it where a translation exists.
    return render_in_language(
        request, "petition/manage/manage.html", context, language=signature.language, status=status
    )


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def signature_manage_withdraw(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET asks "are you sure?"; only the POST of its button withdraws."""
    signature = signature_from_link(request, slug, token)
    if isinstance(signature, HttpResponse):
        return signature
    letter = signature.letter
    if request.method == "POST":
        # A pending signature cannot be withdrawn; the manage page explains why.
        with contextlib.suppress(SignatureNotEditable):
            signature_withdraw(signature_id=signature.pk)
        return redirect("signature_manage", slug=letter.slug, token=token)
    if signature.status != Signature.Status.VERIFIED:
        return redirect("signature_manage", slug=letter.slug, token=token)
    context = {"letter": letter, "signature": signature, "token": token}
    return render_in_language(
        request, "petition/manage/withdraw.html", context, language=signature.language
    )


@never_cache
@require_GET
def signature_manage_data(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The signer's own data as a JSON download (reading it changes nothing)."""
    signature = signature_from_link(request, slug, token)
    if isinstance(signature, HttpResponse):
        return signature
    letter = signature.letter
    body = json.dumps(signature_data_export(signature=signature), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="signature-{letter.slug}.json"'
    return response
