"""Readers write to a letter's organisers: the message goes to every owner through the
outbox, and no owner's address is ever shown. The form needs no cookie (the origin is
checked, as for signing), a honeypot catches naive bots, and limits per network and per
letter stop floods."""

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.csrf import origin_checked
from core.ratelimit import rate_limits_exceeded
from core.text import PlainTextField, TextKind

from .models import Letter, LetterRole

MESSAGE_MAX_LENGTH = 3000


class ContactForm(forms.Form):
    name = PlainTextField(label=gettext_lazy("Your name"), max_length=120)
    email = forms.EmailField(
        label=gettext_lazy("Your email"),
        max_length=254,
        help_text=gettext_lazy("The organisers see it, so they can answer you."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    message = PlainTextField(
        label=gettext_lazy("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        kind=TextKind.PROSE,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    # Hidden from people and assistive technology: only a program fills it.
    website = forms.CharField(
        label=gettext_lazy("Leave this field empty"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )


@dataclass(frozen=True)
class ContactMessage:
    name: str
    email: str
    message: str


def letter_owner_emails(letter: Letter) -> list[str]:
    owners = LetterRole.objects.filter(letter=letter, role=LetterRole.Role.OWNER)
    return sorted(
        get_user_model()
        .objects.filter(pk__in=owners.values("user_id"), is_active=True)
        .values_list("email", flat=True)
    )


@transaction.atomic
def letter_contact_send(*, letter: Letter, message: ContactMessage) -> int:
    """Queue the reader's message to each owner of the letter; returns how many emails."""
    from mail.models import OutboundEmail
    from mail.outbox import outbox_enqueue_message

    recipients = letter_owner_emails(letter)
    context = {
        "letter": letter,
        "message": message,
        "letter_url": settings.SITE_URL + letter.get_absolute_url(),
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
    }
    subject = _("Message about “%(title)s” from %(name)s") % {
        "title": letter.title,
        "name": message.name,
    }
    body = render_to_string("letters/email/contact.txt", context)
    for to in recipients:
        # Answering with the mail client's Reply button writes to the reader.
        outbox_enqueue_message(
            kind=OutboundEmail.Kind.CONTACT,
            to=to,
            subject=subject,
            body_text=body,
            reply_to=message.email,
        )
    return len(recipients)


def contact_limited(*, letter: Letter, ip_group: str) -> bool:
    return bool(
        rate_limits_exceeded(
            [
                ("contact_ip", f"contact:ip:{ip_group}"),
                ("contact_letter", f"contact:l:{letter.pk}"),
            ],
            what="contact",
        )
    )


@origin_checked
@never_cache
@require_http_methods(["GET", "POST"])
def letter_contact(request: HttpRequest, slug: str) -> HttpResponse:
    from core.clientip import client_ip
    from core.normalize import ip_group

    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    has_owners = bool(letter_owner_emails(letter))
    form = ContactForm(request.POST or None)
    context = {"letter": letter, "form": form, "has_owners": has_owners}
    if request.method == "GET" or not has_owners:
        return render(request, "letters/contact.html", context, status=200 if has_owners else 404)
    if not form.is_valid():
        return render(request, "letters/contact.html", context, status=400)
    if contact_limited(letter=letter, ip_group=ip_group(client_ip(request))):
        context["limited"] = True
        return render(request, "letters/contact.html", context, status=429)
    if not form.cleaned_data["website"]:
        data = form.cleaned_data
        letter_contact_send(
            letter=letter,
            message=ContactMessage(name=data["name"], email=data["email"], message=data["message"]),
        )
    # A filled honeypot gets the same answer, so a bot learns nothing.
    return render(request, "letters/contact_sent.html", {"letter": letter})
