from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .audit import audit_record
from .models import AuditEntry, Invitation, Letter, LetterRole, NamedSignatory
from .services import letter_approve, letter_close, letter_reopen, letter_save
from .versions import letter_version_backfill, letter_version_publish


class NamedSignatoryInline(admin.TabularInline):
    model = NamedSignatory
    extra = 1


class LetterRoleInline(admin.TabularInline):
    """Shown, not edited: roles change through invitations and the owners' team page,
    which keep at least one owner and audit every change."""

    model = LetterRole
    extra = 0
    can_delete = False
    fields = ("user", "role", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvitationInline(admin.TabularInline):
    """Invitations are written by the owners' team page (it sends the email); here they
    are only shown."""

    model = Invitation
    extra = 0
    can_delete = False
    fields = (
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run_on_each(
    service: Callable[..., Letter], done: str
) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet[Letter]], None]:
    def action(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        changed = 0
        for letter in queryset:
            try:
                service(letter=letter, user=request.user)
            except (ValidationError, PermissionDenied) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else error
                model_admin.message_user(request, f"{letter}: {text}", messages.WARNING)
            else:
                changed += 1
        if changed:
            model_admin.message_user(
                request,
                ngettext("%(n)d letter %(done)s.", "%(n)d letters %(done)s.", changed)
                % {"n": changed, "done": done},
            )

    return action


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "status", "goal", "closes_at", "published_at")
    list_filter = ("status", "language")
    search_fields = ("title", "slug", "recipient")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [NamedSignatoryInline, LetterRoleInline, InvitationInline]
    raw_id_fields = ("owner",)
    actions = ["approve", "close", "reopen"]

    def get_inlines(self, request: HttpRequest, obj: Letter | None) -> Any:
        # A letter being added has no team yet.
        return self.inlines if obj is not None else [NamedSignatoryInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Letter | None = None) -> Any:
        # A letter's status changes only through the audited actions (approve, close,
        # reopen here; publish on the owners' page), never by editing the field.
        # The version number and closing time are kept by the services alone.
        kept = ("version", "closed_at")
        return ("status", "published_at", *kept) if obj is not None else kept

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Letter, form: Any, change: bool) -> None:
        if change:
            # The text as stored, not as just typed, is what the new version differs from.
            letter_version_backfill(letter=Letter.objects.select_for_update().get(pk=obj.pk))
        letter_save(letter=obj)
        letter_version_publish(letter=obj, user=request.user, note=str(_("Edited in the admin.")))
        audit_record(
            letter=obj,
            actor=request.user,
            action=AuditEntry.Action.LETTER_EDIT if change else AuditEntry.Action.LETTER_CREATE,
            detail={"via": "admin", "fields": list(form.changed_data)},
        )

    @admin.action(description=_("Approve and publish the selected letters awaiting approval"))
    def approve(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        _run_on_each(letter_approve, str(_("approved")))(self, request, queryset)

    @admin.action(description=_("Close the selected open letters"))
    def close(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        _run_on_each(letter_close, str(_("closed")))(self, request, queryset)

    @admin.action(description=_("Reopen the selected closed letters"))
    def reopen(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        _run_on_each(letter_reopen, str(_("reopened")))(self, request, queryset)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: entries are written by the services they record."""

    list_display = ("created_at", "letter", "action", "actor", "state", "signature_count")
    list_filter = ("action", "state")
    search_fields = ("letter__slug", "letter__title", "actor__email")
    list_select_related = ("letter", "actor")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
