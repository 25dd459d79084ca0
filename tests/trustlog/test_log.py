"""The trust log on the site: entries appended with the tally, checkpoints, the public
tiles and their headers, receipts, retention, and the auditor's check end to end."""

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from letters.models import Letter
from petition.models import LetterCount, Signature
from petition.selfservice.services import signature_withdraw
from petition.signing.tokens import make_manage_token
from tests.factories import LetterFactory, SignatureFactory
from trustlog import merkle, services
from trustlog.checks import signing_key_check
from trustlog.models import LogCheckpoint, LogEntry, LogIdentity, LogState
from trustlog.note import checkpoint_parse, note_open, verifier_parse
from trustlog.verify import SavedState, VerifyError, log_verify

pytestmark = pytest.mark.django_db

Tally = Callable[[], int]


def invalidate(signature: Signature) -> None:
    Signature.objects.filter(pk=signature.pk).update(moderation=Signature.Moderation.INVALIDATED)


def published_count(letter: Letter) -> int:
    row = LetterCount.objects.filter(letter=letter, dimension="total", key="").first()
    return row.count if row else 0


def entries(letter: Letter) -> list[dict[str, object]]:
    return [
        json.loads(d) for d in letter.log_entries.order_by("index").values_list("data", flat=True)
    ]


def test_a_counted_signature_gets_an_add_entry_and_a_withdrawn_one_a_remove(
    tally: Tally, log_key: str
) -> None:
    letter = LetterFactory()
    first, _second = SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    assert [e["event"] for e in entries(letter)] == ["add", "add"]
    signature_withdraw(signature_id=first.pk)
    tally()
    log = entries(letter)
    assert [e["event"] for e in log] == ["add", "add", "remove"]
    assert log[2]["signature"] == log[0]["signature"] != log[1]["signature"]
    state = LogState.objects.get(letter=letter)
    assert (state.adds, state.removes, state.size) == (2, 1, 3)
    assert published_count(letter) == state.adds - state.removes == 1


def test_an_invalidated_signature_gets_a_remove_and_a_restored_one_a_new_add(
    tally: Tally, log_key: str
) -> None:
    signature = SignatureFactory(verified=True)
    tally()
    invalidate(signature)
    tally()
    Signature.objects.filter(pk=signature.pk).update(moderation="")
    tally()
    log = entries(signature.letter)
    assert [e["event"] for e in log] == ["add", "remove", "add"]
    assert len({e["signature"] for e in log}) == 1
    assert published_count(signature.letter) == 1


def test_an_entry_is_compact_sorted_json_with_a_commitment_and_nothing_personal(
    tally: Tally, log_key: str
) -> None:
    signature = SignatureFactory(
        verified=True,
        name="Ada Lovelace",
        email="Ada@Example.net",
        email_normalized="ada@example.net",
    )
    tally()
    (raw,) = signature.letter.log_entries.values_list("data", flat=True)
    entry = json.loads(raw)
    assert raw == json.dumps(entry, sort_keys=True, separators=(",", ":"))
    assert set(entry) == {"at", "commitment", "event", "signature", "version"}
    assert entry["version"] == signature.version
    assert entry["at"].endswith("Z") and "T" in entry["at"]
    identity = LogIdentity.objects.get(signature=signature)
    assert entry["signature"] == identity.public_id and str(signature.pk) != identity.public_id
    digest = hashlib.sha256(bytes.fromhex(identity.salt) + b"ada@example.net").digest()
    assert entry["commitment"] == base64.b64encode(digest).decode()
    for secret in ("Ada", "ada@example.net", "Example"):
        assert secret not in raw


def test_signatures_counted_before_the_log_began_are_added_first(tally: Tally) -> None:
    letter = LetterFactory()
    old = SignatureFactory.create_batch(2, letter=letter, verified=True)
    Signature.objects.filter(pk__in=[s.pk for s in old]).update(counted=True)
    newcomer = SignatureFactory(letter=letter, verified=True)
    signature_withdraw(signature_id=old[0].pk)
    tally()
    log = entries(letter)
    assert [e["event"] for e in log] == ["add", "add", "remove", "add"]
    state = LogState.objects.get(letter=letter)
    assert (
        state.adds - state.removes
        == Signature.objects.filter(letter=letter, counted=True).count()
        == 2
    )
    assert LogIdentity.objects.filter(signature=newcomer).exists()


