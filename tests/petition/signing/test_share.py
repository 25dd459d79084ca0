"""Sharing the letter from the "check your inbox" and "your signature counts" pages: plain
links only, nothing loaded from another site."""

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client

from letters.models import Letter
from tests.factories import SignatureFactory
from tests.petition.conftest import confirm_link

pytestmark = pytest.mark.django_db

SHARE_HOSTS = {"bsky.app", "www.linkedin.com", "x.com", "wa.me"}


def share_links(page: str) -> dict[str, str]:
    block = page[page.index('class="share"') :]
    hrefs = [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', block)]
    return {urlsplit(href).hostname or urlsplit(href).scheme: href for href in hrefs}


def test_the_check_your_inbox_page_offers_every_way_to_share(
    client: Client, letter: Letter, sign: Callable, settings
) -> None:
    settings.SITE_URL = "https://letters.example"
    response = sign(letter)
    page = client.get(response["Location"]).content.decode()
    links = share_links(page)
    assert set(links) >= SHARE_HOSTS
    letter_url = "https://letters.example/letters/fair-terms/"
    assert parse_qs(urlsplit(links["www.linkedin.com"]).query)["url"] == [letter_url]
    assert parse_qs(urlsplit(links["x.com"]).query)["url"] == [letter_url]
    assert letter_url in parse_qs(urlsplit(links["wa.me"]).query)["text"][0]
    assert letter_url in parse_qs(urlsplit(links["bsky.app"]).query)["text"][0]
    mailto = parse_qs(urlsplit(links["mailto"]).query)
    assert letter.title in mailto["subject"][0]
    assert letter_url in mailto["body"][0]
    assert f'value="{letter_url}" readonly' in page
    assert "share-mastodon" in page
    assert "paste it into a new post on your server" in page


def test_share_links_open_nothing_but_on_a_click(
    client: Client, letter: Letter, sign: Callable
) -> None:
    page = client.get(sign(letter)["Location"]).content.decode()
    # Every script, style, image and frame the page loads is the site's own.
    for source in re.findall(r'<(?:script|img|iframe|link)[^>]+(?:src|href)="([^"]+)"', page):
        assert not urlsplit(source).netloc, source
    assert "<script>" not in page
    for link in re.findall(r'<a [^>]*href="https://[^"]+"[^>]*>', page):
        assert 'rel="noopener noreferrer"' in link


def test_the_confirmation_page_offers_sharing_once_the_signature_counts(
    client: Client, letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    page = confirm(confirm_link(mail.outbox[0])).content.decode()
    assert "Thank you: your signature counts" in page
    assert set(share_links(page)) >= SHARE_HOSTS
    assert "js/share.js" in page


def test_a_withdrawn_signature_is_not_asked_to_share(client: Client, letter: Letter) -> None:
    from petition.signing.tokens import make_verification_token

    signature = SignatureFactory(letter=letter, verified=True, status="withdrawn")
    token = make_verification_token(signature_id=signature.pk, letter_id=letter.pk)
    page = client.get(f"/letters/{letter.slug}/confirm/{token}/").content.decode()
    assert "You have withdrawn this signature" in page
    assert 'class="share"' not in page


def test_the_share_text_is_in_the_language_of_the_page(
    client: Client, letter: Letter, sign: Callable
) -> None:
    from letters.models import LetterTranslation

    LetterTranslation.objects.create(
        letter=letter, language="fr", title="Des conditions justes", body="Texte.",
        based_on_version=letter.version,
    )  # fmt: skip
    response = sign(letter, language="fr")
    page = client.get(response["Location"]).content.decode()
    mailto = parse_qs(urlsplit(share_links(page)["mailto"]).query)
    assert "Des conditions justes" in mailto["subject"][0]
    linkedin = parse_qs(urlsplit(share_links(page)["www.linkedin.com"]).query)
    assert linkedin["url"][0].endswith("/letters/fair-terms/fr/")
