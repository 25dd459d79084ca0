"""Reads for the moderation pages: the queue's filter as a queryset, its count, and what an
invalidation would take, broken down so a moderator sees who, not only how many."""

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.normalize import ip_group, is_common_provider, name_key
from letters.models import Letter

from ..exports import csv_safe
from ..models import Signature, counts_q
from ..templatetags.moderation_tags import mask_email

# The queue counts "all N matching" exactly up to this many; past it, the label says
# "more than" and the count a moderator confirms is taken when the job starts.
QUEUE_COUNT_LIMIT = 100_000
QUEUE_PAGE = 50
PREVIEW_ROWS = 50
BREAKDOWN_ROWS = 10


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
    signatures = Signature.objects.filter(letter=letter).filter(QUEUE_STATES[queue_filter.state])
    search = queue_filter.search.strip()
    if search:
        if "@" in search or ("." in search and " " not in search):
            # Exactly that domain, so the (letter, domain, id) index answers alone.
            domain = search.rpartition("@")[2].lower().rstrip(".")
            signatures = signatures.filter(email_domain=domain)
        else:
            signatures = signatures.filter(name_key__contains=name_key(search))
    return signatures


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


def queue_count(*, letter: Letter, queue_filter: QueueFilter) -> tuple[int, bool]:
    """How many signatures the filter shows, counted up to QUEUE_COUNT_LIMIT, and whether
    there are more than that."""
    ids = queue_queryset(letter=letter, queue_filter=queue_filter).values("pk")
    n = ids[: QUEUE_COUNT_LIMIT + 1].count()
    return min(n, QUEUE_COUNT_LIMIT), n > QUEUE_COUNT_LIMIT


@dataclass
class Breakdown:
    """Signatures grouped by email domain, network (an IPv4 /24, an IPv6 /64) and day."""

    domains: list[tuple[str, int]] = field(default_factory=list)
    networks: list[tuple[str, int]] = field(default_factory=list)
    days: list[tuple[Any, int]] = field(default_factory=list)


def network_of(ip_address: str | None) -> str:
    """The network a moderator looks at: an IPv4 /24 (a provider's block of neighbours), an
    IPv6 /64 (one home or phone)."""
    group = ip_group(ip_address)
    if not group or "/" in group:
        return group
    return ".".join(group.split(".")[:3]) + ".0/24"


def preview_rows(signatures: QuerySet[Signature]) -> list[Signature]:
    """The newest PREVIEW_ROWS of these signatures, for a moderator to see who they are."""
    return list(signatures.order_by("-pk")[:PREVIEW_ROWS])


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


def signatures_breakdown(signatures: QuerySet[Signature]) -> Breakdown:
    """The largest groups among these signatures (at most BREAKDOWN_ROWS of each)."""
    domains = (
        signatures.values_list("email_domain")
        .order_by()
        .annotate(n=Count("pk"))
        .order_by("-n", "email_domain")[:BREAKDOWN_ROWS]
    )
    days = (
        signatures.annotate(day=TruncDate("created_at"))
        .values_list("day")
        .order_by()
        .annotate(n=Count("pk"))
        .order_by("-day")[:BREAKDOWN_ROWS]
    )
    # Networks are grouped in Python: the /24 of an address is not a column. One small
    # value per row, read as a stream.
    networks: Counter[str] = Counter()
    for address in (
        signatures.exclude(ip_address=None)
        .values_list("ip_address", flat=True)
        .iterator(chunk_size=5000)
    ):
        networks[network_of(address)] += 1
    return Breakdown(
        domains=[(domain or "—", n) for domain, n in domains],
        networks=networks.most_common(BREAKDOWN_ROWS),
        days=list(days),
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
    recent = [
        (domain, ip)
        for created, domain, ip in Signature.objects.filter(letter=letter)
        .order_by("-pk")
        .values_list("created_at", "email_domain", "ip_address")[:SPIKE_SAMPLE]
        if created >= cutoff
    ]
    networks = Counter(network_of(ip) for _domain, ip in recent if ip)
    domains = Counter(domain for domain, _ip in recent if domain and not is_common_provider(domain))
    candidates = [Spike("network", value, n) for value, n in networks.most_common(1)] + [
        Spike("domain", value, n) for value, n in domains.most_common(1)
    ]
    spikes = [spike for spike in candidates if spike.count >= SPIKE_THRESHOLD]
    return max(spikes, key=lambda spike: spike.count) if spikes else None
