"""Versions of a letter's text: made when a published letter's wording changes, shown in
a public changelog with word-level diffs and counts per version."""

from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from letters.models import AuditEntry, Letter, LetterVersion
from letters.services import LetterDraftData, letter_publish, letter_update
from letters.versions import diff_html, letter_version_publish
from mail.models import OutboundEmail
from petition.selectors import version_counts
from petition.selfservice.services import signature_withdraw
from petition.signing.services import SignatureData, signature_create
from tests.factories import LetterFactory, LetterRoleFactory, SignatureFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def owner() -> object:
    return UserFactory(email="owner@example.org")


@pytest.fixture
def letter(owner) -> Letter:
    letter = LetterFactory(slug="fair-terms", title="Fair terms", body="We ask you to pay artists.")
    LetterRoleFactory(letter=letter, user=owner)
    return letter


@pytest.fixture
def owner_client(client: Client, owner) -> Client:
    client.force_login(owner)
    return client


def edit_form(letter: Letter, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": letter.title,
        "slug": letter.slug,
        "recipient": letter.recipient,
        "body": letter.body,
        "goal": letter.goal or "",
        "language": letter.language,
        "signer_fields": list(letter.signer_fields),
        "signatories-TOTAL_FORMS": "0",
        "signatories-INITIAL_FORMS": "0",
        "signatories-MIN_NUM_FORMS": "0",
        "signatories-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def edit(letter: Letter, user, **changes: Any) -> Letter:
    note = changes.pop("note", "")
    material = changes.pop("material", False)
    fields = {
        name: getattr(letter, name)
        for name in ("title", "slug", "body", "recipient", "goal", "closes_at", "language")
    }
    fields.update(changes)
    data = LetterDraftData(
        signer_fields=list(letter.signer_fields), premoderate=letter.premoderate, **fields
    )
    return letter_update(letter=letter, user=user, data=data, note=note, material=material)


def test_publishing_a_draft_records_its_text_as_version_1(owner) -> None:
    draft = LetterFactory(status=Letter.Status.DRAFT, published_at=None, body="First words.")
    LetterRoleFactory(letter=draft, user=owner)
    edit(draft, owner, body="Second words, still a draft.")
    assert not LetterVersion.objects.filter(letter=draft).exists()

    letter_publish(letter=draft, user=owner)

    draft.refresh_from_db()
    assert draft.version == 1
    assert list(draft.versions.values_list("number", "body")) == [
        (1, "Second words, still a draft.")
    ]


def test_editing_the_text_of_a_published_letter_makes_a_new_version(letter, owner) -> None:
    edited = edit(letter, owner, body="We ask you to pay all artists fairly.", note="Fairly.")

    assert edited.version == 2
    versions = list(letter.versions.order_by("number"))
    assert [(v.number, v.body, v.note) for v in versions] == [
        (1, "We ask you to pay artists.", ""),
        (2, "We ask you to pay all artists fairly.", "Fairly."),
    ]
    entry = AuditEntry.objects.get(letter=letter, action=AuditEntry.Action.LETTER_VERSION)
    assert entry.detail == {"version": 2, "material": False, "note": "Fairly."}


def test_a_new_title_or_recipient_is_a_new_version_too(letter, owner) -> None:
    edit(letter, owner, title="Fair terms now")
    edit(letter, owner, recipient="The new board")
    letter.refresh_from_db()
    assert letter.version == 3


def test_changing_only_the_goal_makes_no_version(letter, owner) -> None:
    edit(letter, owner, goal=500)
    letter.refresh_from_db()
    assert letter.version == 1
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LETTER_VERSION).exists()


def test_recording_the_same_text_twice_makes_no_second_version(letter, owner) -> None:
    edit(letter, owner, body="Changed once.")
    assert letter_version_publish(letter=Letter.objects.get(pk=letter.pk), user=owner) is None
    assert letter.versions.count() == 2


def test_signing_records_the_current_version(letter, owner) -> None:
    edit(letter, owner, body="Version two.")
    letter.refresh_from_db()
    signature = signature_create(letter=letter, data=SignatureData(name="Ada", email="a@x.org"))
    assert signature.version == 2


