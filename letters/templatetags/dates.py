"""Template filters writing dates and times one way (core.dates): `{{ value|day }}` and
`{{ value|moment }}` (with the time zone named)."""

from datetime import date, datetime

from django import template

from core.dates import date_display, datetime_display

register = template.Library()


@register.filter
def day(value: date | datetime | None) -> str:
    return date_display(value) if value else ""


@register.filter
def moment(value: datetime | None) -> str:
    return datetime_display(value) if isinstance(value, datetime) else ""
