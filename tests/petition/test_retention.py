"""Retention: unconfirmed signatures deleted, withdrawn ones erased, closed letters'
signatures anonymized, in batches, with counts unchanged and one log line per run."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from letters.models import Letter
from letters.services import letter_close, letter_reopen
from mail.models import OutboundEmail
from petition.counting import tally_reconcile
from petition.models import LetterCount, Signature
from petition.retention import ANONYMIZED_PREFIX, letter_closed_since, retention_apply
from petition.selectors import letter_breakdowns, letter_signature_count
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def closed_letter(days: float, **fields: object) -> Letter:
    return LetterFactory(status=Letter.Status.CLOSED, closed_at=days_ago(days), **fields)


def test_unconfirmed_signatures_older_than_the_period_are_deleted(settings) -> None:
    settings.PETITION_UNVERIFIED_RETENTION_DAYS = 14
    letter = LetterFactory()
    old = SignatureFactory(letter=letter, created_at=days_ago(15))
    OutboundEmail.objects.create(signature=old, kind=OutboundEmail.Kind.VERIFY)
    recent = SignatureFactory(letter=letter, created_at=days_ago(13))
    confirmed = SignatureFactory(letter=letter, verified=True, created_at=days_ago(30))

    report = retention_apply()

    assert report.unconfirmed_deleted == 1
    remaining = set(Signature.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, confirmed.pk}
    assert not OutboundEmail.objects.filter(signature_id=old.pk).exists()


def test_deletion_runs_in_batches_and_stops(settings) -> None:
    settings.PETITION_UNVERIFIED_RETENTION_DAYS = 1
    SignatureFactory.create_batch(7, letter=LetterFactory(), created_at=days_ago(2))
    assert retention_apply(batch_size=2).unconfirmed_deleted == 7
    assert retention_apply(batch_size=2).unconfirmed_deleted == 0
    assert not Signature.objects.exists()


def test_each_run_logs_one_line_saying_what_it_did(caplog, settings) -> None:
    settings.PETITION_UNVERIFIED_RETENTION_DAYS = 14
    SignatureFactory(letter=LetterFactory(), created_at=days_ago(20))
    with caplog.at_level(logging.INFO, logger="petition.retention"):
        retention_apply()
    lines = [r.getMessage() for r in caplog.records if r.name == "petition.retention"]
    assert len(lines) == 1
    assert lines[0].startswith("retention: deleted 1 unconfirmed signatures older than 14 days")
    assert "anonymized 0 signatures of 0 letters" in lines[0]


def test_closed_letter_signatures_are_anonymized_after_the_period(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 180
    letter = closed_letter(181)
    signature = SignatureFactory(
        letter=letter,
        verified=True,
        email="Ada.Person@Example.org",
        title="Illustrator",
        organization="Union of illustrators",
        city="Lyon",
        country="FR",
        comment="Pay the artists.",
        ip_address="203.0.113.9",
        ip_key="cb007109",
    )

    report = retention_apply()

    assert (report.anonymized, report.letters) == (1, 1)
    signature.refresh_from_db()
    assert signature.email == signature.email_normalized == f"{ANONYMIZED_PREFIX}{signature.pk}"
    assert (signature.email_domain, signature.title, signature.organization) == ("", "", "")
    assert (signature.city, signature.comment, signature.ip_address, signature.ip_key) == (
        "",
        "",
        None,
        "",
    )
    assert signature.name == ""
    assert signature.anonymized_at is not None
    # What the counts are made of stays.
    assert signature.status == Signature.Status.VERIFIED
    assert str(signature.country) == "FR"
    assert signature.verified_at is not None


def test_a_letter_closed_more_recently_keeps_its_signatures(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 180
    signature = SignatureFactory(letter=closed_letter(179), verified=True, name="Still Here")
    assert retention_apply().anonymized == 0
    signature.refresh_from_db()
    assert signature.name == "Still Here"
    assert signature.anonymized_at is None


def test_an_open_letter_past_its_closing_time_counts_as_closed_since_then(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 30
    lapsed = LetterFactory(closes_at=days_ago(31))
    lapsing = LetterFactory(closes_at=days_ago(29))
    assert letter_closed_since(lapsed, now=timezone.now()) == lapsed.closes_at
    old = SignatureFactory(letter=lapsed, verified=True)
    young = SignatureFactory(letter=lapsing, verified=True)
    retention_apply()
    old.refresh_from_db()
    young.refresh_from_db()
    assert old.anonymized_at is not None
    assert young.anonymized_at is None


def test_name_is_kept_only_when_public_and_the_signer_agreed(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 10
    letter = closed_letter(11)
    kept = SignatureFactory(letter=letter, verified=True, name="Kept Name", keep_name=True)
    not_asked = SignatureFactory(letter=letter, verified=True, name="Not Asked")
    unlisted = SignatureFactory(
        letter=letter, verified=True, name="Unlisted", show_name=False, keep_name=True
    )
    hidden = SignatureFactory(
        letter=letter,
        verified=True,
        name="Hidden By Moderator",
        keep_name=True,
        moderation=Signature.Moderation.HIDDEN,
    )

    retention_apply()

    names = dict(Signature.objects.values_list("pk", "name"))
    assert names == {kept.pk: "Kept Name", not_asked.pk: "", unlisted.pk: "", hidden.pk: ""}
    public = list(Signature.objects.publicly_listed().values_list("name", flat=True))
    assert public == ["Kept Name"]


def test_anonymizing_changes_no_count(settings, tally) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 10
    letter = closed_letter(11)
    for country in ("FR", "FR", "DE"):
        SignatureFactory(letter=letter, verified=True, country=country)
    SignatureFactory(letter=letter, verified=True, moderation=Signature.Moderation.HIDDEN)
    SignatureFactory(letter=letter, verified=True, moderation=Signature.Moderation.REJECTED)
    tally()
    before_total = letter_signature_count(letter)
    before_rows = set(LetterCount.objects.values_list("dimension", "key", "count"))

    assert retention_apply().anonymized == 5
    tally()

    assert tally_reconcile() == 0
    assert letter_signature_count(letter) == before_total == 4
    assert set(LetterCount.objects.values_list("dimension", "key", "count")) == before_rows
    assert letter_breakdowns(letter)["by_country"] == {"FR": 2, "DE": 1, "unknown": 1}


def test_anonymizing_twice_changes_nothing_more(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 10
    SignatureFactory.create_batch(5, letter=closed_letter(11), verified=True)
    assert retention_apply(batch_size=2).anonymized == 5
    stamps = dict(Signature.objects.values_list("pk", "anonymized_at"))
    assert retention_apply(batch_size=2).anonymized == 0
    assert dict(Signature.objects.values_list("pk", "anonymized_at")) == stamps


def test_an_email_still_queued_for_an_anonymized_signature_is_never_sent(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 10
    signature = SignatureFactory(letter=closed_letter(11), verified=True)
    queued = OutboundEmail.objects.create(signature=signature, kind=OutboundEmail.Kind.MANAGE)
    retention_apply()
    queued.refresh_from_db()
    assert queued.state == OutboundEmail.State.FAILED


def test_old_email_records_are_forgotten_with_their_recipients(settings) -> None:
    settings.PETITION_EMAIL_RECORD_DAYS = 30
    settings.PETITION_MANAGE_LINK_MAX_AGE = 10 * 86400
    signature = SignatureFactory(letter=LetterFactory(), verified=True)

    def record(days: float, state: str, **fields: Any) -> OutboundEmail:
        return OutboundEmail.objects.create(
            created_at=days_ago(days),
            state=state,
            sent_at=days_ago(days) if state == "sent" else None,
            **fields,
        )

    work = {"signature": signature, "kind": "affiliation", "to": "ada@work.example"}
    old_sent = record(31, "sent", **work)
    old_failed = record(31, "failed", kind="invitation", to="invitee@example.org")
    recent = record(29, "sent", **work)
    old_but_queued = record(31, "queued", signature=signature, kind="manage")
    report = retention_apply()
    assert report.emails_forgotten == 2
    remaining = set(OutboundEmail.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, old_but_queued.pk}
    assert not {old_sent.pk, old_failed.pk} & remaining
    signature.refresh_from_db()  # the signature itself stays


def test_email_records_outlive_the_manage_links_they_carried(settings) -> None:
    settings.PETITION_EMAIL_RECORD_DAYS = 1
    settings.PETITION_MANAGE_LINK_MAX_AGE = 30 * 86400
    signature = SignatureFactory(letter=LetterFactory(), verified=True)
    OutboundEmail.objects.create(
        signature=signature, kind="manage", state="sent", sent_at=days_ago(20),
        created_at=days_ago(20),
    )  # fmt: skip
    assert retention_apply().emails_forgotten == 0


def test_the_same_address_can_sign_a_reopened_letter_after_anonymization(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 10
    letter = closed_letter(11)
    SignatureFactory(letter=letter, verified=True, email="ada@example.org")
    retention_apply()
    SignatureFactory(letter=letter, email="ada@example.org")  # no unique violation
    assert Signature.objects.filter(letter=letter).count() == 2


def test_withdrawn_signatures_are_erased_once_their_links_expired(settings) -> None:
    letter = LetterFactory()
    expired_link_age = timedelta(seconds=settings.PETITION_MANAGE_LINK_MAX_AGE) + DAY
    gone = SignatureFactory(
        letter=letter,
        name="Gone Person",
        status=Signature.Status.WITHDRAWN,
        verified_at=days_ago(60),
    )
    OutboundEmail.objects.create(
        signature=gone, kind=OutboundEmail.Kind.MANAGE, created_at=timezone.now() - expired_link_age
    )
    recent = SignatureFactory(
        letter=letter,
        name="Recent Person",
        status=Signature.Status.WITHDRAWN,
        verified_at=days_ago(1),
    )
    OutboundEmail.objects.create(signature=recent, kind=OutboundEmail.Kind.MANAGE)

    assert retention_apply().withdrawn_erased == 1

    gone.refresh_from_db()
    recent.refresh_from_db()
    assert (gone.name, gone.email) == ("", f"{ANONYMIZED_PREFIX}{gone.pk}")
    assert gone.status == Signature.Status.WITHDRAWN
    assert recent.name == "Recent Person"


def test_closing_records_the_time_and_reopening_clears_it() -> None:
    letter = LetterFactory()
    owner = LetterRoleFactory(letter=letter).user
    letter_close(letter=letter, user=owner)
    letter.refresh_from_db()
    assert letter.closed_at is not None
    assert timezone.now() - letter.closed_at < timedelta(minutes=1)
    letter_reopen(letter=letter, user=owner)
    letter.refresh_from_db()
    assert letter.closed_at is None


def test_closing_a_letter_past_its_closing_time_dates_it_from_that_time() -> None:
    letter = LetterFactory(closes_at=days_ago(3))
    letter_close(letter=letter, user=LetterRoleFactory(letter=letter).user)
    letter.refresh_from_db()
    assert letter.closed_at == letter.closes_at


def test_a_letter_closed_before_closing_times_were_recorded_starts_its_clock(settings) -> None:
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 10
    letter = LetterFactory(status=Letter.Status.CLOSED, closed_at=None)
    signature = SignatureFactory(letter=letter, verified=True)
    assert retention_apply().anonymized == 0
    letter.refresh_from_db()
    assert letter.closed_at is not None
    signature.refresh_from_db()
    assert signature.anonymized_at is None


def test_keep_name_is_stored_from_the_signing_form(sign: Callable, letter: Letter) -> None:
    sign(letter, email="keeper@example.org", keep_name="on")
    sign(letter, email="private@example.org", show_name=None, keep_name="on")
    sign(letter, email="default@example.org")
    stored = dict(Signature.objects.values_list("email", "keep_name"))
    assert stored == {
        "keeper@example.org": True,
        "private@example.org": False,
        "default@example.org": False,
    }


def test_the_signing_form_offers_keep_name_unticked(client: Client, letter: Letter) -> None:
    page = client.get(letter.get_absolute_url()).content.decode()
    assert 'name="keep_name"' in page
    assert 'name="keep_name" id="id_keep_name" checked' not in page
    assert "Keep my name on the public list after the letter closes" in page


def test_privacy_page_states_the_configured_periods(client: Client, settings) -> None:
    settings.PETITION_UNVERIFIED_RETENTION_DAYS = 9
    settings.PETITION_ANONYMIZE_AFTER_DAYS = 77
    settings.PETITION_IP_RETENTION_DAYS = 21
    settings.PETITION_EMAIL_RECORD_DAYS = 45
    page = client.get("/privacy/").content.decode()
    assert "for 45 days" in page
    assert "not confirmed within 9 days is deleted" in page
    assert "77 days after a letter closes" in page
    assert "erased after 21 days" in page
    assert "tracking cookies" in page


def test_beat_runs_retention_and_the_ip_erasure() -> None:
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"petition.tasks.retention_apply", "petition.tasks.ip_addresses_erase"} <= tasks
