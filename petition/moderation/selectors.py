"""Reads for the moderation pages: the queue's filter as a queryset, its count, and what an
invalidation would take, broken down so a moderator sees who, not only how many."""

import csv
import ipaddress
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any

from django.db import connections
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import StrIndex, Substr, TruncDate
from django.utils import timezone

from core.normalize import (
    IPV4_KEY_PREFIX,
    IPV6_GROUP_KEY_DIGITS,
    ip_group,
    is_common_provider,
    name_key,
)
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


def letter_newest(letter: Letter) -> int | None:
    """The id of the letter's newest signature: what an invalidation is pinned to, so the
    signatures that arrive after a moderator looked are left alone."""
    return (
        Signature.objects.filter(letter=letter).order_by("-pk").values_list("pk", flat=True).first()
    )


def dense_among_newest(signatures: QuerySet[Signature], *, letter: Letter) -> bool:
    """Whether at least one in ten of the letter's newest DENSITY_PROBE signatures is among
    these (a flood going on): then walking the letter's ids downwards finds the newest of
    them at once."""
    probe = (
        Signature.objects.filter(letter=letter)
        .order_by("-pk")
        .values_list("pk", flat=True)[DENSITY_PROBE - 1 : DENSITY_PROBE]
    )
    # The range of ids, not "in the newest" as a subquery, whose size a planner misjudges
    # and then reads the criteria's whole index (a name pattern's trigrams) to intersect.
    oldest = next(iter(probe), None)
    if oldest is None:
        # A letter of fewer signatures than that: the walk down its ids reads them all.
        return True
    return signatures.filter(pk__gte=oldest).count() * 10 >= DENSITY_PROBE


@dataclass(frozen=True)
class Preview:
    """Who a set of signatures is: how many (up to QUEUE_COUNT_LIMIT, and whether there are
    more), how many of them count now, PREVIEW_ROWS of them newest first, the breakdown of
    up to QUEUE_COUNT_LIMIT of them, and `newest`, the letter's newest signature when they
    were read (None when the set is empty), which acting on them is pinned to.

    `newest_sample` tells whether the rows and the breakdown are the newest of the set: they
    are when the whole set was read (QUEUE_COUNT_LIMIT or fewer) or when it is dense among
    the letter's newest signatures. Otherwise they are the first QUEUE_COUNT_LIMIT the
    database found: finding the newest of a large, old set (a /16 of last month, a name
    pattern matching 100,000 early signers) means reading and sorting every one of them,
    which on a letter of a million costs more than the page may."""

    matching: int
    more: bool
    counting: int
    rows: list[Signature]
    breakdown: "Breakdown"
    newest: int | None
    newest_sample: bool = True


def signatures_preview(signatures: QuerySet[Signature], *, letter: Letter) -> Preview:
    """The count and breakdown of these signatures from one read of at most
    QUEUE_COUNT_LIMIT of them (and one more, to know there are more), grouped in the
    database, and PREVIEW_ROWS of them: the page costs the same whatever the set, newest
    first where that is cheap (see Preview)."""
    limit = QUEUE_COUNT_LIMIT
    newest = letter_newest(letter)
    if newest is None:
        return Preview(0, False, 0, [], Breakdown(), None)
    signatures = signatures.filter(pk__lte=newest)
    dense = dense_among_newest(signatures, letter=letter)
    # Without an order, the database stops at the limit in whichever index suits the
    # criteria; walking the ids downwards only pays where the set is dense among them.
    sample = signatures.order_by("-pk") if dense else signatures.order_by()
    groups = _sample_groups(sample[: limit + 1])
    total = sum(group.n for group in groups)
    if not total:
        return Preview(0, False, 0, [], Breakdown(), None)
    more = total > limit
    if more:
        # One more than the limit was read to know there are more: leave out the oldest.
        min(groups, key=lambda group: group.oldest).n -= 1
    complete = dense or not more
    if dense:
        rows = list(sample[:PREVIEW_ROWS])
    elif not more:
        # Every one of them is in the sample: their newest, found by sorting them (the
        # criteria's index, not a walk down the letter's ids).
        rows = list(signatures.order_by((F("pk") + 0).desc())[:PREVIEW_ROWS])
    else:
        rows = sorted(sample[:PREVIEW_ROWS], key=lambda row: row.pk, reverse=True)
    return Preview(
        matching=min(total, limit),
        more=more,
        counting=sum(group.n for group in groups if group.counts),
        rows=rows,
        breakdown=_breakdown(groups, sampled=more),
        newest=newest,
        newest_sample=complete,
    )


