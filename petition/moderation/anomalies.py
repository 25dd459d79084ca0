"""Anomaly flags: signs that signatures may not be what they claim, for moderators to weigh.

A periodic scan looks at the recent signatures of every letter and flags bursts from one
IP address (an IPv6 /64) or email domain within an hour, disposable addresses, names that appear more
than once, and names on the moderators' watch list. A flag changes nothing by itself: it
highlights a signature in the moderation queue, with its reason.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache

from disposable_email_domains import blocklist
from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, Count, Expression, F, QuerySet, When
from django.db.models.functions import Substr, TruncHour
from django.utils import timezone

from core.normalize import IPV4_KEY_PREFIX, IPV6_GROUP_KEY_DIGITS, is_common_provider
from letters.models import Letter

from ..models import Signature, WatchedName

logger = logging.getLogger(__name__)
Flag = Signature.Flag


@lru_cache(maxsize=1)
def _disposable_domains() -> frozenset[str]:
    extra = {domain.strip().lower() for domain in settings.ANOMALY_EXTRA_DISPOSABLE_DOMAINS}
    return frozenset(blocklist) | extra


def is_disposable_domain(domain: str) -> bool:
    """Whether the domain, or a domain it belongs to, hands out throwaway addresses."""
    domains = _disposable_domains()
    parts = domain.lower().split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


def _add_flag(signature_ids: Iterable[int], flag: str) -> int:
    """Add `flag` to these signatures' flags; returns how many gained it."""
    ids = list(signature_ids)
    changed = 0
    for start in range(0, len(ids), 1000):
        with transaction.atomic():
            rows = list(
                Signature.objects.select_for_update()
                .filter(pk__in=ids[start : start + 1000])
                .only("pk", "flags")
            )
            stale = [row for row in rows if flag not in row.flag_list]
            for row in stale:
                row.flags = ",".join(sorted({*row.flag_list, flag}))
            Signature.objects.bulk_update(stale, ["flags"])
            changed += len(stale)
    return changed


def _ip_group_key() -> Case:
    """ip_key cut to the network one client controls (normalize.ip_group): the whole key
    of an IPv4 address, the /64 of an IPv6 one."""
    return Case(
        When(ip_key__startswith=IPV4_KEY_PREFIX, then=F("ip_key")),
        default=Substr("ip_key", 1, IPV6_GROUP_KEY_DIGITS),
        output_field=CharField(),
    )


def _bursts(
    recent: QuerySet[Signature], field: str, threshold: int, *, key: Expression | None = None
) -> list[int]:
    """Ids of recent signatures in an hour where one value of `field` (or of `key`, an
    expression that starts `field`) has `threshold` or more signatures."""
    groups = (
        recent.exclude(**{field: ""})
        .annotate(bucket=key or F(field), hour=TruncHour("created_at"))
        .values("bucket", "hour")
        .annotate(n=Count("id"))
        .filter(n__gte=threshold)
        .values_list("bucket", "hour")
    )
    ids: list[int] = []
    for value, hour in groups:
        if field == "email_domain" and is_common_provider(value):
            continue
        lookup = {f"{field}__startswith" if key is not None else field: value}
        ids.extend(
            recent.filter(
                **lookup, created_at__gte=hour, created_at__lt=hour + timedelta(hours=1)
            ).values_list("pk", flat=True)
        )
    return ids


def letter_flag_anomalies(*, letter: Letter, since: timedelta | None = None) -> dict[str, int]:
    """Flag the letter's recent signatures (default: ANOMALY_WINDOW_HOURS); returns how many
    signatures gained each flag."""
    window = since or timedelta(hours=settings.ANOMALY_WINDOW_HOURS)
    recent = Signature.objects.filter(letter=letter, created_at__gte=timezone.now() - window)
    found: dict[str, int] = {}
    found[Flag.BURST_IP] = _add_flag(
        _bursts(recent, "ip_key", settings.ANOMALY_BURST_PER_IP, key=_ip_group_key()),
        Flag.BURST_IP,
    )
    found[Flag.BURST_DOMAIN] = _add_flag(
        _bursts(recent, "email_domain", settings.ANOMALY_BURST_PER_DOMAIN), Flag.BURST_DOMAIN
    )
    recent_domains = set(recent.values_list("email_domain", flat=True).distinct())
    disposable = [domain for domain in recent_domains if is_disposable_domain(domain)]
    found[Flag.DISPOSABLE] = _add_flag(
        recent.filter(email_domain__in=disposable).values_list("pk", flat=True), Flag.DISPOSABLE
    )
    recent_names = set(recent.exclude(name_key="").values_list("name_key", flat=True))
    duplicated = (
        Signature.objects.filter(letter=letter, name_key__in=recent_names)
        .values("name_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("name_key", flat=True)
    )
    found[Flag.DUPLICATE_NAME] = _add_flag(
        Signature.objects.filter(letter=letter, name_key__in=list(duplicated)).values_list(
            "pk", flat=True
        ),
        Flag.DUPLICATE_NAME,
    )
    found[Flag.WATCHED_NAME] = watched_names_flag(letter=letter, recent_only=recent)
    return {flag: n for flag, n in found.items() if n}


def watched_names_flag(*, letter: Letter, recent_only: QuerySet[Signature] | None = None) -> int:
    """Flag signatures whose name is on the letter's watch list; returns how many."""
    keys = list(WatchedName.objects.filter(letter=letter).values_list("name_key", flat=True))
    if not keys:
        return 0
    scope = recent_only if recent_only is not None else Signature.objects.filter(letter=letter)
    return _add_flag(
        scope.filter(name_key__in=keys).values_list("pk", flat=True), Flag.WATCHED_NAME
    )


def anomalies_flag_all() -> dict[str, dict[str, int]]:
    """Scan every letter with recent signatures; log and return what was flagged."""
    cutoff = timezone.now() - timedelta(hours=settings.ANOMALY_WINDOW_HOURS)
    letter_ids = (
        Signature.objects.filter(created_at__gte=cutoff).values_list("letter_id", flat=True)
    ).distinct()
    report: dict[str, dict[str, int]] = {}
    for letter in Letter.objects.filter(pk__in=list(letter_ids)):
        found = letter_flag_anomalies(letter=letter)
        if found:
            report[letter.slug] = found
            logger.info("anomaly scan flagged on %s: %s", letter.slug, found)
    return report
