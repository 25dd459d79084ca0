import pytest

from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/letters/letter/",
        "/admin/letters/letter/add/",
        "/admin/petition/signature/",
        "/admin/mail/outboundemail/",
        "/admin/petition/block/",
        "/admin/petition/block/add/",
        "/admin/petition/lettercount/",
        "/admin/accounts/user/",
    ],
)
def test_admin_pages_render_for_operators(admin_client, path: str) -> None:
    SignatureFactory(letter=LetterFactory(), verified=True)
    assert admin_client.get(path).status_code == 200


def test_admin_block_form_refuses_a_malformed_range(admin_client) -> None:
    from petition.models import Block

    response = admin_client.post(
        "/admin/petition/block/add/", {"kind": "ip", "value": "10.0.0.0/99"}
    )
    assert response.status_code == 200
    assert b"is not an IP address or CIDR range" in response.content
    assert not Block.objects.exists()


def test_admin_block_form_stores_a_canonical_range(admin_client) -> None:
    from petition.models import Block

    admin_client.post("/admin/petition/block/add/", {"kind": "ip", "value": "203.0.113.9/24"})
    assert Block.objects.get().value == "203.0.113.0/24"


def test_saving_a_letter_in_the_admin_stamps_its_publication(admin_client) -> None:
    from letters.models import Letter

    response = admin_client.post(
        "/admin/letters/letter/add/",
        {
            "slug": "from-admin", "title": "From the admin", "body": "Text", "status": "open",
            "language": "en", "signer_fields": "[]", "created_at": "",
            "named_signatories-TOTAL_FORMS": "0", "named_signatories-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    letter = Letter.objects.get(slug="from-admin")
    assert letter.published_at is not None
    assert list(letter.versions.values_list("number", "body")) == [(1, "Text")]


def test_editing_a_published_letter_in_the_admin_makes_a_new_version(admin_client) -> None:
    from letters.models import Letter

    letter = LetterFactory(slug="edited", body="Old words here.")  # published, no versions yet
    named = {"named_signatories-TOTAL_FORMS": "0", "named_signatories-INITIAL_FORMS": "0"}
    for prefix in ("roles", "invitations"):
        named |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    response = admin_client.post(
        f"/admin/letters/letter/{letter.pk}/change/",
        {
            "slug": "edited", "title": letter.title, "body": "New words here.",
            "language": "en", "signer_fields": "[]", **named,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    letter = Letter.objects.get(pk=letter.pk)
    assert letter.version == 2
    versions = dict(letter.versions.values_list("number", "body"))
    assert versions == {1: "Old words here.", 2: "New words here."}


def test_admin_reject_action_goes_through_the_audited_service(admin_client) -> None:
    from letters.models import AuditEntry
    from petition.models import Signature
    from tests.factories import SignatureFactory

    signature = SignatureFactory(verified=True)
    response = admin_client.post(
        "/admin/petition/signature/",
        {"action": "reject", "_selected_action": [signature.pk]},
        follow=True,
    )
    assert response.status_code == 200
    signature.refresh_from_db()
    assert signature.moderation == Signature.Moderation.REJECTED
    entry = AuditEntry.objects.get(action=AuditEntry.Action.REJECT)
    assert entry.signature_count == 1
