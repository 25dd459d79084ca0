"""Authoring pages (the dashboard and the preview are in pages/urls.py). Included before the public letter routes, so that /letters/new/ is
not taken for a letter's address."""

from django.urls import path

from . import authoring as views

urlpatterns = [
    path("dashboard/markdown-preview/", views.markdown_preview, name="markdown_preview"),
    path("letters/new/", views.letter_new, name="letter_new"),
    path("letters/<slug:slug>/edit/", views.letter_edit, name="letter_edit"),
    path("letters/<slug:slug>/publish/", views.letter_publish_view, name="letter_publish"),
    path("letters/<slug:slug>/close/", views.letter_close_view, name="letter_close"),
    path("letters/<slug:slug>/reopen/", views.letter_reopen_view, name="letter_reopen"),
    path("letters/<slug:slug>/team/", views.team, name="letter_team"),
    path("letters/<slug:slug>/team/invite/", views.team_invite, name="letter_team_invite"),
    path(
        "letters/<slug:slug>/team/revoke/<int:invitation_id>/",
        views.team_invitation_revoke,
        name="letter_invitation_revoke",
    ),
    path(
        "letters/<slug:slug>/team/remove/<int:member_id>/",
        views.team_member_remove,
        name="letter_member_remove",
    ),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
    path("staff/letters/", views.staff_letters, name="staff_letters"),
    path(
        "staff/letters/<slug:slug>/approve/",
        views.staff_letter_approve,
        name="staff_letter_approve",
    ),
]