def test_signing_again_after_withdrawing_records_the_current_version(letter, owner) -> None:
    signature = SignatureFactory(letter=letter, verified=True, email="ada@example.org", version=1)
    signature_withdraw(signature_id=signature.pk)
    edit(letter, owner, body="Version two.")
    letter.refresh_from_db()

    again = signature_create(letter=letter, data=SignatureData(name="Ada", email="ada@example.org"))

    assert again.pk == signature.pk
    signature.refresh_from_db()
    assert signature.version == 2


def test_import_creates_version_1_then_a_version_per_changed_text(tmp_path: Path) -> None:
    source = '---\ntitle: "Imported"\nslug: imported\nstatus: open\n---\nFirst text.\n'
    path = tmp_path / "letter.md"
    for text in (source, source, source.replace("First text.", "Second text.")):
        path.write_text(text, encoding="utf-8")
        call_command("import_letter", str(path), stdout=StringIO())
    letter = Letter.objects.get(slug="imported")
    assert letter.version == 2
    assert [(v.number, v.body.strip()) for v in letter.versions.order_by("number")] == [
        (1, "First text."),
        (2, "Second text."),
    ]


# --- The owner's edit form -------------------------------------------------------------


def test_owner_edits_with_a_note_and_material_change_in_the_form(
    letter: Letter, owner_client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    early = SignatureFactory(letter=letter, verified=True, version=1)
    page = owner_client.get(reverse("letter_edit", args=[letter.slug]))
    assert b"This is a material change" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("letter_edit", args=[letter.slug]),
            edit_form(
                letter,
                body="We ask you to pay every artist.",
                **{"version-note": "Every artist, not some.", "version-material": "on"},
            ),
        )

    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.version == 2
    version = letter.versions.get(number=2)
    assert version.material and version.note == "Every artist, not some."
    assert OutboundEmail.objects.filter(signature=early, kind=OutboundEmail.Kind.RECONFIRM).exists()


def test_a_draft_edit_form_asks_for_no_change_note(owner_client: Client, owner) -> None:
    draft = LetterFactory(status=Letter.Status.DRAFT, published_at=None)
    LetterRoleFactory(letter=draft, user=owner)
    page = owner_client.get(reverse("letter_edit", args=[draft.slug]))
    assert b"This is a material change" not in page.content


def test_a_huge_change_note_is_refused_and_nothing_is_saved(
    letter: Letter, owner_client: Client
) -> None:
    response = owner_client.post(
        reverse("letter_edit", args=[letter.slug]),
        edit_form(letter, body="A new text.", **{"version-note": "x" * 100_000}),
    )
    assert response.status_code == 400
    assert b"at most 300 characters" in response.content
    letter.refresh_from_db()
    assert letter.body == "We ask you to pay artists." and letter.version == 1
    assert not LetterVersion.objects.filter(letter=letter).exists()


def test_someone_without_a_role_cannot_edit_the_text(letter: Letter, client: Client) -> None:
    stranger = UserFactory(email="stranger@example.org")
    client.force_login(stranger)
    response = client.post(
        reverse("letter_edit", args=[letter.slug]),
        edit_form(letter, body="Hijacked.", **{"version-material": "on"}),
    )
    assert response.status_code == 404
    letter.refresh_from_db()
    assert letter.body == "We ask you to pay artists." and letter.version == 1
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECONFIRM).exists()


def test_a_moderator_cannot_edit_the_text_either(letter: Letter, client: Client) -> None:
    moderator = UserFactory(email="mod@example.org")
    LetterRoleFactory(letter=letter, user=moderator, role="moderator")
    client.force_login(moderator)
    response = client.post(
        reverse("letter_edit", args=[letter.slug]), edit_form(letter, body="Hijacked.")
    )
    assert response.status_code == 404
    assert Letter.objects.get(pk=letter.pk).version == 1


# --- The public changelog --------------------------------------------------------------


