"""Template tag for the signatures-over-time chart on a letter's page."""

from django import template
from django.utils.safestring import mark_safe

from letters.charts import Chart, letter_chart
from letters.models import Letter

register = template.Library()


@register.simple_tag
def signature_chart(letter: Letter, count: int) -> Chart:
    """The chart's figures and markup (cached; see letters.charts)."""
    chart = letter_chart(letter, count).copy()
    if "svg" in chart:
        # Built by letters.charts from numbers and escaped labels only.
        chart["svg"] = mark_safe(chart["svg"])  # noqa: S308
    return chart
