"""`value|bdi`: user text isolated from the page's own words, for places where a plain
<bdi> element cannot be written around it, such as a value passed into a translated
sentence. A right-to-left name or a stray direction control then cannot reorder the
words around it ("(unverified)" read backwards)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter(is_safe=True)
def bdi(value: object) -> SafeString:
    return format_html("<bdi>{}</bdi>", value)