def test_log_backfill_starts_the_log_of_letters_counted_before_it(log_key: str) -> None:
    letter = LetterFactory()
    SignatureFactory.create_batch(3, letter=letter, verified=True, counted=True)
    out = call_command("log_backfill", stdout=None)
    assert out is None
    state = LogState.objects.get(letter=letter)
    assert (state.size, state.adds, state.checkpoint_size) == (3, 3, 3)
    assert services.log_backfill() == 0  # again: nothing to do


def test_a_checkpoint_is_signed_for_the_grown_log_and_verifies(
    tally: Tally, log_key: str, site_verifier_line: str
) -> None:
    letter = LetterFactory(slug="fair-terms")
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    checkpoint = LogCheckpoint.objects.get(letter=letter)
    origin = "testserver/letters/fair-terms"
    verifier = verifier_parse(site_verifier_line).renamed(origin)
    opened = note_open(checkpoint.note, [verifier])
    parsed = checkpoint_parse(opened.text)
    leaves = [
        merkle.leaf_hash(e.encode())
        for e in letter.log_entries.order_by("index").values_list("data", flat=True)
    ]
    assert (parsed.origin, parsed.size, parsed.root) == (origin, 3, merkle.merkle_root(leaves))
    assert services.log_checkpoints_issue() == 0  # nothing grew: no second checkpoint


def test_one_tree_size_never_gets_two_checkpoints(tally: Tally, log_key: str) -> None:
    signature = SignatureFactory(verified=True)
    tally()
    checkpoint = LogCheckpoint.objects.get(letter=signature.letter)
    with pytest.raises(IntegrityError), transaction.atomic():
        LogCheckpoint.objects.create(
            letter=signature.letter,
            size=checkpoint.size,
            root=b"\0" * 32,
            adds=1,
            removes=0,
            note="x",
        )


def test_entries_are_never_deleted_with_their_letter(tally: Tally, log_key: str) -> None:
    signature = SignatureFactory(verified=True)
    tally()
    with pytest.raises(ProtectedError):
        signature.letter.delete()
    assert LogEntry.objects.count() == 1


def test_a_failing_log_append_rolls_the_tally_batch_back(
    tally: Tally, monkeypatch: pytest.MonkeyPatch
) -> None:
    signature = SignatureFactory(verified=True)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_append", broken)
    with pytest.raises(RuntimeError):
        tally()
    signature.refresh_from_db()
    assert not signature.counted and published_count(signature.letter) == 0


# --- Public endpoints -----------------------------------------------------------------


def test_checkpoint_and_tiles_are_public_cookie_free_and_cacheable(
    client: Client, tally: Tally, log_key: str
) -> None:
    letter = LetterFactory(slug="open-tiles")
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    checkpoint = client.get(
        "/letters/open-tiles/log/checkpoint", HTTP_ORIGIN="https://elsewhere.example"
    )
    assert checkpoint.status_code == 200
    assert checkpoint["Content-Type"] == "text/plain; charset=utf-8"
    assert checkpoint["Access-Control-Allow-Origin"] == "*"
    assert "max-age=5" in checkpoint["Cache-Control"]
    assert not checkpoint.cookies
    tile = client.get("/letters/open-tiles/log/tile/0/000.p/3")
    assert tile.status_code == 200 and len(tile.content) == 3 * 32
    assert tile["Content-Type"] == "application/octet-stream"
    assert tile["Access-Control-Allow-Origin"] == "*"
    assert not tile.cookies
    again = client.get("/letters/open-tiles/log/tile/0/000.p/3", HTTP_IF_NONE_MATCH=tile["ETag"])
    assert again.status_code == 304 and again["ETag"] == tile["ETag"]
    bundle = client.get("/letters/open-tiles/log/tile/entries/000.p/3")
    decoded = merkle.bundle_decode(bundle.content)
    assert [merkle.leaf_hash(e) for e in decoded] == [
        tile.content[i : i + 32] for i in range(0, 96, 32)
    ]
    narrower = client.get("/letters/open-tiles/log/tile/entries/000.p/2")
    assert merkle.bundle_decode(narrower.content) == decoded[:2]


