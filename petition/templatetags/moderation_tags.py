"""Template filters for the moderation pages."""

from django import template

register = template.Library()


@register.filter
def mask_email(email: str) -> str:
    """Enough of an address to tell signers apart and judge the domain, not to contact them."""
    local, _at, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"
