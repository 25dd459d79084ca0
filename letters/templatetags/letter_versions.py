"""Template tags for the version line on a letter's page."""

from datetime import datetime

from django import template

from letters.models import Letter
from letters.versions import version_updated_at as _version_updated_at

register = template.Library()


@register.simple_tag
def version_updated_at(letter: Letter) -> datetime | None:
    """When the letter's current version was published (cached)."""
    return _version_updated_at(letter)