def test_full_tiles_are_immutable_for_a_year(client: Client, log_key: str) -> None:
    letter = LetterFactory(slug="big-one")
    ids = [s.pk for s in SignatureFactory.create_batch(257, letter=letter, verified=True)]
    services.log_signatures_record(added=ids, removed=[])
    services.log_checkpoints_issue()
    full = client.get("/letters/big-one/log/tile/0/000")
    assert full.status_code == 200 and len(full.content) == 8192
    assert full["Cache-Control"] == "public, max-age=31536000, immutable"
    level1 = client.get("/letters/big-one/log/tile/1/000.p/1")
    assert level1.content == merkle.merkle_root(
        [full.content[i : i + 32] for i in range(0, 8192, 32)]
    )
    bundle = client.get("/letters/big-one/log/tile/entries/000")
    assert len(merkle.bundle_decode(bundle.content)) == 256
    assert client.get("/letters/big-one/log/tile/0/001.p/1").status_code == 200
    assert client.get("/letters/big-one/log/tile/0/001").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["tile/0/000.p/4", "tile/0/000", "tile/0/001.p/1", "tile/entries/000.p/4", "tile/0/x000/000.p/1",
     "tile/0/0.p/1", "tile/0/000.p/0", "tile/0/000.p/256", "tile/64/000.p/1", "tile/01/000.p/1",
     "tile/entries/000.p/01", "tile/1/000.p/1", "tile/0/000.p/3/", "tile/x/000"],
)  # fmt: skip
def test_tiles_beyond_the_checkpoint_or_malformed_are_404_never_500(
    client: Client, tally: Tally, log_key: str, path: str
) -> None:
    letter = LetterFactory(slug="small")
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    response = client.get(f"/letters/small/log/{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_entries_appended_after_the_checkpoint_are_not_served_yet(
    client: Client, tally: Tally, log_key: str, settings: Any
) -> None:
    letter = LetterFactory(slug="growing")
    first = SignatureFactory(letter=letter, verified=True)
    services.log_signatures_record(added=[first.pk], removed=[])
    assert client.get("/letters/growing/log/tile/0/000.p/1").status_code == 404
    services.log_checkpoints_issue()
    assert client.get("/letters/growing/log/tile/0/000.p/1").status_code == 200


def test_drafts_have_no_log_and_unknown_letters_404(client: Client, log_key: str) -> None:
    LetterFactory(slug="secret-draft", status=Letter.Status.DRAFT)
    for path in ("/letters/secret-draft/log/checkpoint", "/letters/nope/log/checkpoint",
                 "/letters/secret-draft/log/tile/entries/000.p/1", "/letters/secret-draft/log/"):  # fmt: skip
        assert client.get(path).status_code == 404


def test_an_empty_log_has_a_signed_checkpoint_of_size_zero(
    client: Client, log_key: str, site_verifier_line: str
) -> None:
    LetterFactory(slug="quiet")
    body = client.get("/letters/quiet/log/checkpoint").content
    verifier = verifier_parse(site_verifier_line).renamed("testserver/letters/quiet")
    parsed = checkpoint_parse(note_open(body, [verifier]).text)
    assert (parsed.size, parsed.root) == (0, merkle.EMPTY_ROOT)


def test_the_site_key_is_served_as_one_line(client: Client, site_verifier_line: str) -> None:
    response = client.get("/log/key")
    assert response.content.decode() == site_verifier_line + "\n"
    assert response["Access-Control-Allow-Origin"] == "*"
    LetterFactory(slug="keyed")
    per_letter = client.get("/letters/keyed/log/key").content.decode().strip()
    assert per_letter.startswith("testserver/letters/keyed+")
    assert verifier_parse(per_letter).public_key == verifier_parse(site_verifier_line).public_key


def test_production_without_a_key_refuses_checkpoints_clearly(
    client: Client, tally: Tally, settings: Any
) -> None:
    settings.LOG_SIGNING_KEY = ""
    settings.DEBUG = False
    signature = SignatureFactory(verified=True)
    tally()
    response = client.get(f"/letters/{signature.letter.slug}/log/checkpoint")
    assert response.status_code == 404 and response["Cache-Control"] == "no-store"
    assert b"LOG_SIGNING_KEY" in response.content
    assert client.get("/log/key").status_code == 404
    assert not LogCheckpoint.objects.exists()
    assert LogEntry.objects.count() == 1  # entries are still written


