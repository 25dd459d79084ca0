"""The invalidation preview's bounded read: newest first where that is cheap, a sample the
page says is a sample where it is not, counts exact up to the limit, breakdowns grouped in
the database, and name patterns matched as LIKE patterns with their wildcards escaped."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.db import time_limited, timed_out
from letters.models import Letter, LetterRole
from petition.models import Signature
from petition.moderation import selectors as moderation_selectors
from petition.moderation import views as moderation_views
from petition.moderation.selectors import signatures_preview
from petition.moderation.services import InvalidationCriteria, invalidation_queryset
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="previewed")


@pytest.fixture
def moderator_client(client: Client, letter: Letter) -> Client:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    return client


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A count limit of 10, 5 rows shown, and a density probe of the newest 20."""
    monkeypatch.setattr(moderation_selectors, "QUEUE_COUNT_LIMIT", 10)
    monkeypatch.setattr(moderation_selectors, "PREVIEW_ROWS", 5)
    monkeypatch.setattr(moderation_selectors, "DENSITY_PROBE", 20)


def sign(letter: Letter, n: int, domain: str, *, days_ago: int = 0, **extra: object) -> list:
    when = timezone.now() - timedelta(days=days_ago)
    return [
        SignatureFactory(
            letter=letter, verified=True, email=f"s{i}@{domain}", created_at=when, **extra
        )
        for i in range(n)
    ]


def preview_of(letter: Letter, **criteria: Any) -> moderation_selectors.Preview:
    signatures = invalidation_queryset(
        letter=letter, criteria=InvalidationCriteria(**criteria).cleaned()
    )
    return signatures_preview(signatures, letter=letter)


def breakdown_total(preview: moderation_selectors.Preview) -> int:
    return sum(n for _domain, n in preview.breakdown.domains)


def test_a_flood_among_the_newest_is_previewed_newest_first(letter: Letter, small_limits: None):
    sign(letter, 30, "quiet.example")
    flood = sign(letter, 15, "flood.example")
    preview = preview_of(letter, domain="flood.example")
    assert (preview.matching, preview.more, preview.newest_sample) == (10, True, True)
    assert [row.pk for row in preview.rows] == [s.pk for s in reversed(flood)][:5]
    # The breakdown counts the newest ten, not the one read past them to know there are more.
    assert breakdown_total(preview) == 10
    assert preview.newest == flood[-1].pk


def test_a_large_old_set_is_previewed_from_a_sample_the_page_names(
    letter: Letter, small_limits: None, moderator_client: Client
):
    old = sign(letter, 15, "old-flood.example", days_ago=20)
    newest = sign(letter, 30, "quiet.example")[-1]
    preview = preview_of(letter, domain="old-flood.example")
    assert (preview.matching, preview.more, preview.newest_sample) == (10, True, False)
    assert breakdown_total(preview) == 10
    assert {row.pk for row in preview.rows} <= {s.pk for s in old}
    assert [row.pk for row in preview.rows] == sorted(
        (row.pk for row in preview.rows), reverse=True
    )
    # Acting on them is pinned to the letter's newest signature when they were read.
    assert preview.newest == newest.pk

    html = moderator_client.post(
        reverse("moderation_invalidate", kwargs={"slug": letter.slug}),
        {"domain": "old-flood.example", "preview": "1"},
    ).content.decode()
    assert "More than 10 signatures match." in html
    assert "the first the database found, which may not be the newest" in html
    assert "5 of them, newest first" in html
    assert "The newest" not in html


def test_a_small_old_set_is_read_whole_and_shown_newest_first(letter: Letter, small_limits: None):
    old = sign(letter, 6, "old-flood.example", days_ago=3)
    sign(letter, 30, "quiet.example")
    preview = preview_of(letter, domain="old-flood.example")
    assert (preview.matching, preview.more, preview.newest_sample) == (6, False, True)
    assert [row.pk for row in preview.rows] == [s.pk for s in reversed(old)][:5]
    assert preview.counting == 6
    assert preview.breakdown.days == [((timezone.now() - timedelta(days=3)).date(), 6)]


