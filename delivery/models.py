"""A delivery document: the letter as a PDF for its recipient, built in the background."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from letters.models import Letter


class DeliveryState(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class DeliveryDocument(models.Model):
    """One requested PDF of a letter. The build job records how far it got, so the owners'
    page can show progress, and where the file is once it is done."""

    State = DeliveryState

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="delivery_documents")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # Public signatures written so far, of `total`.
    progress = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    # Relative to MEDIA_ROOT.
    file_path = models.CharField(max_length=300, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["letter", "-created_at"], name="delivery_letter_latest_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values),
                name="delivery_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="done") | ~Q(file_path=""), name="delivery_done_has_file"
            ),
        ]

    def __str__(self) -> str:
        return f"PDF of letter {self.letter_id} ({self.state})"

    @property
    def in_progress(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(99, 100 * self.progress // self.total) if self.total else 0
