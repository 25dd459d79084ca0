from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings

from accounts.models import User
from letters.models import AuditEntry, Letter, LetterRole
from petition.models import Signature, SignatureChange
from petition.moderation.anomalies import letter_flag_anomalies
from petition.moderation.selectors import QueueFilter, queue_page
from petition.moderation.services import (
    InvalidationCriteria,
    ModerationError,
    audit_undo,
    invalidation_preview,
    invalidation_run,
    invalidation_start,
    ip_addresses_erase,
    signatures_moderate,
    watched_name_add,
)
from petition.selectors import letter_signature_count
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="fair-terms")


@pytest.fixture
def moderator(letter: Letter) -> User:
    return LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user


@pytest.fixture
def moderator_client(client: Client, moderator: User) -> Client:
    client.force_login(moderator)
    return client


def verified(letter: Letter, **fields: object) -> Signature:
    return SignatureFactory(letter=letter, verified=True, **fields)


def test_rejected_signature_stops_counting(letter: Letter, moderator: User, tally: Callable):
    keep, fake = verified(letter), verified(letter, name="Famous Painter")
    tally()
    assert letter_signature_count(letter) == 2
    signatures_moderate(letter=letter, actor=moderator, action="reject", signature_ids=[fake.pk])
    tally()
    assert letter_signature_count(letter) == 1
    keep.refresh_from_db()
    assert keep.moderation == ""


def test_hidden_signature_still_counts_but_is_not_listed(
    letter: Letter, moderator: User, tally: Callable
):
    signature = verified(letter)
    signatures_moderate(letter=letter, actor=moderator, action="hide", signature_ids=[signature.pk])
    tally()
    assert letter_signature_count(letter) == 1
    assert not Signature.objects.publicly_listed().filter(pk=signature.pk).exists()


def test_premoderated_letter_lists_only_approved_names_but_counts_all(
    moderator: User, tally: Callable
):
    letter = LetterFactory(premoderate=True)
    LetterRoleFactory(letter=letter, user=moderator, role=LetterRole.Role.MODERATOR)
    waiting, approved = verified(letter), verified(letter)
    signatures_moderate(
        letter=letter, actor=moderator, action="approve", signature_ids=[approved.pk]
    )
    tally()
    assert letter_signature_count(letter) == 2
    listed = set(Signature.objects.publicly_listed().values_list("pk", flat=True))
    assert approved.pk in listed
    assert waiting.pk not in listed


def test_bulk_action_with_another_letters_signature_changes_nothing(
    letter: Letter, moderator: User
):
    mine = verified(letter)
    theirs = verified(LetterFactory())
    with pytest.raises(ModerationError):
        signatures_moderate(
            letter=letter, actor=moderator, action="reject", signature_ids=[mine.pk, theirs.pk]
        )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.moderation == theirs.moderation == ""
    assert not AuditEntry.objects.exists()


def test_undo_restores_previous_state_and_count(letter: Letter, moderator: User, tally: Callable):
    hidden, plain = verified(letter), verified(letter)
    signatures_moderate(letter=letter, actor=moderator, action="hide", signature_ids=[hidden.pk])
    entry = signatures_moderate(
        letter=letter, actor=moderator, action="reject", signature_ids=[hidden.pk, plain.pk]
    )
    tally()
    assert letter_signature_count(letter) == 0
    audit_undo(entry=entry, actor=moderator)
    tally()
    hidden.refresh_from_db()
    plain.refresh_from_db()
    assert (hidden.moderation, plain.moderation) == ("hidden", "")
    assert letter_signature_count(letter) == 2
    entry.refresh_from_db()
    assert entry.state == AuditEntry.State.UNDONE
    assert entry.undone_by == moderator


def test_undo_keeps_a_later_decision(letter: Letter, moderator: User):
    signature = verified(letter)
    first = signatures_moderate(
        letter=letter, actor=moderator, action="hide", signature_ids=[signature.pk]
    )
    signatures_moderate(
        letter=letter, actor=moderator, action="reject", signature_ids=[signature.pk]
    )
    audit_undo(entry=first, actor=moderator)
    signature.refresh_from_db()
    assert signature.moderation == "rejected"


def test_an_undone_action_cannot_be_undone_twice(letter: Letter, moderator: User):
    entry = signatures_moderate(
        letter=letter, actor=moderator, action="hide", signature_ids=[verified(letter).pk]
    )
    audit_undo(entry=entry, actor=moderator)
    with pytest.raises(ModerationError):
        audit_undo(entry=entry, actor=moderator)


