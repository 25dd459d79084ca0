"""What the layers above register for the mail layer to call: mail never imports them.

The petition app registers how to render a signature's email (a verification or manage
link, made when the email is sent)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.core.mail import EmailMultiAlternatives

    from .models import OutboundEmail

SignatureRenderer = Callable[["OutboundEmail"], "EmailMultiAlternatives"]

_signature_renderer: SignatureRenderer | None = None


def signature_renderer_register(renderer: SignatureRenderer) -> None:
    global _signature_renderer
    _signature_renderer = renderer


def signature_renderer() -> SignatureRenderer:
    if _signature_renderer is None:
        raise RuntimeError("no app registered how to render a signature's email")
    return _signature_renderer
