"""Writing, previewing, publishing, closing and approving letters in the browser."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from letters.models import AuditEntry, Letter, LetterRole
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def letter_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Fair terms for early-access artists",
        "slug": "",
        "recipient": "The board of Example AI",
        "body": "We ask you to **pay** the artists.",
        "goal": "500",
        "closes_at": "",
        "language": "en",
        "signer_fields": ["organization", "country"],
        "signatories-TOTAL_FORMS": "3",
        "signatories-INITIAL_FORMS": "0",
        "signatories-MIN_NUM_FORMS": "0",
        "signatories-MAX_NUM_FORMS": "500",
    }
    for i in range(3):
        data.update({f"signatories-{i}-name": "", f"signatories-{i}-affiliation": ""})
        data.update({f"signatories-{i}-ORDER": ""})
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def owner() -> LetterRole:
    return LetterRoleFactory(
        letter=LetterFactory(slug="draft-letter", status=Letter.Status.DRAFT, published_at=None),
        role=LetterRole.Role.OWNER,
    )


@pytest.fixture
def owner_client(client: Client, owner: LetterRole) -> Client:
    client.force_login(owner.user)
    return client


def edit_url(letter: Letter) -> str:
    return reverse("letter_edit", kwargs={"slug": letter.slug})


# --- Who may see the authoring pages ----------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in_from_the_editor(client: Client, owner) -> None:
    response = client.get(edit_url(owner.letter))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_moderator_of_the_letter_gets_404_on_the_editor(client: Client, owner) -> None:
    moderator = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.MODERATOR)
    client.force_login(moderator.user)
    assert client.get(edit_url(owner.letter)).status_code == 404


def test_owner_of_another_letter_gets_404_on_the_editor(client: Client, owner) -> None:
    client.force_login(LetterRoleFactory(role=LetterRole.Role.OWNER).user)
    assert client.get(edit_url(owner.letter)).status_code == 404


def test_owner_of_another_letter_cannot_publish_it(client: Client, owner) -> None:
    client.force_login(LetterRoleFactory(role=LetterRole.Role.OWNER).user)
    response = client.post(reverse("letter_publish", kwargs={"slug": owner.letter.slug}))
    assert response.status_code == 404
    owner.letter.refresh_from_db()
    assert owner.letter.status == Letter.Status.DRAFT


def test_new_letter_page_needs_an_account(client: Client) -> None:
    response = client.get(reverse("letter_new"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Creating ---------------------------------------------------------------------------


def test_creating_a_letter_makes_a_draft_owned_by_its_creator(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("letter_new"), letter_form(slug="fair-terms"))
    assert response.status_code == 302
    letter = Letter.objects.get(slug="fair-terms")
    assert letter.status == Letter.Status.DRAFT
    assert letter.owner == user
    assert LetterRole.objects.get(letter=letter).user == user
    assert LetterRole.objects.get(letter=letter).role == LetterRole.Role.OWNER
    assert letter.signer_fields == ["organization", "country"]
    assert AuditEntry.objects.get(letter=letter).action == AuditEntry.Action.LETTER_CREATE


def test_address_is_suggested_from_the_title_when_left_blank(client: Client) -> None:
    client.force_login(UserFactory())
    LetterFactory(slug="fair-terms-for-early-access-artists")
    client.post(reverse("letter_new"), letter_form())
    assert Letter.objects.filter(slug="fair-terms-for-early-access-artists-2").exists()


def test_reserved_address_new_is_refused_with_a_form_error(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("letter_new"), letter_form(slug="new"))
    assert response.status_code == 400
    assert "reserved" in response.content.decode()
    assert not Letter.objects.exists()


def test_invalid_address_is_refused(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("letter_new"), letter_form(slug="Not a slug!"))
    assert response.status_code == 400
    assert not Letter.objects.exists()


def test_huge_text_is_refused_with_a_message(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("letter_new"), letter_form(body="x" * 60_000))
    assert response.status_code == 400
    assert "at most 50000 characters" in response.content.decode()
    assert not Letter.objects.exists()


@pytest.mark.parametrize("goal", ["0", "-5", "lots", "99999999999999"])
def test_bad_goal_is_refused(client: Client, goal: str) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("letter_new"), letter_form(goal=goal))
    assert response.status_code == 400
    assert not Letter.objects.exists()


def test_closing_time_is_stored_timezone_aware(client: Client) -> None:
    client.force_login(UserFactory())
    client.post(reverse("letter_new"), letter_form(slug="timed", closes_at="2031-03-01T12:30"))
    closes_at = Letter.objects.get(slug="timed").closes_at
    assert closes_at == datetime(2031, 3, 1, 12, 30, tzinfo=UTC)


# --- Editing and preview ----------------------------------------------------------------


def test_preview_shows_sanitized_text_without_saving(owner_client: Client, owner) -> None:
    body = "Hello **world** <script>alert(1)</script>"
    response = owner_client.post(
        edit_url(owner.letter), letter_form(slug=owner.letter.slug, body=body, preview="1")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>world</strong>" in page
    assert "<script>alert(1)" not in page
    owner.letter.refresh_from_db()
    assert "world" not in owner.letter.body
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LETTER_EDIT).exists()


def test_live_preview_endpoint_returns_sanitized_html(owner_client: Client) -> None:
    response = owner_client.post(
        reverse("markdown_preview"), {"body": "*hi* <img src=x onerror=alert(1)>"}
    )
    assert response.status_code == 200
    assert response.content.decode().strip() == "<p><em>hi</em> </p>"


def test_edit_saves_fields_and_named_signatories_in_the_given_order(
    owner_client: Client, owner
) -> None:
    data = letter_form(
        slug=owner.letter.slug,
        title="A better title",
        premoderate="on",
        **{
            "signatories-0-name": "Second Person",
            "signatories-0-ORDER": "2",
            "signatories-1-name": "First Person",
            "signatories-1-affiliation": "Union of illustrators",
            "signatories-1-ORDER": "1",
        },
    )
    response = owner_client.post(edit_url(owner.letter), data)
    assert response.status_code == 302
    letter = Letter.objects.get(pk=owner.letter.pk)
    assert letter.title == "A better title"
    assert letter.premoderate is True
    assert [(s.name, s.affiliation, s.position) for s in letter.named_signatories.all()] == [
        ("First Person", "Union of illustrators", 1),
        ("Second Person", "", 2),
    ]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.LETTER_EDIT)
    assert {"title", "premoderate", "signatories"} <= set(entry.detail["fields"])
    assert entry.actor == owner.user


def test_ticking_remove_drops_a_named_signatory(owner_client: Client, owner) -> None:
    NamedSignatoryFactory(letter=owner.letter, name="Keep Me", position=1)
    NamedSignatoryFactory(letter=owner.letter, name="Drop Me", position=2)
    data = letter_form(
        slug=owner.letter.slug,
        title=owner.letter.title,
        **{
            "signatories-TOTAL_FORMS": "5",
            "signatories-INITIAL_FORMS": "2",
            "signatories-0-name": "Keep Me",
            "signatories-0-ORDER": "1",
            "signatories-1-name": "Drop Me",
            "signatories-1-ORDER": "2",
            "signatories-1-DELETE": "on",
            "signatories-3-name": "",
            "signatories-4-name": "",
        },
    )
    assert owner_client.post(edit_url(owner.letter), data).status_code == 302
    assert list(owner.letter.named_signatories.values_list("name", flat=True)) == ["Keep Me"]


def test_address_of_a_published_letter_does_not_change(owner_client: Client, owner) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(status=Letter.Status.OPEN)
    response = owner_client.post(edit_url(owner.letter), letter_form(slug="renamed"))
    assert response.status_code == 302
    assert Letter.objects.get(pk=owner.letter.pk).slug == "draft-letter"


def test_address_taken_by_another_letter_is_refused(owner_client: Client, owner) -> None:
    LetterFactory(slug="taken")
    response = owner_client.post(edit_url(owner.letter), letter_form(slug="taken"))
    assert response.status_code == 400
    assert "already uses this address" in response.content.decode()
    assert Letter.objects.get(pk=owner.letter.pk).slug == "draft-letter"


# --- Publish, close, reopen -------------------------------------------------------------


def action(client: Client, name: str, letter: Letter, **kwargs: Any):
    return client.post(reverse(name, kwargs={"slug": letter.slug}), **kwargs)


def test_publishing_opens_a_draft_and_audits_it(owner_client: Client, owner) -> None:
    response = action(owner_client, "letter_publish", owner.letter)
    assert response.status_code == 302
    letter = Letter.objects.get(pk=owner.letter.pk)
    assert letter.status == Letter.Status.OPEN
    assert letter.published_at is not None
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LETTER_PUBLISH).count() == 1
    assert owner_client.get(letter.get_absolute_url()).status_code == 200


def test_publishing_is_post_only(owner_client: Client, owner) -> None:
    response = owner_client.get(reverse("letter_publish", kwargs={"slug": owner.letter.slug}))
    assert response.status_code == 405
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.DRAFT


def test_publishing_without_a_csrf_token_is_refused(owner) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    assert action(client, "letter_publish", owner.letter).status_code == 403
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.DRAFT


def test_publishing_with_a_past_closing_time_is_refused(owner_client: Client, owner) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(closes_at=timezone.now() - timedelta(hours=1))
    response = action(owner_client, "letter_publish", owner.letter)
    assert response.status_code == 400
    assert "closing time" in response.content.decode()
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.DRAFT
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LETTER_PUBLISH).exists()


def test_publishing_an_open_letter_again_is_refused(owner_client: Client, owner) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(status=Letter.Status.OPEN)
    assert action(owner_client, "letter_publish", owner.letter).status_code == 400


def test_closing_and_reopening_change_the_status_and_are_audited(
    owner_client: Client, owner
) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(status=Letter.Status.OPEN)
    action(owner_client, "letter_close", owner.letter)
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.CLOSED
    action(owner_client, "letter_reopen", owner.letter)
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.OPEN
    actions = list(
        AuditEntry.objects.filter(letter=owner.letter)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [AuditEntry.Action.LETTER_CLOSE, AuditEntry.Action.LETTER_REOPEN]


def test_reopening_past_its_closing_time_is_refused(owner_client: Client, owner) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(
        status=Letter.Status.CLOSED, closes_at=timezone.now() - timedelta(days=1)
    )
    assert action(owner_client, "letter_reopen", owner.letter).status_code == 400
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.CLOSED


def test_a_moderator_cannot_close_the_letter(client: Client, owner) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(status=Letter.Status.OPEN)
    client.force_login(LetterRoleFactory(letter=owner.letter, role="moderator").user)
    assert action(client, "letter_close", owner.letter).status_code == 404
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.OPEN


# --- Approval by site staff -------------------------------------------------------------


def test_with_approval_required_publishing_waits_for_staff(
    owner_client: Client, owner, settings
) -> None:
    settings.LETTERS_REQUIRE_APPROVAL = True
    action(owner_client, "letter_publish", owner.letter)
    letter = Letter.objects.get(pk=owner.letter.pk)
    assert letter.status == Letter.Status.REVIEW
    assert AuditEntry.objects.get(letter=letter).action == AuditEntry.Action.LETTER_SUBMIT
    assert Client().get(letter.get_absolute_url()).status_code == 404


def test_staff_publish_directly_even_with_approval_required(client: Client, settings) -> None:
    settings.LETTERS_REQUIRE_APPROVAL = True
    staff = UserFactory(is_staff=True)
    role = LetterRoleFactory(user=staff, letter=LetterFactory(status=Letter.Status.DRAFT))
    client.force_login(staff)
    action(client, "letter_publish", role.letter)
    assert Letter.objects.get(pk=role.letter.pk).status == Letter.Status.OPEN


def test_staff_approve_through_the_admin_action(admin_client) -> None:
    letter = LetterFactory(status=Letter.Status.REVIEW, published_at=None)
    draft = LetterFactory(status=Letter.Status.DRAFT, published_at=None)
    response = admin_client.post(
        "/admin/letters/letter/",
        {"action": "approve", "_selected_action": [letter.pk, draft.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.OPEN
    assert Letter.objects.get(pk=draft.pk).status == Letter.Status.DRAFT
    assert AuditEntry.objects.get(action=AuditEntry.Action.LETTER_APPROVE).letter == letter


def test_staff_approve_from_the_staff_page(admin_client) -> None:
    letter = LetterFactory(status=Letter.Status.REVIEW, title="Waiting letter")
    assert "Waiting letter" in admin_client.get(reverse("staff_letters")).content.decode()
    response = admin_client.post(reverse("staff_letter_approve", kwargs={"slug": letter.slug}))
    assert response.status_code == 302
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.OPEN


def test_owners_cannot_use_the_staff_approval(owner_client: Client, owner) -> None:
    Letter.objects.filter(pk=owner.letter.pk).update(status=Letter.Status.REVIEW)
    owner_client.post(reverse("staff_letter_approve", kwargs={"slug": owner.letter.slug}))
    assert Letter.objects.get(pk=owner.letter.pk).status == Letter.Status.REVIEW


def test_admin_close_action_goes_through_the_service(admin_client) -> None:
    letter = LetterFactory(status=Letter.Status.OPEN)
    admin_client.post(
        "/admin/letters/letter/", {"action": "close", "_selected_action": [letter.pk]}
    )
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.CLOSED
    assert AuditEntry.objects.get().action == AuditEntry.Action.LETTER_CLOSE


def test_audit_log_is_read_only_in_the_admin(admin_client) -> None:
    letter = LetterFactory()
    entry = AuditEntry.objects.create(letter=letter, action=AuditEntry.Action.LETTER_CLOSE)
    assert admin_client.get("/admin/letters/auditentry/").status_code == 200
    assert admin_client.get("/admin/letters/auditentry/add/").status_code == 403
    admin_client.post(f"/admin/letters/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# --- Preview page -----------------------------------------------------------------------


def test_team_sees_a_draft_preview_with_a_banner(client: Client, owner) -> None:
    moderator = LetterRoleFactory(letter=owner.letter, role=LetterRole.Role.MODERATOR)
    client.force_login(moderator.user)
    response = client.get(reverse("letter_preview", kwargs={"slug": owner.letter.slug}))
    assert response.status_code == 200
    assert "Preview: draft." in response.content.decode()
    assert owner.letter.title in response.content.decode()


def test_a_draft_is_hidden_from_everyone_else(client: Client, owner) -> None:
    preview = reverse("letter_preview", kwargs={"slug": owner.letter.slug})
    client.force_login(UserFactory())
    assert client.get(preview).status_code == 404
    assert client.get(owner.letter.get_absolute_url()).status_code == 404


def test_staff_can_read_a_letter_awaiting_approval(admin_client) -> None:
    letter = LetterFactory(status=Letter.Status.REVIEW)
    response = admin_client.get(reverse("letter_preview", kwargs={"slug": letter.slug}))
    assert response.status_code == 200
    assert "awaiting approval" in response.content.decode()


# --- Dashboard --------------------------------------------------------------------------


def test_dashboard_lists_my_letters_with_role_status_and_count(
    client: Client, owner, tally
) -> None:
    from tests.factories import SignatureFactory

    moderated = LetterFactory(title="A letter I moderate")
    LetterRoleFactory(letter=moderated, user=owner.user, role=LetterRole.Role.MODERATOR)
    SignatureFactory.create_batch(2, letter=moderated, verified=True)
    tally()
    LetterFactory(title="Somebody else's letter")
    client.force_login(owner.user)
    page = client.get(reverse("dashboard")).content.decode()
    assert owner.letter.title in page
    assert "A letter I moderate" in page
    assert "Somebody else&#x27;s letter" not in page
    assert reverse("letter_edit", kwargs={"slug": owner.letter.slug}) in page
    assert reverse("letter_edit", kwargs={"slug": moderated.slug}) not in page
    assert reverse("moderation_queue", kwargs={"slug": moderated.slug}) in page
    row = page[page.index("A letter I moderate") :]
    assert "Moderator" in row[:600]
    assert '<td class="num">2' in row[:800]


def test_a_forged_signatory_formset_is_refused_without_error(owner_client: Client, owner) -> None:
    data = letter_form(slug=owner.letter.slug, title="Changed")
    del data["signatories-TOTAL_FORMS"]
    response = owner_client.post(edit_url(owner.letter), data)
    assert response.status_code == 400
    assert Letter.objects.get(pk=owner.letter.pk).title != "Changed"


def test_new_letter_and_editor_pages_render(owner_client: Client, owner) -> None:
    assert owner_client.get(reverse("letter_new")).status_code == 200
    page = owner_client.get(edit_url(owner.letter)).content.decode()
    assert 'name="signatories-TOTAL_FORMS"' in page
    assert reverse("letter_publish", kwargs={"slug": owner.letter.slug}) in page


def test_the_editor_sets_who_started_the_letter(owner_client: Client, owner) -> None:
    letter = owner.letter
    letter.status = Letter.Status.OPEN
    letter.save(update_fields=["status"])
    response = owner_client.post(
        edit_url(letter),
        letter_form(
            slug=letter.slug,
            organiser_name="Ada Organiser",
            organiser_organization="Guild of Artists",
        ),
    )
    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.organiser_name, letter.organiser_organization) == (
        "Ada Organiser",
        "Guild of Artists",
    )
    page = owner_client.get(letter.get_absolute_url()).content.decode()
    assert "Started by <bdi>Ada Organiser</bdi> (<bdi>Guild of Artists</bdi>)" in page
    assert owner.user.email not in page.split("<main", 1)[1].split("</main>")[0]


def test_a_bidi_control_in_the_organiser_is_refused(owner_client: Client, owner) -> None:
    response = owner_client.post(
        edit_url(owner.letter), letter_form(organiser_name="Ada \u202eOrganiser")
    )
    assert response.status_code == 400
    owner.letter.refresh_from_db()
    assert owner.letter.organiser_name == ""


def test_status_messages_speak_the_owners_language(owner_client: Client, owner) -> None:
    letter = owner.letter
    letter.status = Letter.Status.OPEN
    letter.save(update_fields=["status"])
    response = owner_client.post(
        reverse("letter_close", kwargs={"slug": letter.slug}),
        HTTP_ACCEPT_LANGUAGE="fr",
        follow=True,
    )
    assert "Closed. The letter takes no more signatures." not in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == Letter.Status.CLOSED