def test_restoring_a_shadow_banned_signature_sends_its_verification_email(
    letter: Letter, moderator: User, django_capture_on_commit_callbacks: Callable
):
    banned = SignatureFactory(letter=letter, shadow_reason="rate_ip_letter", emails_sent=0)
    with django_capture_on_commit_callbacks(execute=True):
        signatures_moderate(
            letter=letter, actor=moderator, action="restore", signature_ids=[banned.pk]
        )
    banned.refresh_from_db()
    assert banned.shadow_reason == ""
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [banned.email]


def flood(letter: Letter, n: int = 5) -> list[Signature]:
    return [
        verified(letter, email=f"bot{i}@flood.example", ip_address=f"203.0.113.{i + 1}")
        for i in range(n)
    ]


def test_invalidation_preview_counts_what_would_change(letter: Letter):
    flood(letter, 5)
    newest = verified(letter, email="real@example.org")
    preview = invalidation_preview(
        letter=letter, criteria=InvalidationCriteria(domain="flood.example").cleaned()
    )
    # Pinned to the letter's newest signature when it was counted: what arrives later is
    # left alone, whatever it matches.
    assert preview == {"matching": 5, "counting": 5, "more": False, "up_to": newest.pk}


def test_invalidation_by_cidr_takes_only_that_range(
    letter: Letter, moderator: User, django_capture_on_commit_callbacks: Callable
):
    flood(letter, 3)
    outside = verified(letter, ip_address="198.51.100.9")
    criteria = InvalidationCriteria(cidr="203.0.113.0/24").cleaned()
    assert invalidation_preview(letter=letter, criteria=criteria)["matching"] == 3
    with django_capture_on_commit_callbacks(execute=True):
        entry = invalidation_start(letter=letter, actor=moderator, criteria=criteria, expected=3)
    entry.refresh_from_db()
    assert entry.state == AuditEntry.State.DONE
    assert entry.signature_count == 3
    outside.refresh_from_db()
    assert outside.moderation == ""


def test_invalidation_by_ipv6_range(letter: Letter):
    verified(letter, ip_address="2001:db8::1")
    verified(letter, ip_address="2001:db9::1")
    criteria = InvalidationCriteria(cidr="2001:db8::/32").cleaned()
    assert invalidation_preview(letter=letter, criteria=criteria)["matching"] == 1


def test_invalidation_by_name_pattern_and_time_window(letter: Letter):
    now = timezone.now()
    verified(letter, name="Bot Number 1", created_at=now - timedelta(minutes=5))
    verified(letter, name="Bót number 2", created_at=now - timedelta(minutes=3))
    verified(letter, name="Bot number 3", created_at=now - timedelta(days=2))
    verified(letter, name="Robot Fan", created_at=now - timedelta(minutes=4))
    criteria = InvalidationCriteria(
        name_pattern="bot number *", created_from=now - timedelta(hours=1)
    ).cleaned()
    assert invalidation_preview(letter=letter, criteria=criteria)["matching"] == 2


def test_invalidation_refuses_when_matches_changed_since_preview(letter: Letter, moderator: User):
    flood(letter, 2)
    with pytest.raises(ModerationError):
        invalidation_start(
            letter=letter,
            actor=moderator,
            criteria=InvalidationCriteria(domain="flood.example"),
            expected=5,
        )
    assert not Signature.objects.filter(moderation="invalidated").exists()


def test_invalidation_runs_in_batches_and_is_undone_in_batches(
    letter: Letter,
    moderator: User,
    settings: Settings,
    tally: Callable,
    django_capture_on_commit_callbacks: Callable,
):
    settings.MODERATION_BATCH_SIZE = 2
    flood(letter, 5)
    verified(letter, email="real@example.org")
    tally()
    with django_capture_on_commit_callbacks(execute=True):
        entry = invalidation_start(
            letter=letter,
            actor=moderator,
            criteria=InvalidationCriteria(domain="flood.example"),
            expected=5,
        )
    entry.refresh_from_db()
    assert entry.signature_count == 5
    assert SignatureChange.objects.filter(entry=entry).count() == 5
    tally()
    assert letter_signature_count(letter) == 1
    with django_capture_on_commit_callbacks(execute=True):
        audit_undo(entry=entry, actor=moderator)
    entry.refresh_from_db()
    assert entry.state == AuditEntry.State.UNDONE
    tally()
    assert letter_signature_count(letter) == 6


