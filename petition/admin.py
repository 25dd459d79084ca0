from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Block, LetterCount, OutboundEmail, Signature
from .outbox import outbound_retry
from .services import block_create, block_value_normalize


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = (
        "name", "letter", "status", "shadow_reason", "counted", "country", "created_at", "verified_at",
    )  # fmt: skip
    list_filter = ("status", "shadow_reason", "counted", "show_name", "letter")
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
    actions = ["retry"]

    @admin.action(description="Queue the selected failed emails again")
    def retry(self, request: HttpRequest, queryset: object) -> None:
        count = outbound_retry(outbound_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed email(s) queued again.")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


class BlockForm(forms.ModelForm):
    class Meta:
        model = Block
        fields = ("kind", "value", "letter", "note")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") and data.get("value"):
            data["value"] = block_value_normalize(data["kind"], data["value"])
        return data


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    form = BlockForm
    list_display = ("kind", "value", "letter", "note", "created_at")
    list_filter = ("kind",)
    search_fields = ("value", "note")
    raw_id_fields = ("letter",)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Block, form: object, change: bool) -> None:
        saved = block_create(kind=obj.kind, value=obj.value, letter=obj.letter, note=obj.note)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Block) -> None:
        from .screening import blocks_changed

        super().delete_model(request, obj)
        blocks_changed()


@admin.register(LetterCount)
class LetterCountAdmin(admin.ModelAdmin):
    list_display = ("letter", "dimension", "key", "count", "updated_at")
    list_filter = ("dimension",)
    readonly_fields = ("letter", "dimension", "key", "count", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
