from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .markdown import render_markdown


class LetterQuerySet(models.QuerySet["Letter"]):
    def public(self) -> "LetterQuerySet":
        """Letters anyone may read: open or closed, never drafts."""
        return self.filter(status__in=[Letter.Status.OPEN, Letter.Status.CLOSED])

    def accepting_signatures(self, now: datetime | None = None) -> "LetterQuerySet":
        now = now or timezone.now()
        return self.filter(status=Letter.Status.OPEN).filter(
            Q(closes_at__isnull=True) | Q(closes_at__gt=now)
        )


class Letter(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class SignerField(models.TextChoices):
        """Optional things a letter may ask of its signers, besides name and email."""

        TITLE = "title", _("Title or occupation")
        ORGANIZATION = "organization", _("Organization")
        CITY = "city", _("City")
        COUNTRY = "country", _("Country")
        COMMENT = "comment", _("Comment")

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    recipient = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text=_("Markdown. Raw HTML is sanitized."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    goal = models.PositiveIntegerField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, default="en")
    signer_fields = models.JSONField(
        default=list, blank=True, help_text=_("Which optional fields the signing form asks for.")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="letters",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "open", "closed"]), name="letter_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(goal__isnull=True) | Q(goal__gte=1), name="letter_goal_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("letter_detail", kwargs={"slug": self.slug})

    @property
    def public_status(self) -> str:
        """The status readers see: an open letter past its closing time is closed."""
        if self.status == self.Status.OPEN and self.closes_at and self.closes_at <= timezone.now():
            return self.Status.CLOSED
        return self.status

    @property
    def is_accepting_signatures(self) -> bool:
        return self.public_status == self.Status.OPEN

    @property
    def is_public(self) -> bool:
        return self.status != self.Status.DRAFT

    def collects(self, field: str) -> bool:
        return field in self.signer_fields

    @cached_property
    def body_html(self) -> str:
        return render_markdown(self.body)


class NamedSignatory(models.Model):
    """A signatory the authors list by name at publication, shown apart from the public list."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="named_signatories")
    name = models.CharField(max_length=200)
    affiliation = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "position"], name="named_signatory_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.affiliation})" if self.affiliation else self.name
