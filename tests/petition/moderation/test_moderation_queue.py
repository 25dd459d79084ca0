"""The moderation queue at scale: all on the page, all matching a filter as a bulk job with
progress and undo, each row's own buttons, and every field a moderator judges by."""

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from letters.models import AuditEntry, Letter, LetterRole
from petition.models import Signature
from petition.moderation import selectors as moderation_selectors
from petition.moderation.selectors import QueueFilter
from petition.moderation.services import (
    ModerationError,
    audit_undo,
    invalidation_run,
    signatures_moderate,
    signatures_moderate_matching,
)
from petition.selectors import letter_signature_count
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory
from tests.responses import TestResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(
        slug="flooded", signer_fields=["title", "organization", "city", "country", "comment"]
    )


@pytest.fixture
def moderator(letter: Letter) -> User:
    return LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user


@pytest.fixture
def moderator_client(client: Client, moderator: User) -> Client:
    client.force_login(moderator)
    return client


def flood(letter: Letter, n: int, domain: str = "flood.example") -> list[Signature]:
    return [
        SignatureFactory(letter=letter, verified=True, email=f"bot{i}@{domain}") for i in range(n)
    ]


def post_bulk(client: Client, letter: Letter, **data: object) -> TestResponse:
    return client.post(reverse("moderation_bulk", kwargs={"slug": letter.slug}), data)


def test_all_matching_a_filter_runs_as_one_undoable_job(
    letter: Letter, moderator: User, tally: Callable, django_capture_on_commit_callbacks
):
    bots = flood(letter, 7)
    honest = SignatureFactory(letter=letter, verified=True, email="ann@example.org")
    tally()
    with django_capture_on_commit_callbacks(execute=True):
        entry = signatures_moderate_matching(
            letter=letter,
            actor=moderator,
            action="invalidate",
            queue_filter=QueueFilter(search="@flood.example"),
            expected=7,
        )
    entry.refresh_from_db()
    assert (entry.state, entry.signature_count, entry.total) == ("done", 7, 7)
    assert entry.detail["filter"] == {"state": "all", "q": "@flood.example"}
    assert set(Signature.objects.filter(moderation="invalidated")) == set(bots)
    tally()
    assert letter_signature_count(letter) == 1
    with django_capture_on_commit_callbacks(execute=True):
        audit_undo(entry=entry, actor=moderator)
    tally()
    assert letter_signature_count(letter) == 8
    honest.refresh_from_db()
    assert honest.moderation == ""


def test_a_matching_job_leaves_signatures_that_arrived_after_it_started(
    letter: Letter, moderator: User
):
    flood(letter, 3)
    entry = signatures_moderate_matching(
        letter=letter,
        actor=moderator,
        action="reject",
        queue_filter=QueueFilter(search="@flood.example"),
        expected=3,
    )
    late = SignatureFactory(letter=letter, verified=True, email="late@flood.example")
    assert invalidation_run(entry_id=entry.pk) == 3
    late.refresh_from_db()
    assert late.moderation == ""


def test_a_matching_job_walks_in_batches_and_reports_progress(
    letter: Letter, moderator: User, settings
):
    settings.MODERATION_BATCH_SIZE = 2
    flood(letter, 5)
    entry = signatures_moderate_matching(
        letter=letter,
        actor=moderator,
        action="approve",
        queue_filter=QueueFilter(state="awaiting"),
        expected=5,
    )
    assert invalidation_run(entry_id=entry.pk) == 5
    entry.refresh_from_db()
    assert (entry.signature_count, entry.total, entry.state) == (5, 5, "done")
    assert not Signature.objects.exclude(moderation="approved").exists()


def test_all_matching_refuses_when_the_count_changed(letter: Letter, moderator: User):
    flood(letter, 3)
    with pytest.raises(ModerationError, match="now shows 3"):
        signatures_moderate_matching(
            letter=letter,
            actor=moderator,
            action="reject",
            queue_filter=QueueFilter(search="@flood.example"),
            expected=2,
        )
    assert not AuditEntry.objects.exists()


def test_restore_is_not_offered_for_all_matching(letter: Letter, moderator: User):
    flood(letter, 2)
    with pytest.raises(ModerationError):
        signatures_moderate_matching(
            letter=letter,
            actor=moderator,
            action="restore",
            queue_filter=QueueFilter(),
            expected=2,
        )


