from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from letters.models import Letter
from tests.factories import LetterFactory, NamedSignatoryFactory, SignatureFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_home_lists_open_letters_with_their_counts(client: Client, tally) -> None:
    letter = LetterFactory(title="Fair terms for artists")
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    SignatureFactory(letter=letter)  # pending: not counted
    tally()
    LetterFactory(title="A draft nobody may see", status=Letter.Status.DRAFT)
    LetterFactory(title="A closed letter", status=Letter.Status.CLOSED)
    page = client.get("/").content.decode()
    assert "Fair terms for artists" in page
    assert "<strong>3</strong>" in page
    assert "A draft nobody may see" not in page
    open_part, _, closed_part = page.partition("Recently closed")
    assert "A closed letter" not in open_part
    assert "A closed letter" in closed_part


def test_home_orders_by_most_signed_or_newest_and_searches(client: Client, tally) -> None:
    quiet = LetterFactory(title="Quiet but newest", recipient="The city council")
    assert quiet.published_at is not None
    busy = LetterFactory(
        title="Busy and older", published_at=quiet.published_at - timedelta(days=3)
    )
    SignatureFactory.create_batch(4, letter=busy, verified=True)
    SignatureFactory.create_batch(1, letter=quiet, verified=True)
    tally()
    by_count = client.get("/").content.decode()
    assert by_count.index("Busy and older") < by_count.index("Quiet but newest")
    newest = client.get("/?sort=newest").content.decode()
    assert newest.index("Quiet but newest") < newest.index("Busy and older")
    found = client.get("/?q=council").content.decode()
    assert "Quiet but newest" in found
    assert "Busy and older" not in found
    # A hostile query or order is ignored, never an error.
    assert client.get("/?q=%00%1b[31m&sort=%00").status_code == 200


def test_home_shows_the_goal_percent_rounded_down(client: Client, tally) -> None:
    letter = LetterFactory(title="Nearly there", goal=1000)
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    page = client.get("/").content.decode()
    assert "0%" in page  # 3 of 1,000: 0.3 % reads 0 %, never rounded up


def test_start_a_letter_shows_only_where_someone_can_start_one(client: Client, settings) -> None:
    settings.SIGNUP_MODE = "closed"
    assert "Start a letter" not in client.get("/").content.decode()
    settings.SIGNUP_MODE = "open"
    assert "Start a letter" in client.get("/").content.decode()
    settings.SIGNUP_MODE = "closed"
    client.force_login(UserFactory())
    assert "Start a letter" in client.get("/").content.decode()


def test_letter_page_shows_text_recipient_and_named_signatories_apart(
    client: Client, tally
) -> None:
    letter = LetterFactory(recipient="The board of Example AI", goal=100)
    NamedSignatoryFactory(letter=letter, name="Ada Named", affiliation="Union of illustrators")
    SignatureFactory(letter=letter, name="Public Person", verified=True)
    tally()
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "To: <bdi>The board of Example AI</bdi>" in page
    assert "<strong>pay</strong>" in page
    named = page.index('class="named-signatories"')
    public = page.index('class="public-signatures"')
    assert named < page.index("Ada Named") < public
    assert page.index("Public Person") > public
    assert 'max="100" value="1"' in page


def test_letter_page_has_open_graph_and_twitter_tags(client: Client, settings) -> None:
    settings.SITE_URL = "https://letters.example.org"
    letter = LetterFactory(slug="fair", title="Fair & square")
    page = client.get(letter.get_absolute_url()).content.decode()
    assert '<meta property="og:title" content="Fair &amp; square">' in page
    assert '<meta property="og:url" content="https://letters.example.org/letters/fair/">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert 'property="og:description" content="We ask you to pay the artists.' in page


def test_only_verified_signers_who_chose_to_be_shown_are_listed(client: Client, tally) -> None:
    letter = LetterFactory()
    SignatureFactory(letter=letter, name="Shown Signer", verified=True)
    SignatureFactory(letter=letter, name="Hidden Signer", verified=True, show_name=False)
    SignatureFactory(letter=letter, name="Pending Signer")
    SignatureFactory(letter=letter, name="Shadow Signer", verified=True, shadow_reason="honeypot")
    tally()
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "Shown Signer" in page
    assert "Hidden Signer" not in page
    assert "Pending Signer" not in page
    assert "Shadow Signer" not in page
    assert '<strong id="signature-count">2</strong>' in page


