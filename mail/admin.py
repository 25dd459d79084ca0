from django.contrib import admin

from .models import Suppression


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("address", "reason", "source", "created_at")
    list_filter = ("reason", "source")
    search_fields = ("address",)
    readonly_fields = ("address", "reason", "source", "detail", "created_at")
    # Deleting a row is how an operator lets an address be mailed again.

    def has_add_permission(self, request: object) -> bool:
        return False