def test_queue_view_offers_all_matching_and_redirects_to_the_jobs_progress(
    letter: Letter, moderator_client: Client, django_capture_on_commit_callbacks
):
    flood(letter, 55)
    url = reverse("moderation_queue", kwargs={"slug": letter.slug})
    page = moderator_client.get(url, {"q": "@flood.example"}).content.decode()
    assert "all 55 signatures matching this filter" in page
    assert 'name="expected" value="55"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = post_bulk(
            moderator_client,
            letter,
            scope="matching",
            action="invalidate",
            q="@flood.example",
            state="all",
            expected="55",
        )
    entry = AuditEntry.objects.get()
    assert response["Location"] == reverse(
        "moderation_entry", kwargs={"slug": letter.slug, "entry_id": entry.pk}
    )
    assert Signature.objects.filter(moderation="invalidated").count() == 55


def test_all_on_the_page_takes_the_pages_ids(letter: Letter, moderator_client: Client):
    first, second, _third = flood(letter, 3)
    post_bulk(
        moderator_client,
        letter,
        scope="page",
        action="hide",
        page_ids=f"{first.pk},{second.pk}",
    )
    assert set(Signature.objects.filter(moderation="hidden")) == {first, second}


def test_a_rows_own_button_changes_only_that_row(letter: Letter, moderator_client: Client):
    one, other = flood(letter, 2)
    page = moderator_client.get(reverse("moderation_queue", kwargs={"slug": letter.slug}))
    html = page.content.decode()
    assert f'id="row-{one.pk}"' in html
    assert f'form="row-{one.pk}" name="action" value="reject"' in html
    post_bulk(moderator_client, letter, action="reject", signature=str(one.pk))
    one.refresh_from_db()
    other.refresh_from_db()
    assert (one.moderation, other.moderation) == ("rejected", "")


@pytest.mark.parametrize(
    "data",
    [
        {"scope": "matching", "action": "reject"},
        {"scope": "matching", "action": "restore", "expected": "2"},
        {"scope": "page", "action": "reject", "page_ids": "1,x"},
        {"scope": "everything", "action": "reject"},
        {"scope": "matching", "action": "reject", "expected": "-1"},
        {"scope": "matching", "action": "reject", "expected": "2", "state": "nope"},
        {"scope": "page", "action": "reject", "page_ids": ""},
    ],
)
def test_bad_bulk_requests_get_a_message_and_change_nothing(
    letter: Letter, moderator_client: Client, data: dict[str, str]
):
    flood(letter, 2)
    response = post_bulk(moderator_client, letter, **data)
    assert response.status_code == 302
    assert list(get_messages(response.wsgi_request))
    assert not Signature.objects.exclude(moderation="").exists()
    assert not AuditEntry.objects.exists()


def test_rows_show_every_field_the_letter_collects_and_the_comment(
    letter: Letter, moderator_client: Client
):
    SignatureFactory(
        letter=letter,
        verified=True,
        name="Dana Fox",
        title="Nurse",
        organization="City Hospital",
        city="Lyon",
        country="FR",
        comment="Staffing matters.",
    )
    html = moderator_client.get(
        reverse("moderation_queue", kwargs={"slug": letter.slug})
    ).content.decode()
    for text in ("Dana Fox", "Nurse", "City Hospital", "Lyon", "France", "Staffing matters."):
        assert text in html
    assert "js/moderation.js" in html
    assert 'id="shortcut-help"' in html


def test_invalidation_preview_lists_who_matches_with_a_breakdown(
    letter: Letter, moderator_client: Client
):
    for i in range(60):
        SignatureFactory(
            letter=letter,
            verified=True,
            name=f"Bot {i:02}",
            email=f"bot{i}@flood.example",
            ip_address=f"203.0.113.{i}" if i < 40 else "2001:db8:1:2::7",
        )
    SignatureFactory(letter=letter, verified=True, name="Honest Ann", email="ann@example.org")
    response = moderator_client.post(
        reverse("moderation_invalidate", kwargs={"slug": letter.slug}),
        {"domain": "flood.example", "preview": "1"},
    )
    html = response.content.decode()
    assert "60 signatures match." in html
    assert "Bot 59" in html and "Bot 10" in html and "Bot 09" not in html  # the newest 50
    assert "Honest Ann" not in html
    assert "203.0.113.0/24" in html and "2001:db8:1:2::/64" in html
    assert "flood.example" in html
    assert "matching.csv?domain=flood.example" in html


