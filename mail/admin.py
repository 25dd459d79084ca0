from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import OutboundEmail, Suppression
from .outbox import outbound_retry


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("address", "reason", "source", "created_at")
    list_filter = ("reason", "source")
    search_fields = ("address",)
    readonly_fields = ("address", "reason", "source", "detail", "created_at")
    # Deleting a row is how an operator lets an address be mailed again.

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "state", "attempts", "created_at", "sent_at", "last_error")
    list_filter = ("state", "kind")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    raw_id_fields = ("signature",)
    actions = ["retry"]

    @admin.action(description="Queue the selected failed emails again")
    def retry(self, request: HttpRequest, queryset: "QuerySet[OutboundEmail]") -> None:
        count = outbound_retry(outbound_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed email(s) queued again.")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