@dataclass
class _Group:
    """Signatures of a sample sharing an email domain, a network, a day and whether they
    count: `n` of them, the oldest with id `oldest`."""

    domain: str
    network: str
    day: date
    counts: bool
    n: int
    oldest: int


def _sample_groups(sample: QuerySet[Signature]) -> list[_Group]:
    """The sliced queryset's rows grouped by the database (a flood is a few hundred groups
    of thousands of rows), so Python reads groups, not rows."""
    inner = sample.annotate(
        s_id=F("pk"),
        s_domain=F("email_domain"),
        s_network=network_key(),
        s_day=TruncDate("created_at", tzinfo=UTC),
        s_counts=Case(When(counts_q(), then=Value(1)), default=Value(0)),
    ).values("s_id", "s_domain", "s_network", "s_day", "s_counts")
    sql, params = inner.query.sql_with_params()
    # Django's own compiled SQL, its values still separate parameters.
    grouped = f"SELECT s_domain, s_network, s_day, s_counts, COUNT(*), MIN(s_id) FROM ({sql}) s"  # noqa: S608
    with connections[inner.db].cursor() as cursor:
        cursor.execute(f"{grouped} GROUP BY s_domain, s_network, s_day, s_counts", params)
        return [
            _Group(domain, network, _as_date(day), bool(counts), n, oldest)
            for domain, network, day, counts, n, oldest in cursor.fetchall()
        ]


def _as_date(day: date | str) -> date:
    """A day as the database gives it: a date (PostgreSQL) or its ISO text (SQLite)."""
    return day if isinstance(day, date) else date.fromisoformat(day)


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


def network_key() -> Case:
    """ip_key cut to its network, in the database: an IPv4 /24, an IPv6 /64."""
    return Case(
        When(
            ip_key__startswith=IPV4_KEY_PREFIX, then=Substr("ip_key", 1, len(IPV4_KEY_PREFIX) + 6)
        ),
        default=Substr("ip_key", 1, IPV6_GROUP_KEY_DIGITS),
        output_field=CharField(),
    )


def _network_label(prefix: str) -> str:
    """A network_key() as the network a moderator reads."""
    if prefix.startswith(IPV4_KEY_PREFIX):
        at = len(IPV4_KEY_PREFIX)
        return ".".join(str(int(prefix[i : i + 2], 16)) for i in (at, at + 2, at + 4)) + ".0/24"
    return str(ipaddress.IPv6Network((int(prefix, 16) << 64, 64)))


def _breakdown(groups: list[_Group], *, sampled: bool) -> Breakdown:
    """The largest (at most BREAKDOWN_ROWS) email domains, networks and days of the
    groups. Networks are grouped on the ip_key's prefix, which is plain text, and only the
    largest are turned back into addresses."""
    domains: Counter[str] = Counter()
    networks: Counter[str] = Counter()
    days: Counter[date] = Counter()
    for group in groups:
        domains[group.domain or "—"] += group.n
        if group.network:
            networks[group.network] += group.n
        days[group.day] += group.n
    return Breakdown(
        domains=_largest(domains),
        networks=[(_network_label(key), n) for key, n in _largest(networks)],
        days=sorted((day, n) for day, n in days.items() if n)[::-1][:BREAKDOWN_ROWS],
        sampled=sampled,
    )


def _largest(counts: Counter[str]) -> list[tuple[str, int]]:
    """The BREAKDOWN_ROWS largest non-empty groups, ties in the order of their keys."""
    groups = sorted((item for item in counts.items() if item[1]), key=lambda i: (-i[1], i[0]))
    return groups[:BREAKDOWN_ROWS]


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