def test_invalidation_csv_lists_every_match_masked_and_safe(
    letter: Letter, moderator_client: Client
):
    SignatureFactory(letter=letter, verified=True, name="=cmd|calc", email="evil@flood.example")
    for i in range(3):
        SignatureFactory(letter=letter, verified=True, email=f"bot{i}@flood.example")
    SignatureFactory(letter=letter, verified=True, email="ann@example.org")
    url = reverse("moderation_invalidate_csv", kwargs={"slug": letter.slug})
    response = moderator_client.get(url, {"domain": "flood.example"})
    assert response.status_code == 200
    assert response.streaming
    lines = response.getvalue().decode().splitlines()
    assert len(lines) == 5
    assert "'=cmd|calc" in lines[1]
    assert "e•••@flood.example" in lines[1]
    assert "ann@" not in "".join(lines)


@pytest.mark.parametrize("query", [{}, {"domain": "com"}, {"cidr": "nonsense"}])
def test_invalidation_csv_with_bad_criteria_is_a_400(
    letter: Letter, moderator_client: Client, query: dict[str, str]
):
    url = reverse("moderation_invalidate_csv", kwargs={"slug": letter.slug})
    assert moderator_client.get(url, query).status_code == 400


def test_invalidation_csv_is_for_the_team_only(letter: Letter, client: Client):
    url = reverse("moderation_invalidate_csv", kwargs={"slug": letter.slug})
    assert client.get(url, {"domain": "flood.example"}).status_code in (302, 403, 404)


def test_a_moderator_hides_a_comment_keeps_the_name_and_can_undo(
    letter: Letter, moderator: object, moderator_client: Client
):
    signature = SignatureFactory(
        letter=letter, verified=True, name="Kim", comment="Buy cheap pills", show_comment=True
    )
    html = moderator_client.get(
        reverse("moderation_queue", kwargs={"slug": letter.slug})
    ).content.decode()
    assert f'form="row-{signature.pk}" name="action" value="hide_comment"' in html
    post_bulk(moderator_client, letter, action="hide_comment", signature=str(signature.pk))
    signature.refresh_from_db()
    assert signature.comment_hidden and signature.moderation == ""
    entry = AuditEntry.objects.get(action=AuditEntry.Action.COMMENT_HIDE)
    assert entry.signature_count == 1 and entry.is_undoable
    audit_undo(entry=entry, actor=moderator)
    signature.refresh_from_db()
    assert not signature.comment_hidden


def test_showing_a_comment_again_is_audited(letter: Letter, moderator_client: Client):
    signature = SignatureFactory(letter=letter, comment="fine", comment_hidden=True)
    post_bulk(moderator_client, letter, action="show_comment", signature=str(signature.pk))
    signature.refresh_from_db()
    assert not signature.comment_hidden
    assert AuditEntry.objects.filter(action=AuditEntry.Action.COMMENT_SHOW).exists()


def test_the_queue_suggests_under_attack_mode_on_a_spike(
    letter: Letter, moderator_client: Client, settings
):
    url = reverse("moderation_queue", kwargs={"slug": letter.slug})
    flood(letter, 49)
    assert "under-attack mode" not in moderator_client.get(url).content.decode()
    SignatureFactory(letter=letter, email="x@flood.example")
    html = moderator_client.get(url).content.decode()
    assert "signatures from addresses at flood.example in the last ten minutes" in html
    assert "under-attack mode" in html


def test_no_spike_from_a_large_mail_provider_or_long_ago(letter: Letter, moderator_client: Client):
    flood(letter, 60, domain="gmail.com")
    old = timezone.now() - timedelta(hours=1)
    for i in range(60):
        SignatureFactory(letter=letter, email=f"o{i}@old.example", created_at=old)
    html = moderator_client.get(
        reverse("moderation_queue", kwargs={"slug": letter.slug})
    ).content.decode()
    assert "in the last ten minutes" not in html


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's forms (the bulk form's, on the queue)."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def matching_form(html: str) -> dict[str, str]:
    fields = hidden_fields(html)
    return {
        name: fields[name] for name in ("state", "q", "expected", "up_to", "more") if name in fields
    }


