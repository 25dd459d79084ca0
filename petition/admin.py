from django.contrib import admin

from .models import OutboundEmail, Signature


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ("name", "letter", "status", "show_name", "country", "created_at", "verified_at")
    list_filter = ("status", "show_name", "letter")
    search_fields = ("name", "email_normalized", "organization")
    date_hierarchy = "created_at"
    list_select_related = ("letter",)
    readonly_fields = [f.name for f in Signature._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "state", "attempts", "created_at", "sent_at", "last_error")
    list_filter = ("state", "kind")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    raw_id_fields = ("signature",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
