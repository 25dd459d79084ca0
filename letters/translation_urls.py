"""A letter in its other languages: the public page per language, and the owners' pages
to write the translations. `<lang:...>` matches only language codes Django knows, so the
public route never takes a sibling like sign/ or og.png."""

from django.urls import path

from . import translations, views

urlpatterns = [
    path(
        "letters/<slug:slug>/translations/",
        translations.translation_list,
        name="letter_translations",
    ),
    path(
        "letters/<slug:slug>/translations/<lang:language>/",
        translations.translation_edit,
        name="letter_translation_edit",
    ),
    path(
        "letters/<slug:slug>/translations/<lang:language>/delete/",
        translations.translation_delete_view,
        name="letter_translation_delete",
    ),
    path(
        "letters/<slug:slug>/<lang:language>/",
        views.letter_detail,
        name="letter_detail_language",
    ),
]
