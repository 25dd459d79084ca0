"""Anomaly flags: signs that signatures may not be what they claim, for moderators to weigh.

A periodic scan looks at the recent signatures of every letter and flags bursts from one
IP address (an IPv6 /64) or email domain within an hour, disposable addresses, names that appear more
than once, names nearly the same as another's (trigram similarity on PostgreSQL with
pg_trgm; elsewhere the same words in any order, or the same consonants), the same name from
one network (an IPv4 /24, an IPv6 /64), and names on the moderators' watch list. A flag
changes nothing by itself: it highlights a signature in the moderation queue, with its
reason. Without a scheduler (the embedded default runs no beat), signing runs the letter's
scan itself after its commit.
"""

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from functools import lru_cache

from disposable_email_domains import blocklist
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Expression, F, QuerySet, When
from django.db.models.functions import Substr, TruncHour
from django.utils import timezone

from core.normalize import IPV4_KEY_PREFIX, IPV6_GROUP_KEY_DIGITS, is_common_provider
from letters.models import Letter

from ..models import Signature, WatchedName
from .selectors import network_key

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
    found[Flag.NEAR_DUPLICATE_NAME] = _add_flag(
        near_duplicate_names(letter, recent), Flag.NEAR_DUPLICATE_NAME
    )
    found[Flag.SAME_NAME_NETWORK] = _add_flag(
        same_name_one_network(letter, recent), Flag.SAME_NAME_NETWORK
    )
    found[Flag.WATCHED_NAME] = watched_names_flag(letter=letter, recent_only=recent)
    return {flag: n for flag, n in found.items() if n}


# How alike two names must be (pg_trgm's similarity, 0 to 1) to be flagged; exact
# duplicates have their own flag.
NEAR_NAME_SIMILARITY = 0.7
# Names shorter than this (in characters of name_key) are too common to compare fuzzily.
NEAR_NAME_MIN_LENGTH = 6
# Both checks compare at most this many recent signatures, and only with each other: a
# flood of patterned names ("Signer 000001", "Signer 000002"…) makes every pair a match,
# so comparing the window with the whole letter would grow with the square of its size.
NEAR_NAME_WINDOW = 2000


@lru_cache(maxsize=1)
def _trigram_available() -> bool:
    """Whether this database can compare names by trigram (PostgreSQL with pg_trgm)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def near_duplicate_names(letter: Letter, recent: QuerySet[Signature]) -> list[int]:
    """Ids of signatures (recent ones and their look-alikes) whose name is nearly, but not
    exactly, another signature's on the same letter."""
    if _trigram_available():
        return _near_names_trigram(letter, recent)
    return _near_names_portable(letter, recent)


def _near_names_trigram(letter: Letter, recent: QuerySet[Signature]) -> list[int]:
    # `%` finds candidates through the GIN index (at pg_trgm's own threshold); similarity()
    # then keeps the close ones.
    recent_ids = list(
        recent.exclude(name_key="").order_by("-pk").values_list("pk", flat=True)[:NEAR_NAME_WINDOW]
    )
    if not recent_ids:
        return []
    sql = """
        SELECT a.id, b.id FROM petition_signature a
        JOIN petition_signature b
          ON b.letter_id = a.letter_id AND b.id <> a.id AND b.name_key <> a.name_key
         AND b.id = ANY(%s) AND b.name_key %% a.name_key
        WHERE a.letter_id = %s AND a.id = ANY(%s) AND length(a.name_key) >= %s
          AND length(b.name_key) >= %s AND similarity(a.name_key, b.name_key) >= %s
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                recent_ids,
                letter.pk,
                recent_ids,
                NEAR_NAME_MIN_LENGTH,
                NEAR_NAME_MIN_LENGTH,
                NEAR_NAME_SIMILARITY,
            ],
        )
        return sorted({pk for pair in cursor.fetchall() for pk in pair})


def _fuzzy_keys(key: str) -> tuple[str, str]:
    """Two coarse forms of a name_key: its words in order (so "fox dana" is "dana fox"), and
    its consonants with repeats dropped (so "dana foxx" and "dana fox" agree)."""
    words = " ".join(sorted(key.split()))
    letters = unicodedata.normalize("NFKD", words.replace(" ", ""))
    consonants = re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouy]", "", letters))
    # Too few consonants say little: "ana li" and "ann lee" need not be one person.
    return words, consonants if len(consonants) >= 4 else words


def _near_names_portable(letter: Letter, recent: QuerySet[Signature]) -> list[int]:
    rows = list(
        recent.exclude(name_key="").order_by("-pk").values_list("pk", "name_key")[:NEAR_NAME_WINDOW]
    )
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pk, key in rows:
        if len(key) < NEAR_NAME_MIN_LENGTH:
            continue
        for fuzzy in set(_fuzzy_keys(key)):
            groups[fuzzy].append((pk, key))
    ids: set[int] = set()
    for members in groups.values():
        if len({key for _pk, key in members}) > 1:
            ids.update(pk for pk, _key in members)
    return sorted(ids)


def same_name_one_network(letter: Letter, recent: QuerySet[Signature]) -> list[int]:
    """Ids of recent signatures sharing a name with another from the same network."""
    groups = (
        recent.exclude(name_key="")
        .exclude(ip_key="")
        .annotate(network=network_key())
        .values("name_key", "network")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("name_key", "network")
    )
    ids: list[int] = []
    for key, network in groups:
        ids.extend(
            recent.filter(name_key=key, ip_key__startswith=network).values_list("pk", flat=True)
        )
    return ids


def anomalies_soon(letter_id: int) -> None:
    """After a signature is stored: with tasks inline (the embedded default, which runs no
    scheduler) scan the letter now, so its flags do not wait for a beat that never comes;
    with a worker, beat's periodic scan does it."""
    from celery import current_app

    if not current_app.conf.task_always_eager:
        return
    letter = Letter.objects.filter(pk=letter_id).first()
    if letter is None:
        return
    try:
        letter_flag_anomalies(letter=letter)
    except Exception:
        # A flag is advice: a failed scan must never undo or fail a signature.
        logger.exception("anomaly scan of letter %s failed", letter_id)


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
