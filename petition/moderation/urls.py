"""Moderation pages, under /letters/<slug>/moderation/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.moderation_queue_view, name="moderation_queue"),
    path("bulk/", views.moderation_bulk_view, name="moderation_bulk"),
    path("invalidate/", views.invalidation_view, name="moderation_invalidate"),
    path("invalidate/matching.csv", views.invalidation_csv_view, name="moderation_invalidate_csv"),
    path("log/", views.audit_log_view, name="moderation_log"),
    path("log/<int:entry_id>/", views.audit_entry_view, name="moderation_entry"),
    path("log/<int:entry_id>/undo/", views.audit_undo_view, name="moderation_undo"),
    path("watch/", views.watch_list_view, name="moderation_watch"),
    path("defences/", views.defences_view, name="moderation_defences"),
    path("export.csv", views.export_csv_view, name="moderation_export_csv"),
]