def test_changelog_lists_versions_newest_first_with_diffs_and_counts(
    letter: Letter, owner, client: Client
) -> None:
    edit(letter, owner, body="We ask you to pay all artists.", note="All of them.")
    edit(letter, owner, body="We ask you to pay all artists now.", material=True)
    SignatureFactory(letter=letter, verified=True, version=1)
    SignatureFactory.create_batch(2, letter=letter, verified=True, version=3)
    SignatureFactory(letter=letter, version=3)  # pending: does not count

    response = client.get(reverse("letter_changes", args=[letter.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        html.index('id="version-3"') < html.index('id="version-2"') < html.index('id="version-1"')
    )
    assert "pay <ins>all </ins>artists." in html  # version 2 against version 1
    assert "pay all <del>artists.</del><ins>artists now.</ins>" in html  # 3 against 2
    assert "All of them." in html
    assert "material change" in html
    assert "2 signatures on this version" in html
    assert "1 signature on this version" in html
    assert "0 signatures on this version" in html


def test_changelog_escapes_html_in_the_text(letter: Letter, owner, client: Client) -> None:
    edit(letter, owner, body='We ask <script>alert("x")</script> you.')
    html = client.get(reverse("letter_changes", args=[letter.slug])).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("status", [Letter.Status.DRAFT, Letter.Status.REVIEW])
def test_changelog_of_a_letter_not_public_is_not_found(status: str, client: Client) -> None:
    hidden = LetterFactory(status=status)
    assert client.get(reverse("letter_changes", args=[hidden.slug])).status_code == 404


def test_version_line_appears_once_the_text_has_changed(
    letter: Letter, owner, client: Client
) -> None:
    page = client.get(letter.get_absolute_url())
    assert b"See what changed" not in page.content
    edit(letter, owner, body="Changed.")
    page = client.get(letter.get_absolute_url())
    assert b"Version 2" in page.content
    assert reverse("letter_changes", args=[letter.slug]).encode() in page.content


def test_version_counts_is_one_query_then_cached(
    letter: Letter, django_assert_num_queries: Callable
) -> None:
    SignatureFactory.create_batch(3, letter=letter, verified=True, version=1)
    SignatureFactory(letter=letter, verified=True, version=2)
    SignatureFactory(letter=letter, verified=True, version=2, moderation="rejected")
    with django_assert_num_queries(1):
        assert version_counts(letter) == {1: 3, 2: 1}
    with django_assert_num_queries(0):
        version_counts(letter)


def test_word_diff_marks_removed_and_added_words() -> None:
    html = diff_html("We ask you to pay the artists.", "We ask you to fairly pay all artists.")
    assert "<del>" in html and "<ins>" in html
    assert "We ask you to " in html and " artists." in html


def test_word_diff_shortens_long_unchanged_text() -> None:
    words = " ".join(f"word{i}" for i in range(500))
    html = diff_html(words + " end.", words + " finish.")
    assert "word0 " not in html
    assert "diff-gap" in html and "word499" in html


def test_word_diff_of_a_whole_rewrite_of_a_long_text_is_quick() -> None:
    old = " ".join(f"old{i}" for i in range(10_000))
    new = " ".join(f"new{i}" for i in range(10_000))
    html = diff_html(old, new)
    assert html.startswith("<del>old0") and "<ins>new0" in html


def test_stale_version_counts_are_served_while_another_request_recounts(
    letter: Letter, django_assert_num_queries: Callable
) -> None:
    from django.core.cache import cache

    SignatureFactory(letter=letter, verified=True, version=1)
    key = f"letter:{letter.pk}:version-counts"
    cache.set(key, (0.0, {1: 7}))  # counted long ago
    cache.set(f"{key}:lock", 1)  # and someone is recounting now
    with django_assert_num_queries(0):
        assert version_counts(letter) == {1: 7}
    cache.delete(f"{key}:lock")
    with django_assert_num_queries(1):
        assert version_counts(letter) == {1: 1}


def test_api_letter_detail_gives_the_current_version(letter: Letter, owner, client: Client) -> None:
    edit(letter, owner, body="Changed.")
    detail = client.get(f"/api/v1/letters/{letter.slug}").json()
    assert detail["version"] == 2