@pytest.fixture
def count_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(moderation_selectors, "QUEUE_COUNT_LIMIT", 10)
    return 10


def test_past_the_count_limit_all_matching_asks_again_with_the_exact_count(
    letter: Letter, moderator_client: Client, count_limit: int, django_capture_on_commit_callbacks
):
    flood(letter, 52)
    url = reverse("moderation_queue", kwargs={"slug": letter.slug})
    page = moderator_client.get(url, {"q": "@flood.example"}).content.decode()
    assert "all of the more than 10 signatures matching this filter" in page
    form = matching_form(page) | {"scope": "matching", "action": "reject"}
    assert (form["expected"], form["more"]) == ("10", "1")
    confirm = post_bulk(moderator_client, letter, **form)
    assert confirm.status_code == 200
    assert "Reject 52 signatures?" in confirm.content.decode()
    assert not AuditEntry.objects.exists()
    late = SignatureFactory(letter=letter, verified=True, email="late@flood.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_bulk(moderator_client, letter, **hidden_fields(confirm.content.decode()))
    entry = AuditEntry.objects.get()
    assert response["Location"] == reverse(
        "moderation_entry", kwargs={"slug": letter.slug, "entry_id": entry.pk}
    )
    entry.refresh_from_db()
    assert (entry.state, entry.signature_count, entry.total) == ("done", 52, 52)
    late.refresh_from_db()
    assert late.moderation == ""


def test_a_confirmed_count_is_checked_again_when_the_job_starts(
    letter: Letter, moderator_client: Client, moderator: User, count_limit: int
):
    bots = flood(letter, 52)
    url = reverse("moderation_queue", kwargs={"slug": letter.slug})
    page = moderator_client.get(url, {"state": "awaiting"}).content.decode()
    form = matching_form(page) | {"scope": "matching", "action": "reject"}
    confirm = post_bulk(moderator_client, letter, **form).content.decode()
    assert "Reject 52 signatures?" in confirm
    # Another moderator approves one meanwhile: the filter no longer shows it.
    signatures_moderate(
        letter=letter, actor=moderator, action="approve", signature_ids=[bots[0].pk]
    )
    response = post_bulk(moderator_client, letter, **hidden_fields(confirm))
    assert response.status_code == 302
    assert "now shows 51 signatures, not the 52" in str(list(get_messages(response.wsgi_request)))
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.REJECT).exists()


def test_a_matching_job_takes_what_the_filter_shows_when_it_runs(letter: Letter, moderator: User):
    bots = flood(letter, 5)
    entry = signatures_moderate_matching(
        letter=letter,
        actor=moderator,
        action="reject",
        queue_filter=QueueFilter(state="awaiting"),
        expected=5,
    )
    signatures_moderate(
        letter=letter, actor=moderator, action="approve", signature_ids=[bots[0].pk]
    )
    assert invalidation_run(entry_id=entry.pk) == 4
    bots[0].refresh_from_db()
    assert bots[0].moderation == "approved"


def test_an_invalidation_past_the_count_limit_is_counted_exactly_before_it_starts(
    letter: Letter, moderator_client: Client, count_limit: int, django_capture_on_commit_callbacks
):
    flood(letter, 12)
    url = reverse("moderation_invalidate", kwargs={"slug": letter.slug})
    preview = moderator_client.post(url, {"domain": "flood.example", "preview": "1"})
    html = preview.content.decode()
    assert "More than 10 signatures match." in html
    assert "The breakdowns count the newest 10 of them." in html
    fields = hidden_fields(html)
    assert (fields["expected"], fields["more"]) == ("10", "1")
    exact = moderator_client.post(
        url, {"domain": "flood.example", "confirm": "1", **matching_form(html)}
    ).content.decode()
    assert "12 signatures match." in exact
    assert 'name="expected" value="12"' in exact
    assert not AuditEntry.objects.exists()
    late = SignatureFactory(letter=letter, verified=True, email="late@flood.example")
    with django_capture_on_commit_callbacks(execute=True):
        moderator_client.post(
            url, {"domain": "flood.example", "confirm": "1", **matching_form(exact)}
        )
    entry = AuditEntry.objects.get()
    assert (entry.state, entry.signature_count) == ("done", 12)
    late.refresh_from_db()
    assert late.moderation == ""
