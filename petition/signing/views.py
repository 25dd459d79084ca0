import logging
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.clientip import client_ip
from core.csrf import origin_checked
from core.http import link_error
from letters.languages import letter_translation, render_in_language
from letters.models import Letter, LetterTranslation
from mail.metrics import verification_delay_seconds

from ..models import Signature
from ..moderation.defences import letter_under_attack
from ..selectors import letter_signature_count
from .challenge import challenge_issue, challenge_verify
from .forms import SignatureForm
from .services import LetterNotAcceptingSignatures, signature_create, signature_verify
from .tokens import LinkExpired, LinkInvalid, read_verification_token

logger = logging.getLogger(__name__)


class LetterPage(Protocol):
    def __call__(
        self,
        request: HttpRequest,
        letter: Letter,
        *,
        translation: LetterTranslation | None,
        form: SignatureForm,
        status: int,
    ) -> HttpResponse: ...


# What signing and confirming read of a letter: whether it takes signatures, its version
# and languages, the fields the signer may fill, and the title and address the pages show.
# The rest (its text above all) stays in the database; the letter page, shown again with a
# form's errors, reads the whole letter.
SIGNING_LETTER_FIELDS = ("slug", "title", "status", "closes_at", "language", "version",
                         "signer_fields", "premoderate_comments")  # fmt: skip


def _signing_letter(slug: str) -> Letter:
    return get_object_or_404(Letter.objects.public().only(*SIGNING_LETTER_FIELDS), slug=slug)


def _closed_response(request: HttpRequest, letter: Letter) -> HttpResponse:
    return render(request, "petition/letter_closed.html", {"letter": letter}, status=403)


@origin_checked
@require_POST
def signature_submit(request: HttpRequest, slug: str, *, letter_page: LetterPage) -> HttpResponse:
    """Sign: a valid form stores an attempt and mails its link; a form with errors is shown
    again on the letter's page (`letter_page`, drawn by the layer above: see the URLconf)."""
    letter = _signing_letter(slug)
    if not letter.is_accepting_signatures:
        return _closed_response(request, letter)
    form = SignatureForm(request.POST, letter=letter)
    if not form.is_valid():
        # Shown again in the language of the page it came from.
        letter = Letter.objects.get(pk=letter.pk)
        found = letter_translation(letter, form.cleaned_data.get("language"))
        return letter_page(request, letter, translation=found, form=form, status=400)
    try:
        signature_create(
            letter=letter,
            data=form.to_data(),
            ip_address=client_ip(request),
            honeypot=form.honeypot_filled,
            hold=_challenge_failed(request, letter),
        )
    except LetterNotAcceptingSignatures:
        return _closed_response(request, letter)
    # The same answer whether the address is new, pending or already verified.
    submitted = reverse("signature_submitted", kwargs={"slug": letter.slug})
    language = form.cleaned_data["language"]
    return redirect(submitted if language == letter.language else f"{submitted}?lang={language}")


def _challenge_failed(request: HttpRequest, letter: Letter) -> bool:
    """Under attack, whether the bot challenge went unsolved (no script, a bot, a stale or
    reused answer): the signature is then held for moderation, the answer the same."""
    if not letter_under_attack(letter):
        return False
    return not challenge_verify(
        letter_id=letter.pk,
        salt=request.POST.get("pow_salt", ""),
        number=request.POST.get("pow_number", ""),
        signature=request.POST.get("pow_signature", ""),
    )


@never_cache
@require_GET
def signature_challenge(request: HttpRequest, slug: str) -> HttpResponse:
    """A fresh bot challenge for the signing form's script (static/js/pow.js)."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    if not letter.is_accepting_signatures:
        return JsonResponse({"error": "closed"}, status=403)
    return JsonResponse(challenge_issue(letter_id=letter.pk).to_json())


@require_GET
def signature_submitted(request: HttpRequest, slug: str) -> HttpResponse:
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    return render_in_language(
        request,
        "petition/signature_submitted.html",
        {"letter": letter, "mail_delay_minutes": _mail_delay_minutes()},
        language=request.GET.get("lang", "")[:10],
    )


def _mail_delay_minutes() -> int:
    """How many minutes verification emails are running behind, when that is more than a
    few (0 otherwise), for the page to say so."""
    delay = verification_delay_seconds()
    return max(1, round(delay / 60)) if delay > settings.EMAIL_BEHIND_SECONDS else 0


# What the confirmation page and its "already confirmed" twin show of a signature.
CONFIRM_PAGE_FIELDS = ("letter_id", "status", "name", "title", "organization", "show_name",
                       "language")  # fmt: skip


def _link_error(request: HttpRequest, letter: Letter, *, expired: bool) -> HttpResponse:
    return link_error(request, purpose="confirm", letter=letter, expired=expired)


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def signature_confirm(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET shows what is being confirmed; only the POST of its button verifies, so mail
    scanners that fetch links cannot sign on someone's behalf."""
    letter = _signing_letter(slug)
    try:
        signature_id, letter_id = read_verification_token(token)
    except LinkExpired:
        return _link_error(request, letter, expired=True)
    except LinkInvalid:
        return _link_error(request, letter, expired=False)
    if letter_id != letter.pk:
        return _link_error(request, letter, expired=False)

    if request.method == "GET":
        signature = (
            Signature.objects.filter(pk=signature_id, letter_id=letter.pk)
            .only(*CONFIRM_PAGE_FIELDS)
            .first()
        )
        if signature is None:
            return _link_error(request, letter, expired=False)
        template = (
            "petition/signature_confirm.html"
            if signature.status == signature.Status.PENDING
            else "petition/signature_confirmed.html"
        )
        context = {"letter": letter, "signature": signature, "newly_verified": False}
        if template.endswith("confirmed.html"):
            context["signature_count"] = letter_signature_count(letter)
        return render_in_language(request, template, context, language=signature.language)

    # Read before verifying, so it cannot include this signature yet: newly verified, it is
    # added here (the tally folds it in within seconds; the signer sees it now).
    count = letter_signature_count(letter)
    try:
        signature, newly_verified = signature_verify(
            signature_id=signature_id, letter_id=letter.pk, letter=letter
        )
    except LinkInvalid:
        return _link_error(request, letter, expired=False)
    if newly_verified:
        count += 1
    return render_in_language(
        request,
        "petition/signature_confirmed.html",
        {
            "letter": letter,
            "signature": signature,
            "newly_verified": newly_verified,
            "signature_count": count,
        },
        language=signature.language,
    )
