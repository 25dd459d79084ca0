"""One way to write a date and a time, per language: the active language's DATE_FORMAT
and DATETIME_FORMAT, and wherever a time is shown, the time zone it is in."""

from datetime import date, datetime

from django.utils import formats, timezone


def date_display(day: date | datetime) -> str:
    """A day as the active language writes it (a time is first moved to the site's zone,
    so the day is the one the times on the page are in)."""
    if isinstance(day, datetime):
        day = timezone.localtime(day) if timezone.is_aware(day) else day
    return formats.date_format(day, "DATE_FORMAT")


def datetime_display(when: datetime) -> str:
    """A moment as the active language writes it, in the site's time zone, named."""
    local = timezone.localtime(when) if timezone.is_aware(when) else when
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} {local.tzname() or ''}".rstrip()
