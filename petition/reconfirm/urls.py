"""Confirming a signature on a new version of the letter, under /letters/<slug>/reconfirm/."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/", views.signature_reconfirm_view, name="signature_reconfirm"),
]