def test_the_density_probe_reads_only_this_letters_newest(letter: Letter, small_limits: None):
    """Another letter's newer signatures neither hide this letter's flood nor count in it."""
    flood = sign(letter, 12, "flood.example")
    sign(LetterFactory(slug="other"), 40, "flood.example")
    preview = preview_of(letter, domain="flood.example")
    assert (preview.matching, preview.more, preview.newest_sample) == (10, True, True)
    assert preview.newest == flood[-1].pk


def test_an_empty_set_previews_as_nothing(letter: Letter, moderator_client: Client):
    sign(letter, 3, "quiet.example")
    preview = preview_of(letter, domain="nobody.example")
    assert (preview.matching, preview.rows, preview.newest) == (0, [], None)
    html = moderator_client.post(
        reverse("moderation_invalidate", kwargs={"slug": letter.slug}),
        {"domain": "nobody.example", "preview": "1"},
    ).content.decode()
    assert "0 signatures match." in html
    assert 'name="expected"' not in html


def test_counting_leaves_out_the_unverified_and_the_shadowed(letter: Letter):
    sign(letter, 3, "flood.example")
    SignatureFactory(letter=letter, email="p@flood.example", status=Signature.Status.PENDING)
    SignatureFactory(
        letter=letter, verified=True, email="h@flood.example", shadow_reason="honeypot"
    )
    preview = preview_of(letter, domain="flood.example")
    assert (preview.matching, preview.counting) == (5, 3)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("ann_lee", {"Ann_Lee"}),  # "_" is the letter, not LIKE's any-one-character
        ("ann?lee", {"Ann_Lee", "Ann Lee", "Annxlee"}),
        ("ann*", {"Ann_Lee", "Ann Lee", "Annxlee", "Ann 100%"}),
        ("ann 100*", {"Ann 100%"}),
        ("*lee", {"Ann_Lee", "Ann Lee", "Annxlee"}),
        ("ann", set()),  # a pattern matches the whole name
        ("ANN LEE", {"Ann Lee"}),
    ],
)
def test_a_name_pattern_is_a_glob_over_the_whole_normalized_name(
    letter: Letter, pattern: str, expected: set[str]
):
    for name in ("Ann_Lee", "Ann Lee", "Annxlee", "Ann 100%", "Bob Lee Ann"):
        SignatureFactory(letter=letter, verified=True, name=name)
    matched = invalidation_queryset(
        letter=letter, criteria=InvalidationCriteria(name_pattern=pattern).cleaned()
    )
    assert {s.name for s in matched} == expected


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statement time limits are PostgreSQL's"
)


@needs_postgresql
def test_a_statement_past_the_time_limit_is_cancelled_and_the_limit_ends_with_the_block():
    with pytest.raises(DatabaseError) as raised, time_limited(50), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2)")
    assert timed_out(raised.value)
    with time_limited(5000), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.1), current_setting('statement_timeout')")
        assert cursor.fetchone()[1] == "0"


@needs_postgresql
def test_a_preview_too_slow_to_answer_asks_to_narrow_the_criteria(
    letter: Letter, moderator_client: Client, monkeypatch: pytest.MonkeyPatch
):
    sign(letter, 3, "flood.example")

    def slow_preview(*args: object, **kwargs: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")

    monkeypatch.setattr(moderation_views, "PREVIEW_TIME_LIMIT_MS", 50)
    monkeypatch.setattr(moderation_views, "signatures_preview", slow_preview)
    response = moderator_client.post(
        reverse("moderation_invalidate", kwargs={"slug": letter.slug}),
        {"name_pattern": "*x*", "preview": "1"},
    )
    assert response.status_code == 400
    assert "take too long to check on a letter this large" in response.content.decode()
    assert Signature.objects.filter(letter=letter).count() == 3