def test_debug_without_a_key_signs_with_a_stable_development_key(
    client: Client, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.LOG_SIGNING_KEY = ""
    settings.DEBUG = True
    first = client.get("/log/key").content
    assert first == client.get("/log/key").content
    assert first.startswith(b"testserver+")


def test_a_malformed_signing_key_fails_the_system_check(settings: Any) -> None:
    settings.LOG_SIGNING_KEY = "PRIVATE+KEY+oops"
    (error,) = signing_key_check()
    assert error.id == "trustlog.E001"
    settings.LOG_SIGNING_KEY = ""
    assert signing_key_check() == []


def test_the_explain_page_gives_the_commands_and_the_letter_links_to_it(
    client: Client, tally: Tally, log_key: str, site_verifier_line: str
) -> None:
    letter = LetterFactory(slug="explained")
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    page = client.get("/letters/explained/log/").content.decode()
    assert "python manage.py verify_log http://testserver/letters/explained/" in page
    assert site_verifier_line in page
    assert 'id="log-summary"' in page
    detail = client.get(letter.get_absolute_url()).content.decode()
    assert reverse("log_explain", args=["explained"]) in detail


# --- Receipts, API, retention ---------------------------------------------------------


def test_the_manage_page_shows_the_receipt_and_the_command(
    client: Client, tally: Tally, log_key: str
) -> None:
    signature = SignatureFactory(
        verified=True, email="Bo@Example.net", email_normalized="bo@example.net"
    )
    tally()
    token = make_manage_token(signature_id=signature.pk, letter_id=signature.letter_id)
    page = client.get(
        reverse("signature_manage", args=[signature.letter.slug, token])
    ).content.decode()
    identity = LogIdentity.objects.get(signature=signature)
    assert '<dd id="log-index">0</dd>' in page
    assert identity.salt in page and identity.public_id in page
    assert f"--entry 0 --salt {identity.salt} --email bo@example.net" in page


def test_the_public_signatures_api_carries_each_log_index(
    client: Client, tally: Tally, log_key: str
) -> None:
    letter = LetterFactory(slug="indexed")
    first, second = SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    items = client.get("/api/v1/letters/indexed/signatures").json()["items"]
    indexes = {item["name"]: item["log_index"] for item in items}
    assert indexes == {first.name: 0, second.name: 1}


def test_retention_erases_salts_never_entries(tally: Tally, log_key: str) -> None:
    signature = SignatureFactory(verified=True)
    tally()
    Signature.objects.filter(pk=signature.pk).update(
        anonymized_at=timezone.now() - timedelta(days=1)
    )
    assert services.log_salts_erase() == 1
    identity = LogIdentity.objects.get(signature=signature)
    assert identity.salt == "" and identity.salt_erased_at and identity.commitment
    assert LogEntry.objects.filter(letter=signature.letter).count() == 1
    assert services.log_salts_erase() == 0


# --- The auditor's check --------------------------------------------------------------


def test_verify_confirms_the_count_the_page_shows(
    tally: Tally, log_key: str, site_verifier_line: str, log_fetch: Callable
) -> None:
    letter = LetterFactory(slug="audited")
    signatures = SignatureFactory.create_batch(5, letter=letter, verified=True)
    tally()
    signature_withdraw(signature_id=signatures[0].pk)
    invalidate(signatures[1])
    tally()
    report = log_verify(
        log_fetch("audited"),
        origin="testserver/letters/audited",
        verifier=verifier_parse(site_verifier_line),
    )
    assert (report.adds, report.removes, report.count) == (5, 2, 3)
    assert report.count == published_count(letter)
    assert report.tiles_checked == 1


def test_verify_checks_consistency_with_a_saved_checkpoint(
    tally: Tally, log_key: str, site_verifier_line: str, log_fetch: Callable
) -> None:
    letter = LetterFactory(slug="consistent")
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    verifier = verifier_parse(site_verifier_line)
    first = log_verify(
        log_fetch("consistent"), origin="testserver/letters/consistent", verifier=verifier
    )
    saved = SavedState("testserver/letters/consistent", 3, first.checkpoint.root, first.key)
    SignatureFactory.create_batch(4, letter=letter, verified=True)
    tally()
    later = log_verify(
        log_fetch("consistent"),
        origin="testserver/letters/consistent",
        verifier=verifier,
        previous=saved,
    )
    assert (later.previous_size, later.count) == (3, 7)
    forged = SavedState(saved.origin, 3, hashlib.sha256(b"other history").digest(), saved.key)
    with pytest.raises(VerifyError, match="not consistent"):
        log_verify(log_fetch("consistent"), origin=saved.origin, verifier=verifier, previous=forged)
    future = SavedState(saved.origin, 99, saved.root, saved.key)
    with pytest.raises(VerifyError, match="shrank"):
        log_verify(log_fetch("consistent"), origin=saved.origin, verifier=verifier, previous=future)


def test_verify_fails_loudly_on_a_tampered_entry_or_a_wrong_key(
    tally: Tally, log_key: str, site_verifier_line: str, log_fetch: Callable
) -> None:
    letter = LetterFactory(slug="tampered")
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    verifier = verifier_parse(site_verifier_line)
    entry = letter.log_entries.get(index=1)
    LogEntry.objects.filter(pk=entry.pk).update(
        data=entry.data.replace('"version":1', '"version":2')
    )
    with pytest.raises(VerifyError, match="do not hash to the checkpoint"):
        log_verify(log_fetch("tampered"), origin="testserver/letters/tampered", verifier=verifier)
    from trustlog.note import signer_generate

    stranger = signer_generate("testserver").verifier
    with pytest.raises(VerifyError, match="checkpoint does not verify"):
        log_verify(log_fetch("tampered"), origin="testserver/letters/tampered", verifier=stranger)
    with pytest.raises(VerifyError, match=r"does not verify|is for"):
        log_verify(
            log_fetch("tampered"),
            origin="testserver/letters/other",
            verifier=verifier.renamed("testserver/letters/tampered"),
        )


def test_verify_refuses_a_signature_added_twice(
    tally: Tally, log_key: str, site_verifier_line: str, log_fetch: Callable
) -> None:
    letter = LetterFactory(slug="inflated")
    signature = SignatureFactory(letter=letter, verified=True)
    tally()
    # A dishonest site appends the same signature again to inflate the count.
    state = LogState.objects.select_for_update().get(letter=letter)
    with transaction.atomic():
        state = LogState.objects.select_for_update().get(letter=letter)
        event = services._Event(signature.pk, "add", 1, signature.email_normalized, timezone.now())
        services._append(state, [event])
    services.log_checkpoints_issue()
    with pytest.raises(VerifyError, match="added twice"):
        log_verify(
            log_fetch("inflated"),
            origin="testserver/letters/inflated",
            verifier=verifier_parse(site_verifier_line),
        )


def test_verify_checks_a_signers_receipt(
    tally: Tally, log_key: str, site_verifier_line: str, log_fetch: Callable
) -> None:
    from trustlog.verify import ReceiptCheck

    letter = LetterFactory(slug="receipted")
    mine, _other = SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    identity = LogIdentity.objects.get(signature=mine)
    verifier = verifier_parse(site_verifier_line)
    receipt = ReceiptCheck(index=0, salt=identity.salt, email=mine.email_normalized)
    report = log_verify(
        log_fetch("receipted"),
        origin="testserver/letters/receipted",
        verifier=verifier,
        receipt=receipt,
    )
    assert report.receipt_lines[-1] == "Your signature counts."
    invalidate(mine)
    tally()
    report = log_verify(
        log_fetch("receipted"),
        origin="testserver/letters/receipted",
        verifier=verifier,
        receipt=receipt,
    )
    assert "Entry 2: your signature was removed." in report.receipt_lines
    assert report.receipt_lines[-1].startswith("Your signature no longer counts")
    wrong = ReceiptCheck(index=0, salt=identity.salt, email="someone@else.example")
    with pytest.raises(VerifyError, match="not your entry"):
        log_verify(
            log_fetch("receipted"),
            origin="testserver/letters/receipted",
            verifier=verifier,
            receipt=wrong,
        )