def test_invalidation_run_again_after_a_crash_changes_nothing_twice(
    letter: Letter, moderator: User, django_capture_on_commit_callbacks: Callable
):
    flood(letter, 3)
    with django_capture_on_commit_callbacks(execute=True):
        entry = invalidation_start(
            letter=letter,
            actor=moderator,
            criteria=InvalidationCriteria(domain="flood.example"),
            expected=3,
        )
    AuditEntry.objects.filter(pk=entry.pk).update(state=AuditEntry.State.RUNNING)
    assert invalidation_run(entry_id=entry.pk) == 0
    assert SignatureChange.objects.filter(entry=entry).count() == 3


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        (InvalidationCriteria(cidr="300.1.1.0/24"), "cidr"),
        (InvalidationCriteria(cidr="not an ip"), "cidr"),
        (InvalidationCriteria(domain="no spaces allowed.example"), "domain"),
        (InvalidationCriteria(name_pattern="x" * 500), "name_pattern"),
        (InvalidationCriteria(), "__all__"),
        (InvalidationCriteria(name_pattern="***"), "__all__"),
    ],
)
def test_bad_invalidation_criteria_are_refused_with_a_message(criteria, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        criteria.cleaned()
    assert field in error.value.message_dict


def test_anomaly_scan_flags_ip_burst_disposable_and_duplicate_names(
    letter: Letter, settings: Settings
):
    settings.ANOMALY_BURST_PER_IP = 3
    burst = [verified(letter, ip_address="192.0.2.7") for _ in range(3)]
    throwaway = verified(letter, email="x@mailinator.com")
    twins = [verified(letter, name="Jane Doe"), verified(letter, name="jane  DOE")]
    calm = verified(letter, ip_address="192.0.2.8", name="Calm Person")
    found = letter_flag_anomalies(letter=letter)
    assert found[Signature.Flag.BURST_IP] == 3
    for signature in burst:
        signature.refresh_from_db()
        assert "burst_ip" in signature.flag_list
    throwaway.refresh_from_db()
    assert "disposable" in throwaway.flag_list
    for twin in twins:
        twin.refresh_from_db()
        assert "duplicate_name" in twin.flag_list
    calm.refresh_from_db()
    assert calm.flags == ""


def test_domain_burst_ignores_large_providers(letter: Letter, settings: Settings):
    settings.ANOMALY_BURST_PER_DOMAIN = 3
    for i in range(3):
        verified(letter, email=f"p{i}@gmail.com")
        verified(letter, email=f"q{i}@sockpuppets.example")
    letter_flag_anomalies(letter=letter)
    # Only the burst flag: the factory's names ("Signer 10", "Signer 11") may also be
    # flagged as near duplicates, depending on how many signatures the process made before.
    signatures = Signature.objects.all()
    burst = {s.email_domain for s in signatures if Signature.Flag.BURST_DOMAIN in s.flag_list}
    assert burst == {"sockpuppets.example"}


def test_watched_name_flags_existing_and_new_signatures(letter: Letter, moderator: User):
    impostor = verified(letter, name="Famous Painter")
    watched_name_add(letter=letter, actor=moderator, name="famous  painter")
    impostor.refresh_from_db()
    assert "watched_name" in impostor.flag_list
    later = verified(letter, name="FAMOUS PAINTER")
    letter_flag_anomalies(letter=letter)
    later.refresh_from_db()
    assert "watched_name" in later.flag_list


def test_signing_from_a_disposable_address_is_flagged_at_once(
    letter: Letter, client: Client, django_capture_on_commit_callbacks: Callable
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signature_submit", args=[letter.slug]),
            {"name": "Tmp", "email": "tmp@mailinator.com", "consent": "on"},
        )
    signature = Signature.objects.get()
    assert signature.flag_list == ["disposable"]
    assert signature.email_domain == "mailinator.com"


def test_ip_addresses_are_erased_after_the_retention_window(letter: Letter):
    old = verified(letter, ip_address="192.0.2.1", created_at=timezone.now() - timedelta(days=40))
    recent = verified(letter, ip_address="192.0.2.2")
    assert ip_addresses_erase(older_than_days=30) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.ip_address, old.ip_key) == (None, "")
    assert recent.ip_address == "192.0.2.2"