def test_email_addresses_never_appear_on_the_letter_page(client: Client) -> None:
    letter = LetterFactory()
    SignatureFactory(letter=letter, email="secret.person@example.net", verified=True)
    assert b"secret.person" not in client.get(letter.get_absolute_url()).content


def test_draft_letter_is_not_found(client: Client) -> None:
    letter = LetterFactory(status=Letter.Status.DRAFT)
    assert client.get(letter.get_absolute_url()).status_code == 404


def test_closed_letter_is_readable_without_a_form(client: Client) -> None:
    letter = LetterFactory(status=Letter.Status.CLOSED)
    response = client.get(letter.get_absolute_url())
    assert response.status_code == 200
    assert b"Signing is closed" in response.content
    assert b'name="email"' not in response.content


def test_letter_past_closing_time_shows_as_closed(client: Client) -> None:
    letter = LetterFactory(closes_at=timezone.now() - timedelta(seconds=1))
    response = client.get(letter.get_absolute_url())
    assert b"Signing is closed" in response.content
    assert letter.public_status == Letter.Status.CLOSED


def test_signing_form_asks_only_for_the_fields_the_letter_collects(client: Client) -> None:
    letter = LetterFactory(signer_fields=["city"])
    page = client.get(letter.get_absolute_url()).content
    assert b'name="city"' in page
    assert b'name="organization"' not in page
    assert b'name="consent"' in page
    assert b'name="show_name"' in page


def test_letter_page_never_counts_signatures_to_show_the_count(
    client: Client, django_assert_num_queries, tally
) -> None:
    letter = LetterFactory()
    SignatureFactory(letter=letter, verified=True)
    tally()
    client.get(letter.get_absolute_url())  # the first view caches the letter's languages
    # letter, named signatories, latest public signatures: the count comes from the cache.
    with django_assert_num_queries(3) as captured:
        response = client.get(letter.get_absolute_url())
    assert not any("COUNT(" in q["sql"].upper() for q in captured.captured_queries)
    assert b'<strong id="signature-count">1</strong>' in response.content


def test_privacy_and_health_pages_answer(client: Client, settings) -> None:
    # The embedded default's answer (the production stack's is in tests/petition/test_health.py).
    settings.REDIS_URL = ""
    assert client.get("/privacy/").status_code == 200
    health = client.get("/health/")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "database": "up",
        "redis": "not configured",
        "worker": {"status": "inline"},
        "mail": {
            "queued": 0,
            "oldest_queued_seconds": None,
            "sent_last_hour": 0,
            "failed_last_hour": 0,
            "bounced_last_hour": 0,
        },
    }


def test_unknown_page_is_a_friendly_404(client: Client) -> None:
    response = client.get("/letters/no-such-letter/")
    assert response.status_code == 404
    assert b"See the open letters" in response.content


def test_account_pages_render_inside_the_site_layout(client: Client) -> None:
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'class="site-header"' in response.content, url


def test_letter_page_links_its_team_to_moderation_and_nobody_else(client) -> None:
    from letters.models import LetterRole
    from tests.factories import LetterRoleFactory, UserFactory

    letter = LetterFactory(slug="team-links")
    moderation = reverse("moderation_queue", args=[letter.slug])
    assert moderation not in client.get(letter.get_absolute_url()).content.decode()
    client.force_login(UserFactory())
    assert moderation not in client.get(letter.get_absolute_url()).content.decode()
    moderator = LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user
    client.force_login(moderator)
    page = client.get(letter.get_absolute_url()).content.decode()
    assert moderation in page
    assert reverse("letter_edit", args=[letter.slug]) not in page


def test_draft_preview_has_no_embed_panel_and_explains_when_signing_opens(client) -> None:
    from letters.models import Letter, LetterRole
    from tests.factories import LetterRoleFactory

    letter = LetterFactory(slug="still-draft", status=Letter.Status.DRAFT)
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    client.force_login(owner)
    page = client.get(reverse("letter_preview", args=[letter.slug])).content.decode()
    assert "once the letter is published" in page
    assert "Embed this letter" not in page
    assert "Signing is closed" not in page
