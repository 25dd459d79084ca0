"""The trust log's addresses under /letters/<slug>/log/ (included by config/urls.py)."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.log_explain, name="log_explain"),
    path("checkpoint", views.log_checkpoint, name="log_checkpoint"),
    path("key", views.letter_log_key, name="letter_log_key"),
    # The index's canonical form is checked by the view (merkle.parse_index).
    re_path(
        r"^tile/entries/(?P<rest>[x0-9/]+(?:\.p/[0-9]+)?)$", views.log_entries, name="log_entries"
    ),
    re_path(
        r"^tile/(?P<level>0|[1-9][0-9]?)/(?P<rest>[x0-9/]+(?:\.p/[0-9]+)?)$",
        views.log_tile,
        name="log_tile",
    ),
    # Anything else under tile/ is no tile: a plain 404, as for a tile not published yet.
    re_path(r"^tile/", views.log_tile_missing),
]
