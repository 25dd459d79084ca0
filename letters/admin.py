from django.contrib import admin
from django.http import HttpRequest

from .models import Letter, NamedSignatory
from .services import letter_save


class NamedSignatoryInline(admin.TabularInline):
    model = NamedSignatory
    extra = 1


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "status", "goal", "closes_at", "published_at")
    list_filter = ("status", "language")
    search_fields = ("title", "slug", "recipient")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [NamedSignatoryInline]
    raw_id_fields = ("owner",)

    def save_model(self, request: HttpRequest, obj: Letter, form: object, change: bool) -> None:
        letter_save(letter=obj)
