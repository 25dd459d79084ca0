"""One append-only Merkle log per letter: every change of its count is an entry.

Nothing here is ever updated in place except the growing edge tiles and a letter's log
state; entries and checkpoints are only inserted. A letter with a log cannot be deleted
(PROTECT), so no cascade can remove entries either.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from letters.models import Letter
from petition.models import Signature


class LogIdentity(models.Model):
    """A signature's public face in its letter's log: a random id, and the salt that
    hides its address in the entry's commitment. Retention erases the salt, never the id."""

    signature = models.OneToOneField(
        Signature, on_delete=models.CASCADE, related_name="log_identity"
    )
    public_id = models.CharField(max_length=32, unique=True)
    # Hex of 16 random bytes; empty once retention erased it.
    salt = models.CharField(max_length=64, blank=True)
    # base64(SHA-256(salt || normalized email)), fixed when the signature first enters the
    # log, so every entry for it carries the same one after the address is anonymized.
    commitment = models.CharField(max_length=44)
    created_at = models.DateTimeField(default=timezone.now)
    salt_erased_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.public_id


class LogState(models.Model):
    """A letter's log as it stands: its origin (fixed when the log starts), size and
    counts, and the size of its latest checkpoint. Locked to append and to sign."""

    letter = models.OneToOneField(
        Letter, on_delete=models.PROTECT, primary_key=True, related_name="log_state"
    )
    origin = models.CharField(max_length=400)
    size = models.BigIntegerField(default=0)
    adds = models.BigIntegerField(default=0)
    removes = models.BigIntegerField(default=0)
    checkpoint_size = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(size=F("adds") + F("removes")), name="log_state_size_is_events"
            ),
            models.CheckConstraint(
                condition=Q(removes__gte=0) & Q(adds__gte=F("removes")),
                name="log_state_never_below_zero",
            ),
            models.CheckConstraint(
                condition=Q(checkpoint_size__isnull=True) | Q(checkpoint_size__lte=F("size")),
                name="log_state_checkpoint_within_log",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.origin} ({self.size})"


class LogEvent(models.TextChoices):
    ADD = "add", "add"
    REMOVE = "remove", "remove"


class LogEntry(models.Model):
    Event = LogEvent

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="log_entries")
    index = models.BigIntegerField()
    event = models.CharField(max_length=6, choices=Event.choices)
    public_id = models.CharField(max_length=32)
    # The entry exactly as hashed and served: compact JSON, sorted keys, UTF-8.
    data = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "index"], name="log_entry_one_per_index"),
            models.CheckConstraint(condition=Q(index__gte=0), name="log_entry_index_valid"),
            models.CheckConstraint(
                condition=Q(event__in=LogEvent.values), name="log_entry_event_valid"
            ),
        ]
        indexes = [models.Index(fields=["public_id", "index"], name="log_entry_signature_idx")]

    def __str__(self) -> str:
        return f"{self.letter_id}#{self.index} {self.event}"


class LogTile(models.Model):
    """The hashes of one tile (C2SP tlog-tiles, height 8): up to 256 of 32 bytes."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="log_tiles")
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hashes = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "level", "index"], name="log_tile_one_per_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} tile {self.level}/{self.index}"


class LogCheckpoint(models.Model):
    """A signed tree head. One per tree size and letter: the same size never gets two
    roots, whatever the workers do."""

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="log_checkpoints")
    size = models.BigIntegerField()
    root = models.BinaryField(max_length=32)
    adds = models.BigIntegerField()
    removes = models.BigIntegerField()
    note = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "size"], name="log_checkpoint_one_per_size"),
            models.CheckConstraint(
                condition=Q(size=F("adds") + F("removes")), name="log_checkpoint_size_is_events"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} checkpoint {self.size}"