def test_queue_pages_by_keyset_without_overlap(letter: Letter):
    signatures = [verified(letter) for _ in range(7)]
    everything = QueueFilter()
    first = queue_page(letter=letter, queue_filter=everything, limit=3)
    second = queue_page(letter=letter, queue_filter=everything, before=first.next_cursor, limit=3)
    third = queue_page(letter=letter, queue_filter=everything, before=second.next_cursor, limit=3)
    seen = [s.pk for s in first.rows + second.rows + third.rows]
    assert seen == sorted((s.pk for s in signatures), reverse=True)
    assert third.next_cursor is None


def test_queue_searches_by_domain_and_by_name(letter: Letter):
    verified(letter, name="Ada Lovelace", email="ada@analytical.example")
    verified(letter, name="Grace Hopper", email="grace@navy.example")
    by_domain = queue_page(letter=letter, queue_filter=QueueFilter(search="@navy.example"))
    by_name = queue_page(letter=letter, queue_filter=QueueFilter(search="lovel"))
    assert [s.name for s in by_domain.rows] == ["Grace Hopper"]
    assert [s.name for s in by_name.rows] == ["Ada Lovelace"]


def test_a_search_of_several_words_finds_the_whole_phrase_not_only_its_last_word(
    letter: Letter,
):
    verified(letter, name="Ada Lovelace")
    verified(letter, name="Bob Lovelace")
    verified(letter, name="Signer 0999123")
    verified(letter, name="Signer 1999")

    def names(search: str) -> list[str]:
        rows = queue_page(letter=letter, queue_filter=QueueFilter(search=search)).rows
        return sorted(s.name for s in rows)

    assert names("ada lovel") == ["Ada Lovelace"]
    assert names("lovelace ada") == []
    assert names("signer 0999") == ["Signer 0999123"]
    assert names("ada lo") == ["Ada Lovelace"]


# --- pages -------------------------------------------------------------------------------


