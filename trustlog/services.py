"""Writes to the trust log: entries appended with the tally, checkpoints signed, salts
erased by retention.

Entries are appended in the tally's own transaction, under its lock, from the same rows
it moves: a signature that starts counting gets an `add`, one that stops a `remove`. So
once the tally has run, a letter's count is exactly adds minus removes of its log, and
the checkpoint job, which signs whatever size the log has reached, never sees a size
that a rolled-back tally could take away.
"""

import base64
import hashlib
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from letters.models import Letter
from petition.models import Signature

from . import merkle
from .keys import SigningKeyMissing, letter_origin, site_signer
from .models import LogCheckpoint, LogEntry, LogIdentity, LogState, LogTile
from .note import Checkpoint, note_sign

logger = logging.getLogger(__name__)

ADD, REMOVE = LogEntry.Event.ADD.value, LogEntry.Event.REMOVE.value


def entry_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_encode(*, event: str, signature: str, version: int, at: str, commitment: str) -> bytes:
    """An entry as the log hashes and serves it: compact JSON, sorted keys, UTF-8."""
    entry = {
        "at": at,
        "commitment": commitment,
        "event": event,
        "signature": signature,
        "version": version,
    }
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def commitment_compute(salt_hex: str, email_normalized: str) -> str:
    digest = hashlib.sha256(bytes.fromhex(salt_hex) + email_normalized.encode()).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class _Event:
    signature_id: int
    event: str
    version: int
    email_normalized: str
    at: datetime


def _identities(events: list[_Event]) -> dict[int, LogIdentity]:
    ids = {e.signature_id for e in events}
    known = {i.signature_id: i for i in LogIdentity.objects.filter(signature_id__in=ids)}
    new = []
    for event in events:
        if event.signature_id in known:
            continue
        salt = secrets.token_hex(16)
        identity = LogIdentity(
            signature_id=event.signature_id,
            public_id=secrets.token_hex(12),
            salt=salt,
            commitment=commitment_compute(salt, event.email_normalized),
        )
        known[event.signature_id] = identity
        new.append(identity)
    LogIdentity.objects.bulk_create(new)
    return known


def _tiles_load(letter_id: int, keys: Iterable[merkle.TileKey]) -> dict[merkle.TileKey, bytearray]:
    wanted = set(keys)
    query = Q(pk__in=[])
    for level, index in wanted:
        query |= Q(level=level, index=index)
    return {
        (tile.level, tile.index): bytearray(tile.hashes)
        for tile in LogTile.objects.filter(query, letter_id=letter_id)
    }


def _append(state: LogState, events: list[_Event]) -> None:
    """Append these events to a log whose state row this transaction holds locked."""
    identities = _identities(events)
    entries, hashes = [], []
    for offset, event in enumerate(events):
        identity = identities[event.signature_id]
        data = entry_encode(
            event=event.event,
            signature=identity.public_id,
            version=event.version,
            at=entry_time(event.at),
            commitment=identity.commitment,
        )
        hashes.append(merkle.leaf_hash(data))
        entries.append(
            LogEntry(
                letter_id=state.letter_id,
                index=state.size + offset,
                event=event.event,
                public_id=identity.public_id,
                data=data.decode(),
            )
        )
    tiles = _tiles_load(state.letter_id, merkle.edge_tiles(state.size))
    before = {key: len(tile) for key, tile in tiles.items()}
    merkle.tiles_append(tiles, state.size, hashes)
    LogEntry.objects.bulk_create(entries)
    LogTile.objects.bulk_create(
        [
            LogTile(letter_id=state.letter_id, level=level, index=index, hashes=bytes(tile))
            for (level, index), tile in tiles.items()
            if before.get((level, index)) != len(tile)
        ],
        update_conflicts=True,
        unique_fields=["letter", "level", "index"],
        update_fields=["hashes"],
    )
    state.size += len(events)
    state.adds += sum(1 for e in events if e.event == ADD)
    state.removes += sum(1 for e in events if e.event == REMOVE)
    state.updated_at = timezone.now()
    state.save(update_fields=["size", "adds", "removes", "updated_at"])


def _states_locked(letters: dict[int, str]) -> dict[int, LogState]:
    """Each letter's log state, created if new, locked for this transaction."""
    LogState.objects.bulk_create(
        [LogState(letter_id=pk, origin=letter_origin(slug)) for pk, slug in letters.items()],
        ignore_conflicts=True,
    )
    return {
        state.letter_id: state
        for state in LogState.objects.select_for_update()
        .filter(letter_id__in=letters)
        .order_by("letter_id")
    }


def _backfill_events(letter_id: int, *, excluding: set[int]) -> list[_Event]:
    """`add` events for the signatures a letter counted before its log began."""
    rows = (
        Signature.objects.filter(letter_id=letter_id, counted=True)
        .exclude(pk__in=excluding)
        .order_by("verified_at", "pk")
        .values_list("pk", "version", "email_normalized", "verified_at")
    )
    return [
        _Event(pk, ADD, version, email, at or timezone.now()) for pk, version, email, at in rows
    ]


