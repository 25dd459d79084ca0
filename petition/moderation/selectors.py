"""Reads for the moderation pages: the queue's filter as a queryset, its count, and what an
invalidation would take, broken down so a moderator sees who, not only how many."""

import csv
import ipaddress
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import StrIndex, TruncDate
from django.utils import timezone

from core.normalize import ip_group, is_common_provider, name_key
from letters.models import Letter

from ..exports import csv_safe
from ..models import Signature, counts_q
from ..templatetags.moderation_tags import mask_email

# The queue and the invalidation preview count exactly up to this many, so a page costs the
# same on a letter of a million; past it they say "more than", and acting on all of them
# takes a confirmation step that counts them exactly, once.
QUEUE_COUNT_LIMIT = 5_000
QUEUE_PAGE = 50
PREVIEW_ROWS = 50
BREAKDOWN_ROWS = 10
# How many of a letter's newest signatures tell whether a set is dense among them.
DENSITY_PROBE = 1_000


# The queue's filters, by the name its tabs use.
QUEUE_STATES: dict[str, Q] = {
    "all": Q(),
    "pending": Q(status="pending", shadow_reason=""),
    "verified": counts_q(),
    "awaiting": Q(status="verified", shadow_reason="", moderation=""),
    "held": Q(moderation="held"),
    "flagged": ~Q(flags=""),
    "hidden": Q(moderation="hidden"),
    "rejected": Q(moderation="rejected"),
    "invalidated": Q(moderation="invalidated"),
    "shadow": ~Q(shadow_reason=""),
}


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: a state tab and a search (part of a name, or @domain)."""

    state: str = "all"
    search: str = ""

    def to_json(self) -> dict[str, str]:
        return {"state": self.state, "q": self.search}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> "QueueFilter":
        state = data.get("state", "all")
        return cls(state=state if state in QUEUE_STATES else "all", search=data.get("q", ""))


def queue_queryset(*, letter: Letter, queue_filter: QueueFilter) -> QuerySet[Signature]:
    """The letter's signatures the filter shows, in no particular order.

    The search is an email domain when it contains "@" or a dot and no space, else part of
    a name."""
    signatures: QuerySet[Signature] = Signature.objects.filter(letter=letter).filter(
        QUEUE_STATES[queue_filter.state]
    )
    search = queue_filter.search.strip()
    if search:
        if "@" in search or ("." in search and " " not in search):
            # Exactly that domain, so the (letter, domain, id) index answers alone.
            domain = search.rpartition("@")[2].lower().rstrip(".")
            signatures = signatures.filter(email_domain=domain)
        else:
            signatures = _name_contains(signatures, name_key(search))
    return signatures


def _name_contains(signatures: QuerySet[Signature], key: str) -> QuerySet[Signature]:
    """The signatures whose name contains `key` (already a name_key).

    The trigram index finds a name by every trigram of what is searched, and a trigram that
    nearly every name shares (a flood's "Signer 0001", "Signer 0002", ...) makes it read
    nearly the whole index: 50 ms on a million names. So the index is asked for one word,
    the last (surnames and numbers tell names apart better than first words), and the whole
    phrase is checked only on the rows holding that word."""
    words = key.split()
    if len(words) < 2:
        return signatures.filter(name_key__contains=key)
    word = words[-1] if len(words[-1]) >= 3 else max(words, key=len)
    return (
        signatures.filter(name_key__contains=word)
        .alias(phrase_at=StrIndex("name_key", Value(key)))
        .filter(phrase_at__gt=0)
    )


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, newest first, and the cursor of the next (None at the end)."""

    rows: list[Signature]
    next_cursor: int | None


def queue_page(
    *, letter: Letter, queue_filter: QueueFilter, before: int | None = None, limit: int = QUEUE_PAGE
) -> QueuePage:
    """The page of signatures the filter shows below the cursor `before`. Keyset-paged on
    the id, so page 1,000 costs what page 1 does."""
    signatures = queue_queryset(letter=letter, queue_filter=queue_filter)
    if before is not None:
        signatures = signatures.filter(pk__lt=before)
    rows = list(signatures.order_by("-pk")[: limit + 1])
    return QueuePage(
        rows=rows[:limit], next_cursor=rows[limit - 1].pk if len(rows) > limit else None
    )


def queue_count(
    *, letter: Letter, queue_filter: QueueFilter, up_to: int | None = None, exact: bool = False
) -> tuple[int, bool]:
    """How many signatures the filter shows (those with ids up to `up_to`, if given),
    counted up to QUEUE_COUNT_LIMIT unless `exact`, and whether there are more than that."""
    signatures = queue_queryset(letter=letter, queue_filter=queue_filter)
    if up_to is not None:
        signatures = signatures.filter(pk__lte=up_to)
    return count_up_to(signatures, None if exact else QUEUE_COUNT_LIMIT)


def queue_newest(*, letter: Letter, queue_filter: QueueFilter) -> int | None:
    """The id of the newest signature the filter shows: what "all matching" is pinned to,
    so signatures arriving after a moderator counted them are left alone."""
    signatures = queue_queryset(letter=letter, queue_filter=queue_filter)
    return signatures.order_by("-pk").values_list("pk", flat=True).first()


def count_up_to(signatures: QuerySet[Signature], limit: int | None) -> tuple[int, bool]:
    """How many these are, counted up to `limit` (None: all), and whether there are more."""
    if limit is None:
        return signatures.count(), False
    n = signatures.values("pk")[: limit + 1].count()
    return min(n, limit), n > limit


@dataclass
class Breakdown:
    """Signatures grouped by email domain, network (an IPv4 /24, an IPv6 /64) and day;
    `sampled` when they are only the newest QUEUE_COUNT_LIMIT of more."""

    domains: list[tuple[str, int]] = field(default_factory=list)
    networks: list[tuple[str, int]] = field(default_factory=list)
    days: list[tuple[Any, int]] = field(default_factory=list)
    sampled: bool = False


def network_of(ip_address: str | None) -> str:
    """The network a moderator looks at: an IPv4 /24 (a provider's block of neighbours), an
    IPv6 /64 (one home or phone)."""
    group = ip_group(ip_address)
    if not group or "/" in group:
        return group
    return ".".join(group.split(".")[:3]) + ".0/24"


def newest_first(signatures: QuerySet[Signature], *, letter: Letter) -> QuerySet[Signature]:
    """These signatures of the letter, newest first, read the cheaper way. Where many of
    the letter's newest signatures are among them (a flood going on), walking the letter's
    ids downwards finds them at once; where few are (an old flood, one range of addresses),
    that walk would read past every later signature, so the criteria's own index finds
    them and they are sorted."""
    newest = Signature.objects.filter(letter=letter).order_by("-pk").values("pk")[:DENSITY_PROBE]
    if signatures.filter(pk__in=newest).count() * 10 >= DENSITY_PROBE:
        return signatures.order_by("-pk")
    return signatures.order_by((F("pk") + 0).desc())


@dataclass(frozen=True)
class Preview:
    """Who a set of signatures is: how many (up to QUEUE_COUNT_LIMIT, and whether there are
    more), how many of them count now, their newest PREVIEW_ROWS, the breakdown of the
    newest QUEUE_COUNT_LIMIT, and the id of the newest (None when the set is empty)."""

    matching: int
    more: bool
    counting: int
    rows: list[Signature]
    breakdown: "Breakdown"
    newest: int | None


def signatures_preview(signatures: QuerySet[Signature], *, letter: Letter) -> Preview:
    """The newest of these signatures, their count and their breakdown, from one read of
    the newest QUEUE_COUNT_LIMIT (and one more, to know there are more): who floods a
    letter is among its newest."""
    limit = QUEUE_COUNT_LIMIT
    sample = list(
        newest_first(signatures, letter=letter)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values_list("pk", "email_domain", "ip_key", "day", "status", "shadow_reason")[: limit + 1]
    )
    more = len(sample) > limit
    sample = sample[:limit]
    ids = [row[0] for row in sample[:PREVIEW_ROWS]]
    return Preview(
        matching=len(sample),
        more=more,
        counting=sum(
            1 for *_, status, shadow in sample if status == Signature.Status.VERIFIED and not shadow
        ),
        rows=list(Signature.objects.filter(pk__in=ids).order_by("-pk")),
        breakdown=_breakdown([row[:4] for row in sample], sampled=more),
        newest=ids[0] if ids else None,
    )


PREVIEW_CSV_COLUMNS = (
    "id",
    "name",
    "email",
    "email_domain",
    "network",
    "ip_address",
    "created_at",
    "status",
    "moderation",
    "shadow_reason",
    "flags",
)


def preview_csv(signatures: QuerySet[Signature]) -> Iterator[str]:
    """Yield, a line at a time, the CSV of every signature an invalidation would take
    (emails masked: enough to judge, not to contact)."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(PREVIEW_CSV_COLUMNS)
    rows = signatures.order_by("pk").values_list(
        "pk",
        "name",
        "email",
        "email_domain",
        "ip_address",
        "created_at",
        "status",
        "moderation",
        "shadow_reason",
        "flags",
    )
    for pk, name, email, domain, ip, created, status, moderation, shadow, flags in rows.iterator(
        chunk_size=5000
    ):
        cells = (
            pk,
            name,
            mask_email(email),
            domain,
            network_of(ip),
            ip or "",
            created.isoformat(),
            status,
            moderation,
            shadow,
            flags,
        )
        yield writer.writerow([csv_safe(cell) for cell in cells])


class _Line:
    def write(self, value: str) -> str:
        return value


# ip_key holds an IPv4 address as an IPv4-mapped IPv6 one (core.normalize.ip_key).
_IPV4_MAPPED = "00000000000000000000ffff"


def _network_key(key: str) -> str:
    """The ip_key prefix of an address's network: 30 hex digits make the /24 of an IPv4
    address, 16 the /64 of an IPv6 one."""
    return key[:30] if key.startswith(_IPV4_MAPPED) else key[:16]


def _network_label(prefix: str) -> str:
    if prefix.startswith(_IPV4_MAPPED):
        return ".".join(str(int(prefix[i : i + 2], 16)) for i in (24, 26, 28)) + ".0/24"
    return str(ipaddress.IPv6Network((int(prefix, 16) << 64, 64)))


def _breakdown(sample: list[tuple[int, str, str, date]], *, sampled: bool) -> Breakdown:
    """The largest groups (at most BREAKDOWN_ROWS of each) of (id, email domain, ip_key,
    day) rows. Networks are grouped on the ip_key's prefix, which is plain text, and only
    the largest are turned back into addresses."""
    domains = Counter(domain or "—" for _pk, domain, _key, _day in sample)
    networks = Counter(_network_key(key) for _pk, _domain, key, _day in sample if key)
    days = Counter(day for _pk, _domain, _key, day in sample)
    return Breakdown(
        domains=sorted(domains.items(), key=lambda item: (-item[1], item[0]))[:BREAKDOWN_ROWS],
        networks=[(_network_label(key), n) for key, n in networks.most_common(BREAKDOWN_ROWS)],
        days=sorted(days.items(), reverse=True)[:BREAKDOWN_ROWS],
        sampled=sampled,
    )


# A spike: this many signatures within SPIKE_MINUTES from one network or one domain (not a
# large mail provider's) makes the moderation page suggest under-attack mode.
SPIKE_MINUTES = 10
SPIKE_THRESHOLD = 50
SPIKE_SAMPLE = 2000


@dataclass(frozen=True)
class Spike:
    kind: str  # "network" or "domain"
    value: str
    count: int


def signing_spike(letter: Letter) -> Spike | None:
    """The largest recent burst from one network or email domain, if it is a spike. Reads
    only the newest SPIKE_SAMPLE signatures (through the queue's index), so it costs the
    same on a letter of a million."""
    cutoff = timezone.now() - timedelta(minutes=SPIKE_MINUTES)
    newest = Signature.objects.filter(letter=letter).order_by("-pk").values("pk")[:SPIKE_SAMPLE]
    # The time filter in the database: a quiet letter sends back nothing to read.
    recent = list(
        Signature.objects.filter(pk__in=newest, created_at__gte=cutoff).values_list(
            "email_domain", "ip_address"
        )
    )
    networks = Counter(network_of(ip) for _domain, ip in recent if ip)
    domains = Counter(domain for domain, _ip in recent if domain and not is_common_provider(domain))
    candidates = [Spike("network", value, n) for value, n in networks.most_common(1)] + [
        Spike("domain", value, n) for value, n in domains.most_common(1)
    ]
    spikes = [spike for spike in candidates if spike.count >= SPIKE_THRESHOLD]
    return max(spikes, key=lambda spike: spike.count) if spikes else None
