from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from core.csrf import origin_checked
from delivery import og
from letters import contact
from pages import views as page_views
from petition import retention
from petition import views as petition_views
from petition.api import api
from petition.embeds import oembed
from petition.embeds import views as embed
from petition.signing import signatories
from petition.signing import views as signing_views
from trustlog import views as trustlog_views

urlpatterns = [
    path("", include("pages.urls")),
    path("", include("letters.authoring_urls")),
    path("account/", include("accounts.urls")),
    path("letters/<slug:slug>/", page_views.letter_detail, name="letter_detail"),
    path("letters/<slug:slug>/log/", include("trustlog.urls")),
    path("log/key", trustlog_views.log_key, name="log_key"),
    path("", include("letters.translation_urls")),
    # `<lang:...>` matches only language codes Django knows, so this never takes a sibling
    # like sign/ or og.png.
    path(
        "letters/<slug:slug>/<lang:language>/",
        page_views.letter_detail,
        name="letter_detail_language",
    ),
    # A form with errors is shown again on the letter's page, which the pages app draws.
    path(
        "letters/<slug:slug>/sign/",
        signing_views.signature_submit,
        {"letter_page": page_views.letter_page},
        name="signature_submit",
    ),
    path(
        "letters/<slug:slug>/sign/challenge/",
        signing_views.signature_challenge,
        name="signature_challenge",
    ),
    path(
        "letters/<slug:slug>/signed/",
        signing_views.signature_submitted,
        name="signature_submitted",
    ),
    path("letters/<slug:slug>/moderation/", include("petition.moderation.urls")),
    path("letters/<slug:slug>/manage/", include("petition.selfservice.urls")),
    path("letters/<slug:slug>/delivery/", include("delivery.urls")),
    path("letters/<slug:slug>/og.png", og.og_image, name="letter_og_image"),
    path("letters/<slug:slug>/signatures/", signatories.signatory_list, name="signatory_list"),
    path("letters/<slug:slug>/contact/", contact.letter_contact, name="letter_contact"),
    path("letters/<slug:slug>/reconfirm/", include("petition.reconfirm.urls")),
    path("", include("petition.affiliations.urls")),
    path("", include("mail.urls")),
    path(
        "letters/<slug:slug>/confirm/<str:token>/",
        signing_views.signature_confirm,
        name="signature_confirm",
    ),
    path("embed/<slug:slug>/count.json", embed.count_json, name="embed_count_json"),
    path("embed/<slug:slug>/badge.svg", embed.badge_svg, name="embed_badge_svg"),
    path("embed/<slug:slug>/shields.json", embed.shields_json, name="embed_shields_json"),
    path("embed/<slug:slug>/", embed.widget, name="embed_widget"),
    path("embed.js", embed.loader_js, name="embed_loader"),
    path("oembed", oembed.oembed, name="oembed"),
    path("robots.txt", petition_views.robots_txt, name="robots_txt"),
    # The language switcher posts here without a token: no cookie just for reading.
    path("i18n/setlang/", origin_checked(set_language), name="set_language"),
    path("privacy/", retention.privacy, name="privacy"),
    path("health/", petition_views.health, name="health"),
    path("api/v1/", api.urls),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
