"""Delivery pages of one letter, under /letters/<slug>/delivery/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.delivery, name="delivery"),
    # ?document=<id>; without one, the newest finished PDF.
    path("download/", views.delivery_download, name="delivery_download"),
]
