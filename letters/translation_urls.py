"""The owners' pages to write a letter's translations (the public page per language is in
pages/urls.py)."""

from django.urls import path

from . import translations

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
]
