"""Reads of the trust log: what the public endpoints serve, receipts, log indexes."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max

from petition.models import Signature

from . import merkle
from .keys import SigningKeyMissing, letter_origin, site_signer
from .models import LogCheckpoint, LogEntry, LogIdentity, LogState, LogTile
from .note import Checkpoint, note_sign


@dataclass(frozen=True)
class PublishedCheckpoint:
    size: int
    adds: int
    removes: int
    note: str


def checkpoint_latest(letter_id: int, slug: str) -> PublishedCheckpoint:
    """The letter's latest signed checkpoint; a log with no entry yet is the empty tree,
    signed on the fly (Ed25519 signs the same text the same way every time). Raises
    SigningKeyMissing when no key may sign."""
    latest = (
        LogCheckpoint.objects.filter(letter_id=letter_id)
        .order_by("-size")
        .values_list("size", "adds", "removes", "note")
        .first()
    )
    if latest:
        return PublishedCheckpoint(*latest)
    state = LogState.objects.filter(letter_id=letter_id).values_list("origin", flat=True).first()
    origin = state or letter_origin(slug)
    empty = Checkpoint(origin=origin, size=0, root=merkle.EMPTY_ROOT)
    return PublishedCheckpoint(0, 0, 0, note_sign(empty.text(), site_signer().renamed(origin)))


def published_size(letter_id: int) -> int:
    """The tree size of the latest checkpoint: tiles and entries beyond it are not served."""
    size = (
        LogCheckpoint.objects.filter(letter_id=letter_id)
        .order_by("-size")
        .values_list("size", flat=True)
        .first()
    )
    return size or 0


def tile_data(letter_id: int, level: int, index: int, width: int) -> bytes | None:
    """Hashes of tile level/index, `width` of them, if the published tree holds them."""
    if merkle.tile_width(published_size(letter_id), level, index) < width:
        return None
    hashes = (
        LogTile.objects.filter(letter_id=letter_id, level=level, index=index)
        .values_list("hashes", flat=True)
        .first()
    )
    if hashes is None or len(hashes) < width * merkle.HASH_SIZE:
        return None
    return bytes(hashes[: width * merkle.HASH_SIZE])


def entry_bundle(letter_id: int, index: int, width: int) -> bytes | None:
    """Entries index*256 .. index*256+width as a C2SP entry bundle, if published."""
    if merkle.tile_width(published_size(letter_id), 0, index) < width:
        return None
    start = index * merkle.TILE_WIDTH
    data = list(
        LogEntry.objects.filter(letter_id=letter_id, index__gte=start, index__lt=start + width)
        .order_by("index")
        .values_list("data", flat=True)
    )
    if len(data) != width:
        return None
    return merkle.bundle_encode(entry.encode() for entry in data)


@dataclass(frozen=True)
class ReceiptEvent:
    index: int
    event: str
    published: bool


@dataclass(frozen=True)
class Receipt:
    public_id: str
    salt: str
    commitment: str
    events: tuple[ReceiptEvent, ...]

    @property
    def add_index(self) -> int | None:
        adds = [e.index for e in self.events if e.event == LogEntry.Event.ADD]
        return adds[-1] if adds else None


def receipt_for(signature: Signature) -> Receipt | None:
    """What a signer needs to check their entries: their public id, salt and every entry
    written for them (oldest first), or None while they have none."""
    identity = (
        LogIdentity.objects.filter(signature_id=signature.pk)
        .values_list("public_id", "salt", "commitment")
        .first()
    )
    if identity is None:
        return None
    public_id, salt, commitment = identity
    size = published_size(signature.letter_id)
    events = tuple(
        ReceiptEvent(index=index, event=event, published=index < size)
        for index, event in LogEntry.objects.filter(
            letter_id=signature.letter_id, public_id=public_id
        )
        .order_by("index")
        .values_list("index", "event")
    )
    return Receipt(public_id=public_id, salt=salt, commitment=commitment, events=events)


def signature_log_indexes(signature_ids: Iterable[int]) -> dict[int, int]:
    """Each signature's latest `add` entry index in its letter's log, by signature id
    (signatures with no entry yet are left out)."""
    public = dict(
        LogIdentity.objects.filter(signature_id__in=list(signature_ids)).values_list(
            "public_id", "signature_id"
        )
    )
    if not public:
        return {}
    rows = (
        LogEntry.objects.filter(public_id__in=list(public), event=LogEntry.Event.ADD)
        .values("public_id")
        .annotate(last=Max("index"))
        .values_list("public_id", "last")
    )
    return {public[public_id]: last for public_id, last in rows}


def signing_available() -> bool:
    try:
        site_signer()
    except SigningKeyMissing:
        return False
    return True