@transaction.atomic
def log_signatures_record(
    *, added: Iterable[int], removed: Iterable[int], now: datetime | None = None
) -> int:
    """Append an `add` entry for each signature that starts counting and a `remove` for
    each that stops. Must run inside the tally's transaction, before it flips their
    `counted` marks; a letter's first entries are preceded by an `add` for every
    signature it counted before it had a log. Returns how many entries it appended."""
    events_of = dict.fromkeys(added, ADD) | dict.fromkeys(removed, REMOVE)
    if not events_of:
        return 0
    now = now or timezone.now()
    rows = (
        Signature.objects.filter(pk__in=events_of)
        .order_by("letter_id", "pk")
        .values_list("pk", "letter_id", "letter__slug", "version", "email_normalized")
    )
    by_letter: dict[int, list[_Event]] = defaultdict(list)
    slugs: dict[int, str] = {}
    for pk, letter_id, slug, version, email in rows:
        slugs[letter_id] = slug
        by_letter[letter_id].append(_Event(pk, events_of[pk], version, email, now))
    states = _states_locked(slugs)
    appended = 0
    for letter_id, events in by_letter.items():
        state = states[letter_id]
        if state.size == 0:
            starting = {e.signature_id for e in events if e.event == ADD}
            events = _backfill_events(letter_id, excluding=starting) + events
        _append(state, events)
        appended += len(events)
    transaction.on_commit(log_checkpoint_soon)
    return appended


def log_on_tally(sender: object, *, added: list[int], removed: list[int], **kwargs: object) -> None:
    """Receiver of petition.counting.signatures_tallied."""
    log_signatures_record(added=added, removed=removed)


def log_backfill(*, letter_ids: Iterable[int] | None = None) -> int:
    """Start the log of every public letter that counts signatures but has none yet (a
    site upgraded to the trust log). Takes the tally's lock. Returns the entries added."""
    from petition.counting import TALLY_LOCK_KEY

    letters = Letter.objects.public().filter(log_state__isnull=True)
    if letter_ids is not None:
        letters = letters.filter(pk__in=list(letter_ids))
    appended = 0
    for letter_id, slug in letters.values_list("pk", "slug"):
        with transaction.atomic():
            _tally_lock_wait(TALLY_LOCK_KEY)
            state = _states_locked({letter_id: slug})[letter_id]
            if state.size:
                continue
            events = _backfill_events(letter_id, excluding=set())
            if events:
                _append(state, events)
                appended += len(events)
    if appended:
        transaction.on_commit(log_checkpoint_soon)
    return appended


def _tally_lock_wait(key: int) -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


# --- Checkpoints ----------------------------------------------------------------------

_missing_key_reported = False


def log_root(letter_id: int, size: int) -> bytes:
    tiles = _tiles_load(letter_id, merkle.edge_tiles(size))
    return merkle.tree_root(merkle.tile_reader(tiles), size)


def log_checkpoints_issue(*, limit: int = 500) -> int:
    """Sign a checkpoint for every letter whose log grew since its last one. Returns how
    many it signed. Without a signing key (production without LOG_SIGNING_KEY) it signs
    nothing and says so once per process."""
    global _missing_key_reported
    try:
        signer = site_signer()
    except SigningKeyMissing as error:
        if not _missing_key_reported:
            logger.error("trust log: %s", error)
            _missing_key_reported = True
        return 0
    grown = LogState.objects.filter(
        Q(checkpoint_size__isnull=True) | Q(size__gt=F("checkpoint_size"))
    ).values_list("letter_id", flat=True)[:limit]
    issued = 0
    for letter_id in list(grown):
        with transaction.atomic():
            state = LogState.objects.select_for_update().get(pk=letter_id)
            if state.checkpoint_size == state.size:
                continue
            checkpoint = Checkpoint(
                origin=state.origin, size=state.size, root=log_root(letter_id, state.size)
            )
            LogCheckpoint.objects.create(
                letter_id=letter_id,
                size=state.size,
                root=checkpoint.root,
                adds=state.adds,
                removes=state.removes,
                note=note_sign(checkpoint.text(), signer.renamed(state.origin)),
            )
            state.checkpoint_size = state.size
            state.save(update_fields=["checkpoint_size"])
            issued += 1
    if issued:
        logger.info("trust log: %d checkpoints signed", issued)
    return issued


def log_checkpoint_soon() -> None:
    """Ask for a checkpoint shortly; calls within LOG_CHECKPOINT_SECONDS make one run.

    With tasks inline (the embedded default) it is signed now.
    """
    from .tasks import log_checkpoint

    if not log_checkpoint.app.conf.task_always_eager:
        try:
            if not cache.add(
                "trustlog:nudged", 1, timeout=max(1, int(settings.LOG_CHECKPOINT_SECONDS))
            ):
                return
        except Exception:
            logger.warning("cache unavailable; the periodic checkpoint will sign", exc_info=True)
            return
    try:
        log_checkpoint.apply_async(countdown=1)
    except Exception:
        logger.warning("broker unavailable; the periodic checkpoint will sign", exc_info=True)


# --- Retention ------------------------------------------------------------------------


def log_salts_erase(*, now: datetime | None = None) -> int:
    """Erase the salts of signatures whose personal data retention erased: their entries
    stay, and without the salt nobody can tie a commitment to an address any more."""
    now = now or timezone.now()
    erased = (
        LogIdentity.objects.filter(signature__anonymized_at__isnull=False)
        .exclude(salt="")
        .update(salt="", salt_erased_at=now)
    )
    if erased:
        logger.info("trust log: erased %d salts of anonymized signatures", erased)
    return erased
