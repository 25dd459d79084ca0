"""Template tag for the signatures-over-time chart on a letter's page."""

from django import template
from django.utils.safestring import mark_safe

from letters.models import Letter
from pages.charts import Chart, letter_chart

register = template.Library()


@register.simple_tag
def signature_chart(letter: Letter, count: int) -> Chart:
    """The chart's figures and markup (cached; see pages.charts)."""
    chart = letter_chart(letter, count).copy()
    if "svg" in chart:
        # Built by pages.charts from numbers and escaped labels only.
        chart["svg"] = mark_safe(chart["svg"])  # noqa: S308
    return chart
