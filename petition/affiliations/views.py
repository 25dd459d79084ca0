"""Pages for verifying affiliations. Views stay thin: forms check the input, services in
petition/affiliations.py write, audit and queue the email.

Links never act on GET (mail scanners fetch them): the emailed link opens a page whose
button POSTs the confirmation.
"""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.clientip import client_ip
from core.csrf import origin_checked
from core.http import link_error
from letters.models import AffiliationVerification, Letter
from letters.permissions import ANY_ROLE, OWNER, letter_role_required

from ..models import Signature
from ..selfservice.views import signature_from_link
from ..signing.tokens import LinkExpired, LinkInvalid
from .forms import AddressAtDomainForm, TeamCheckForm, VerificationOpForm
from .services import (
    AffiliationError,
    affiliation_confirm,
    affiliation_link_target,
    affiliation_text,
    named_affiliation_email_send,
    named_affiliation_set,
    read_affiliation_token,
    signature_affiliation_check,
    signature_affiliation_email_send,
    signature_affiliation_set,
)

# --- The signer, from their manage link ------------------------------------------------


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def signature_affiliation_request(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET: the affiliation and a form for the organization's domain and an address there.
    POST: queue the verification email to that address."""
    signature = signature_from_link(request, slug, token)
    if isinstance(signature, HttpResponse):
        return signature
    letter = signature.letter
    form = AddressAtDomainForm(
        request.POST if request.method == "POST" else None,
        initial={"domain": signature.affiliation_domain},
    )
    problem = None
    try:
        signature_affiliation_check(signature)
    except AffiliationError as error:
        problem = error
    status = 200
    if request.method == "POST":
        if problem is not None:
            status = problem.status
        elif not form.is_valid():
            status = 400
        else:
            try:
                signature_affiliation_email_send(
                    signature_id=signature.pk,
                    domain=form.cleaned_data["domain"],
                    email=form.cleaned_data["email"],
                    ip_address=client_ip(request),
                )
            except AffiliationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
                status = error.status
            else:
                context = {
                    "letter": letter,
                    "token": token,
                    "email": form.cleaned_data["email"],
                    "domain": form.cleaned_data["domain"],
                }
                return render(request, "petition/affiliation/sent.html", context)
    context = {
        "letter": letter,
        "signature": signature,
        "affiliation": affiliation_text(signature),
        "token": token,
        "form": form,
        "problem": problem,
    }
    return render(request, "petition/affiliation/request.html", context, status=status)


# --- The emailed link ------------------------------------------------------------------


def _link_error(
    request: HttpRequest, *, message: str = "", expired: bool = False, status: int | None = None
) -> HttpResponse:
    return link_error(
        request, purpose="affiliation", expired=expired, message=message, status=status
    )


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def affiliation_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what the link would verify; only the POST of its button verifies."""
    try:
        link = read_affiliation_token(token)
        if request.method == "POST":
            affiliation_confirm(link=link)
            return redirect("affiliation_confirm", token=token)
        target = affiliation_link_target(link)
    except LinkExpired:
        return _link_error(request, expired=True)
    except LinkInvalid:
        return _link_error(request)
    except AffiliationError as error:
        return _link_error(request, message=error.message, status=error.status)
    context = {
        "target": target,
        "letter": target.letter,
        "person_name": target.item.name,
        "affiliation": affiliation_text(target.item),
        "domain": link.domain,
        "named": not isinstance(target.item, Signature),
        "done": target.already_verified,
    }
    return render(request, "petition/affiliation/confirm.html", context)


# --- Moderators: one signature at a time, from the queue -------------------------------


def _back_to(request: HttpRequest, default: str) -> str:
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default


@require_POST
@letter_role_required(*ANY_ROLE)
def moderation_affiliation(
    request: HttpRequest, letter: Letter, role: str, signature_id: int
) -> HttpResponse:
    """Verify a signature's affiliation as a moderator's check, or remove its verification."""
    back = _back_to(request, reverse("moderation_queue", kwargs={"slug": letter.slug}))
    op_form = VerificationOpForm(request.POST)
    check_form = TeamCheckForm(request.POST)
    if not op_form.is_valid() or op_form.cleaned_data["op"] == "email":
        messages.error(
            request, _("Choose to verify the affiliation or to remove its verification.")
        )
        return HttpResponseRedirect(back)
    verify = op_form.cleaned_data["op"] == "verify"
    if verify and not check_form.is_valid():
        for error in check_form.errors.get("domain", []):
            messages.error(request, str(error))
        return HttpResponseRedirect(back)
    try:
        signature = signature_affiliation_set(
            letter=letter,
            actor=request.user,
            signature_id=signature_id,
            verified=verify,
            domain=check_form.cleaned_data.get("domain", "") if verify else "",
        )
    except AffiliationError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    if verify:
        message = _("Affiliation of %(name)s marked as checked by a moderator.")
    else:
        message = _("Verification of %(name)s's affiliation removed.")
    messages.success(request, message % {"name": signature.name})
    return HttpResponseRedirect(back)


# --- Owners: the letter's named signatories --------------------------------------------


def _named_rows(letter: Letter, bound: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per named signatory with its two forms; `bound` replaces one row's form
    with the submitted one, to show its errors."""
    rows = []
    for person in letter.named_signatories.all():
        row = {
            "person": person,
            "verified": person.affiliation_verification != AffiliationVerification.NONE,
            "check_form": TeamCheckForm(
                prefix=f"n{person.pk}-check", initial={"domain": person.affiliation_domain}
            ),
            "email_form": AddressAtDomainForm(
                prefix=f"n{person.pk}-email", initial={"domain": person.affiliation_domain}
            ),
        }
        if bound and bound["named_id"] == person.pk:
            row[bound["which"]] = bound["form"]
            row["error"] = bound.get("error", "")
        rows.append(row)
    return rows


def _named_page(
    request: HttpRequest,
    letter: Letter,
    role: str,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "letter": letter,
        "role": role,
        "section": "team",
        "rows": _named_rows(letter, bound),
    }
    return render(request, "petition/affiliation/named.html", context, status=status)


@never_cache
@require_GET
@letter_role_required(OWNER)
def named_affiliations(request: HttpRequest, letter: Letter, role: str) -> HttpResponse:
    """Each named signatory's affiliation and how to verify it."""
    return _named_page(request, letter, role)


@require_POST
@letter_role_required(OWNER)
def named_affiliation_action(
    request: HttpRequest, letter: Letter, role: str, named_id: int
) -> HttpResponse:
    """Mark a named signatory verified by the team, email them a verification link, or
    remove the verification."""
    op_form = VerificationOpForm(request.POST)
    if not op_form.is_valid():
        messages.error(request, _("Choose what to do with this affiliation."))
        return redirect("named_affiliations", slug=letter.slug)
    op = op_form.cleaned_data["op"]
    if op == "email":
        form: Any = AddressAtDomainForm(request.POST, prefix=f"n{named_id}-email")
        which = "email_form"
    else:
        form = TeamCheckForm(request.POST, prefix=f"n{named_id}-check")
        which = "check_form"
    bound = {"named_id": named_id, "which": which, "form": form}
    if op != "unverify" and not form.is_valid():
        return _named_page(request, letter, role, bound, status=400)
    try:
        if op == "email":
            named_affiliation_email_send(
                letter=letter,
                actor=request.user,
                named_id=named_id,
                domain=form.cleaned_data["domain"],
                email=form.cleaned_data["email"],
            )
            message = _("Verification email sent to the address at %(domain)s.") % {
                "domain": form.cleaned_data["domain"]
            }
        else:
            person = named_affiliation_set(
                letter=letter,
                actor=request.user,
                named_id=named_id,
                verified=op == "verify",
                domain=form.cleaned_data.get("domain", "") if op == "verify" else "",
            )
            if op == "verify":
                message = _("%(name)s's affiliation marked as checked by a moderator.")
            else:
                message = _("Verification of %(name)s's affiliation removed.")
            message %= {"name": person.name}
    except AffiliationError as error:
        if error.status == 404:
            raise Http404(error.message) from None
        if op == "unverify":
            bound["error"] = error.message
        else:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        return _named_page(request, letter, role, bound, status=error.status)
    messages.success(request, message)
    return redirect(
        f"{reverse('named_affiliations', kwargs={'slug': letter.slug})}#named-{named_id}"
    )
