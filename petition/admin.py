from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from letters.models import Letter

from .models import Block, LetterCount, Signature, WatchedName
from .moderation.services import ModerationError, signatures_moderate
from .signing.services import block_create, block_value_normalize


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = (
        "name", "letter", "status", "moderation", "flags", "shadow_reason", "counted", "created_at",
    )  # fmt: skip
    list_filter = ("status", "moderation", "shadow_reason", "counted", "show_name", "letter")
    search_fields = ("name", "email_normalized", "organization")
    date_hierarchy = "created_at"
    list_select_related = ("letter",)
    readonly_fields = [f.name for f in Signature._meta.fields]
    actions = ["approve", "hide", "reject", "restore"]

    def _moderate(self, request: HttpRequest, queryset: "QuerySet[Signature]", action: str) -> None:
        # The same service as the moderation queue, one audited action per letter.
        by_letter: dict[Letter, list[int]] = {}
        for signature in queryset.select_related("letter"):
            by_letter.setdefault(signature.letter, []).append(signature.pk)
        for letter, ids in by_letter.items():
            try:
                entry = signatures_moderate(
                    letter=letter, actor=request.user, action=action, signature_ids=ids
                )
            except ModerationError as error:
                self.message_user(request, f"{letter}: {error}", level="error")
            else:
                self.message_user(request, f"{letter}: {entry.signature_count} changed.")

    @admin.action(description="Approve the selected signatures")
    def approve(self, request: HttpRequest, queryset: "QuerySet[Signature]") -> None:
        self._moderate(request, queryset, "approve")

    @admin.action(description="Hide the names of the selected signatures (they still count)")
    def hide(self, request: HttpRequest, queryset: "QuerySet[Signature]") -> None:
        self._moderate(request, queryset, "hide")

    @admin.action(description="Reject the selected signatures (they stop counting)")
    def reject(self, request: HttpRequest, queryset: "QuerySet[Signature]") -> None:
        self._moderate(request, queryset, "reject")

    @admin.action(description="Restore the selected signatures (lifts shadow bans too)")
    def restore(self, request: HttpRequest, queryset: "QuerySet[Signature]") -> None:
        self._moderate(request, queryset, "restore")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


class BlockForm(forms.ModelForm):
    class Meta:
        model = Block
        fields = ("kind", "value", "letter", "note")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
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
        from .signing.screening import blocks_changed

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


@admin.register(WatchedName)
class WatchedNameAdmin(admin.ModelAdmin):
    list_display = ("name", "letter", "created_at")
    search_fields = ("name",)
    readonly_fields = ("letter", "name", "name_key", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added from the letter's watch list page, which audits and flags
