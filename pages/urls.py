"""The pages over letters and signatures. Included before the public letter routes, like
the authoring pages, so that /letters/new/ is not taken for a letter's address."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("letters/<slug:slug>/preview/", views.letter_preview, name="letter_preview"),
    path("letters/<slug:slug>/changes/", views.letter_changes, name="letter_changes"),
]
