"""What operators see of the mail: the outbox's queue by kind, the send rate, failures and
bounces per hour, the suppression list. Every figure comes from indexed queries over the
outbox; the cheap ones for /health/ and the signer's page are
cached a few seconds."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min
from django.db.models.functions import TruncHour
from django.utils import timezone

from core.cache import cache_get, cache_set

from .models import OutboundEmail, Suppression

_CACHE_SECONDS = 10


@dataclass(frozen=True)
class HourFigures:
    hour: datetime
    sent: int
    failed: int
    bounced: int


@dataclass(frozen=True)
class MailFigures:
    queued_by_kind: dict[str, int]
    oldest_queued_seconds: int | None
    sent_last_minute: int
    sent_last_hour: int
    failed_last_hour: int
    bounced_last_hour: int
    suppressed: int
    hours: list[HourFigures]

    @property
    def queued(self) -> int:
        return sum(self.queued_by_kind.values())


def _age_seconds(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


def _per_hour(rows: Iterable[Mapping[str, Any]]) -> dict[datetime, int]:
    return {row["hour"]: row["n"] for row in rows if row["hour"] is not None}


def mail_figures(*, hours: int = 24) -> MailFigures:
    """Every figure of the staff page (uncached: staff only)."""
    now = timezone.now()
    suppressed = Suppression.objects.count()
    emails = OutboundEmail.objects
    queued = emails.filter(state="queued")
    by_kind = dict(
        queued.values_list("kind").annotate(n=Count("pk")).order_by("kind").values_list("kind", "n")
    )
    oldest = queued.aggregate(oldest=Min("created_at"))["oldest"]
    since = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    series = {}
    for field in ("sent_at", "failed_at", "bounced_at"):
        rows = (
            emails.filter(**{f"{field}__gte": since})
            .annotate(hour=TruncHour(field))
            .values("hour")
            .annotate(n=Count("pk"))
            .order_by()
        )
        series[field] = _per_hour(rows)
    hour_list = [since + timedelta(hours=i) for i in range(hours)]
    hour_ago = now - timedelta(hours=1)
    return MailFigures(
        queued_by_kind=by_kind,
        oldest_queued_seconds=_age_seconds(oldest, now),
        sent_last_minute=emails.filter(sent_at__gte=now - timedelta(minutes=1)).count(),
        sent_last_hour=emails.filter(sent_at__gte=hour_ago).count(),
        failed_last_hour=emails.filter(failed_at__gte=hour_ago).count(),
        bounced_last_hour=emails.filter(bounced_at__gte=hour_ago).count(),
        suppressed=suppressed,
        hours=[
            HourFigures(
                hour=h,
                sent=series["sent_at"].get(h, 0),
                failed=series["failed_at"].get(h, 0),
                bounced=series["bounced_at"].get(h, 0),
            )
            for h in reversed(hour_list)
        ],
    )


def mail_health() -> dict[str, int | None]:
    """The outbox in a few numbers for /health/ (cached a few seconds)."""
    cached = cache_get("mail:health")
    if cached is not None:
        return dict(cached)
    now = timezone.now()
    emails = OutboundEmail.objects
    hour_ago = now - timedelta(hours=1)
    oldest = emails.filter(state="queued").aggregate(oldest=Min("created_at"))["oldest"]
    report: dict[str, int | None] = {
        "queued": emails.filter(state="queued").count(),
        "oldest_queued_seconds": _age_seconds(oldest, now),
        "sent_last_hour": emails.filter(sent_at__gte=hour_ago).count(),
        "failed_last_hour": emails.filter(failed_at__gte=hour_ago).count(),
        "bounced_last_hour": emails.filter(bounced_at__gte=hour_ago).count(),
    }
    cache_set("mail:health", report, timeout=_CACHE_SECONDS)
    return report


def verification_delay_seconds() -> int:
    """How long the oldest unsent verification email has waited (0 if none), cached a few
    seconds: the "check your inbox" page asks on every view."""
    cached = cache_get("mail:verify-delay")
    if cached is not None:
        return int(cached)
    oldest = (
        OutboundEmail.objects.filter(state="queued", kind=OutboundEmail.Kind.VERIFY)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    delay = _age_seconds(oldest, timezone.now()) or 0
    cache_set("mail:verify-delay", delay, timeout=_CACHE_SECONDS)
    return delay
