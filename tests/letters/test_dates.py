"""One way to write dates and times per language (core.dates), with the time zone named
wherever a time is shown; and the signer's language on the pages their links open."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from core.dates import date_display, datetime_display
from letters.models import LetterTranslation
from petition.signing.tokens import make_manage_token
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)


def test_a_time_names_its_zone_and_follows_the_language() -> None:
    with timezone.override("Europe/Paris"), translation.override("fr"):
        assert datetime_display(MOMENT) == "4 mars 2026 16:30 CET"
    with translation.override("en"):
        assert datetime_display(MOMENT).endswith(" UTC")
        assert date_display(date(2026, 3, 4)) == "March 4, 2026"


def test_a_day_is_the_day_in_the_site_time_zone() -> None:
    late = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)
    with timezone.override("Asia/Tokyo"), translation.override("en"):
        assert date_display(late) == "March 5, 2026"


def test_the_closing_time_on_the_letter_page_names_its_zone(client: Client) -> None:
    closes = timezone.now() + timedelta(days=30)
    letter = LetterFactory(slug="closing", closes_at=closes)
    page = client.get(letter.get_absolute_url()).content.decode()
    assert f"Open until {datetime_display(closes)}" in page
    assert " UTC" in datetime_display(closes)
    assert page.count(" UTC UTC") == 0


def test_the_french_manage_page_shows_the_french_title(client: Client) -> None:
    letter = LetterFactory(slug="titles", title="Fair terms", language="en")
    LetterTranslation.objects.create(
        letter=letter, language="fr", title="Des conditions justes", body="Texte.",
        based_on_version=letter.version,
    )  # fmt: skip
    signature = SignatureFactory(letter=letter, verified=True, language="fr")
    token = make_manage_token(signature_id=signature.pk, letter_id=letter.pk)
    response = client.get(f"/letters/titles/manage/{token}/")
    page = response.content.decode()
    assert "Des conditions justes" in page
    assert "Fair terms" not in page
    assert response["Content-Language"] == "fr"
