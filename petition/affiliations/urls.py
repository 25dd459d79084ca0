"""Verified affiliations: the signer's request (from their manage link), the confirming
page the emailed link opens, the moderators' check, and the owners' page for named
signatories. Included at the site root from config/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "letters/<slug:slug>/manage/<str:token>/affiliation/",
        views.signature_affiliation_request,
        name="signature_affiliation_request",
    ),
    # Without the letter's slug: a draft's address may change while a link is out.
    path(
        "affiliations/confirm/<str:token>/",
        views.affiliation_confirm_view,
        name="affiliation_confirm",
    ),
    path(
        "letters/<slug:slug>/moderation/affiliation/<int:signature_id>/",
        views.moderation_affiliation,
        name="moderation_affiliation",
    ),
    path(
        "letters/<slug:slug>/team/signatories/", views.named_affiliations, name="named_affiliations"
    ),
    path(
        "letters/<slug:slug>/team/signatories/<int:named_id>/",
        views.named_affiliation_action,
        name="named_affiliation_action",
    ),
]