def test_queue_page_shows_flags_and_shadow_reason_but_never_full_emails(
    letter: Letter, moderator_client: Client
):
    verified(letter, name="Flagged One", email="someone@example.org", flags="disposable")
    SignatureFactory(letter=letter, name="Banned One", shadow_reason="blocked_domain")
    response = moderator_client.get(reverse("moderation_queue", args=[letter.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Disposable email address" in html
    assert "Blocked email domain" in html
    assert "someone@example.org" not in html
    assert "s•••@example.org" in html


def test_queue_with_a_huge_search_string_answers_400(letter: Letter, moderator_client: Client):
    response = moderator_client.get(
        reverse("moderation_queue", args=[letter.slug]), {"q": "x" * 5000}
    )
    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()


def test_queue_with_a_bad_state_or_cursor_answers_400(letter: Letter, moderator_client: Client):
    url = reverse("moderation_queue", args=[letter.slug])
    assert moderator_client.get(url, {"state": "<script>"}).status_code == 400
    assert moderator_client.get(url, {"before": "abc"}).status_code == 400


def test_bulk_post_hides_selected_and_redirects_back(letter: Letter, moderator_client: Client):
    signature = verified(letter)
    url = reverse("moderation_queue", args=[letter.slug])
    response = moderator_client.post(
        reverse("moderation_bulk", args=[letter.slug]),
        {"action": "hide", "signature": [signature.pk], "next": f"{url}?state=verified"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url}?state=verified"
    signature.refresh_from_db()
    assert signature.moderation == "hidden"


def test_bulk_post_with_a_foreign_or_garbage_id_changes_nothing(
    letter: Letter, moderator_client: Client
):
    mine = verified(letter)
    theirs = verified(LetterFactory())
    bulk = reverse("moderation_bulk", args=[letter.slug])
    for ids in ([mine.pk, theirs.pk], [mine.pk, "1; DROP TABLE"]):
        response = moderator_client.post(bulk, {"action": "reject", "signature": ids}, follow=True)
        assert response.status_code == 200
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.moderation == theirs.moderation == ""


def test_bulk_post_to_an_outside_next_url_stays_on_site(letter: Letter, moderator_client: Client):
    signature = verified(letter)
    response = moderator_client.post(
        reverse("moderation_bulk", args=[letter.slug]),
        {"action": "hide", "signature": [signature.pk], "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("moderation_queue", args=[letter.slug])


def test_bulk_post_without_csrf_token_is_refused(letter: Letter, moderator: User):
    client = Client(enforce_csrf_checks=True)
    client.force_login(moderator)
    signature = verified(letter)
    response = client.post(
        reverse("moderation_bulk", args=[letter.slug]),
        {"action": "reject", "signature": [signature.pk]},
    )
    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.moderation == ""


def test_invalidation_page_previews_then_confirms(
    letter: Letter,
    moderator_client: Client,
    tally: Callable,
    django_capture_on_commit_callbacks: Callable,
):
    flood(letter, 4)
    tally()
    url = reverse("moderation_invalidate", args=[letter.slug])
    preview = moderator_client.post(url, {"domain": "flood.example", "preview": "1"})
    assert preview.status_code == 200
    assert "4 signatures match" in preview.content.decode()
    assert Signature.objects.filter(moderation="invalidated").count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        done = moderator_client.post(
            url, {"domain": "flood.example", "expected": "4", "confirm": "1"}, follow=True
        )
    assert done.status_code == 200
    assert Signature.objects.filter(moderation="invalidated").count() == 4
    tally()
    assert letter_signature_count(letter) == 0


def test_invalidation_page_with_malformed_cidr_answers_400_with_a_message(
    letter: Letter, moderator_client: Client
):
    response = moderator_client.post(
        reverse("moderation_invalidate", args=[letter.slug]), {"cidr": "10.0.0.0/99"}
    )
    assert response.status_code == 400
    assert "CIDR range" in response.content.decode()


def test_undo_from_the_log_page(letter: Letter, moderator_client: Client, moderator: User):
    signature = verified(letter)
    entry = signatures_moderate(
        letter=letter, actor=moderator, action="reject", signature_ids=[signature.pk]
    )
    log = moderator_client.get(reverse("moderation_log", args=[letter.slug]))
    assert "Rejected signatures" in log.content.decode()
    response = moderator_client.post(reverse("moderation_undo", args=[letter.slug, entry.pk]))
    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.moderation == ""


def test_undo_of_another_letters_entry_is_404(letter: Letter, moderator_client: Client):
    other = LetterFactory()
    entry = AuditEntry.objects.create(letter=other, action=AuditEntry.Action.HIDE)
    response = moderator_client.post(reverse("moderation_undo", args=[letter.slug, entry.pk]))
    assert response.status_code == 404


def test_watch_list_page_rejects_duplicates(letter: Letter, moderator_client: Client):
    url = reverse("moderation_watch", args=[letter.slug])
    assert moderator_client.post(url, {"name": "Famous Painter"}).status_code == 302
    again = moderator_client.post(url, {"name": "famous painter"})
    assert again.status_code == 400
    assert "already on the watch list" in again.content.decode()


def test_owner_exports_csv_without_emails_and_with_neutralized_formulas(
    letter: Letter, client: Client
):
    owner = LetterRoleFactory(letter=letter, role=LetterRole.Role.OWNER).user
    client.force_login(owner)
    verified(letter, name='=HYPERLINK("http://evil")', email="f@example.org")
    response = client.get(reverse("moderation_export_csv", args=[letter.slug]))
    assert response.status_code == 200
    assert response.streaming
    body = response.getvalue().decode()
    assert "'=HYPERLINK" in body
    assert "f@example.org" not in body
    assert AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).count() == 1


def test_moderator_cannot_export(letter: Letter, moderator_client: Client):
    response = moderator_client.get(reverse("moderation_export_csv", args=[letter.slug]))
    assert response.status_code == 404


def test_moderator_of_another_letter_gets_404(letter: Letter, client: Client):
    stranger = LetterRoleFactory(role=LetterRole.Role.MODERATOR).user
    client.force_login(stranger)
    assert client.get(reverse("moderation_queue", args=[letter.slug])).status_code == 404


def test_anonymous_visitor_is_sent_to_login(letter: Letter, client: Client):
    response = client.get(reverse("moderation_queue", args=[letter.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_user_without_role_gets_404_even_for_a_missing_letter(client: Client):
    client.force_login(UserFactory())
    assert client.get(reverse("moderation_queue", args=["no-such-letter"])).status_code == 404


def test_audit_log_shows_a_running_jobs_progress_and_follows_it(
    letter: Letter, moderator: User, moderator_client: Client
) -> None:
    log = reverse("moderation_log", kwargs={"slug": letter.slug})
    quiet = moderator_client.get(log).content.decode()
    assert 'http-equiv="refresh"' not in quiet
    AuditEntry.objects.create(
        letter=letter,
        actor=moderator,
        action=AuditEntry.Action.INVALIDATE,
        state=AuditEntry.State.RUNNING,
        signature_count=1840,
        total=4200,
    )
    page = moderator_client.get(log).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert '<progress class="entry-progress" max="4200" value="1840"' in page
    assert "1,840 of 4,200" in page
