"""Signer self-service, mounted under /letters/<slug>/manage/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.manage_link_request, name="signature_manage_request"),
    path("<str:token>/", views.signature_manage, name="signature_manage"),
    path(
        "<str:token>/withdraw/", views.signature_manage_withdraw, name="signature_manage_withdraw"
    ),
    path("<str:token>/data.json", views.signature_manage_data, name="signature_manage_data"),
]
