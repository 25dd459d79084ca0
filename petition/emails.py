"""The emails sent to signers, rendered from templates with absolute links."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from letters.languages import letter_in_language
from mail.models import OutboundEmail

from .signing.tokens import make_manage_token, make_verification_token

MANAGE_LINK_KINDS = (
    OutboundEmail.Kind.VERIFY,
    OutboundEmail.Kind.ALREADY_SIGNED,
    OutboundEmail.Kind.MANAGE,
)


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _subject(outbound: OutboundEmail, *, title: str) -> str:
    if outbound.kind == OutboundEmail.Kind.VERIFY:
        subject = _("Confirm your signature: %(title)s") % {"title": title}
    elif outbound.kind == OutboundEmail.Kind.MANAGE:
        subject = _("Manage your signature: %(title)s") % {"title": title}
    elif outbound.kind == OutboundEmail.Kind.RECONFIRM:
        subject = _("The letter you signed has changed: %(title)s") % {"title": title}
    else:
        subject = _("You have already signed: %(title)s") % {"title": title}
    # A header never carries a line break, whatever the title holds.
    return " ".join(subject.split())


def build_signature_email(outbound: OutboundEmail) -> EmailMultiAlternatives:
    signature = outbound.signature
    if signature is None:
        raise ValueError(f"Outbound email {outbound.pk} is about no signature.")
    # In the language of the page the signer signed on, while the letter still has it.
    letter = letter_in_language(signature.letter, signature.language)
    with translation.override(letter.page_language):
        context = {
            "signature": signature,
            "letter": letter,
            "letter_url": absolute_url(letter.get_absolute_url()),
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "privacy_url": absolute_url(reverse("privacy")),
        }
        if outbound.kind in MANAGE_LINK_KINDS:
            # Signed when sent, not when queued, so the link's lifetime starts in the inbox.
            # One email per signature: the verification email carries the manage link too
            # (it works once the signature is confirmed), and so does "already signed".
            token = make_manage_token(signature_id=signature.pk, letter_id=letter.pk)
            context["manage_url"] = absolute_url(
                reverse("signature_manage", kwargs={"slug": letter.slug, "token": token})
            )
            context["request_url"] = absolute_url(
                reverse("signature_manage_request", kwargs={"slug": letter.slug})
            )
            context["manage_valid_days"] = max(1, settings.PETITION_MANAGE_LINK_MAX_AGE // 86400)
            context["valid_days"] = context["manage_valid_days"]
        if outbound.kind == OutboundEmail.Kind.VERIFY:
            token = make_verification_token(signature_id=signature.pk, letter_id=letter.pk)
            context["confirm_url"] = absolute_url(
                reverse("signature_confirm", kwargs={"slug": letter.slug, "token": token})
            )
            context["valid_days"] = max(1, settings.PETITION_VERIFY_LINK_MAX_AGE // 86400)
        if outbound.kind == OutboundEmail.Kind.RECONFIRM:
            from .reconfirm.services import reconfirm_email_context

            context.update(reconfirm_email_context(signature))
        template = f"petition/email/{outbound.kind}"
        message = EmailMultiAlternatives(
            subject=_subject(outbound, title=letter.title),
            body=render_to_string(f"{template}.txt", context),
            to=[signature.email],
            headers={
                "Auto-Submitted": "auto-generated",
                "X-Undersigned-Email": f"{outbound.kind}-{outbound.pk}",
            },
        )
        message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
