"""Invisible and bidi characters in what signers and moderators type: refused when typed,
isolated with <bdi> when shown; the watch list sees through look-alike letters."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import Letter, LetterRole
from petition.models import Signature
from petition.moderation.anomalies import letter_flag_anomalies
from petition.moderation.services import watched_name_add
from petition.signing.tokens import make_manage_token
from tests.factories import LetterRoleFactory, NamedSignatoryFactory, SignatureFactory

pytestmark = pytest.mark.django_db

RLO = "\u202e"
ZWSP = "\u200b"
INVISIBLE = b"invisible or text-direction control characters"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"organization": "Example Corp" + RLO}, "organization", INVISIBLE),
        ({"name": ZWSP * 3}, "name", INVISIBLE),
        ({"name": "\u202a\u202b\u202c"}, "name", INVISIBLE),
        ({"name": "\U000e0041\U000e0064\U000e0061"}, "name", INVISIBLE),
        ({"name": "Z" + "\u0301\u0300\u0302" * 30}, "name", b"Too many accents"),
        ({"name": "!!!"}, "name", b"Enter at least one letter"),
        ({"title": "Director" + ZWSP}, "title", INVISIBLE),
        ({"city": "\u2066Oslo\u2069"}, "city", INVISIBLE),
        ({"comment": "fine" + RLO + "txt.exe"}, "comment", INVISIBLE),
    ],
)
def test_signing_refuses_invisible_bidi_and_zalgo_text_and_stores_nothing(
    letter: Letter, sign: Callable, overrides: dict, field: str, message: bytes
) -> None:
    response = sign(letter, **overrides)
    assert response.status_code == 400
    assert message in response.content
    assert f'id="id_{field}_error"'.encode() in response.content
    assert not Signature.objects.exists()
    assert len(mail.outbox) == 0


def test_signing_stores_names_in_nfc_and_keeps_emoji_in_comments(
    letter: Letter, sign: Callable
) -> None:
    sign(letter, name="Jose\u0301  Mari\u0301a", comment="Yes 👩\u200d👩\u200d👧\r\nand more")
    signature = Signature.objects.get()
    assert signature.name == "José María"
    assert signature.comment == "Yes 👩\u200d👩\u200d👧\nand more"


def test_the_self_service_form_applies_the_same_policy(
    letter: Letter, client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    signature = SignatureFactory(letter=letter, verified=True, organization="Example Corp")
    token = make_manage_token(signature_id=signature.pk, letter_id=letter.pk)
    path = reverse("signature_manage", kwargs={"slug": letter.slug, "token": token})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"organization": "Example Corp" + RLO, "show_name": "on"})
    assert response.status_code == 400
    assert INVISIBLE in response.content
    signature.refresh_from_db()
    assert signature.organization == "Example Corp"


def test_stored_user_text_is_isolated_next_to_the_sites_own_words(
    letter: Letter, client: Client
) -> None:
    # Stored before the policy existed: the page must still keep "(unverified)" readable.
    SignatureFactory(letter=letter, verified=True, name="Mallory", organization="ACME" + RLO)
    NamedSignatoryFactory(letter=letter, name="Eve" + RLO, affiliation="Evil Inc" + RLO)
    page = client.get(letter.get_absolute_url()).content.decode()
    assert '<span class="name"><bdi>Mallory</bdi></span>' in page
    assert f'<bdi>ACME{RLO}</bdi> <span class="aff-mark aff-unverified">(unverified)' in page
    assert f'<span class="name"><bdi>Eve{RLO}</bdi></span>' in page
    assert f'<bdi>Evil Inc{RLO}</bdi> <span class="aff-mark aff-unverified">(unverified)' in page


def test_the_moderation_queue_isolates_names_and_organizations(
    letter: Letter, client: Client
) -> None:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    SignatureFactory(letter=letter, verified=True, name="Mallory" + RLO, organization="X" + RLO)
    page = client.get(reverse("moderation_queue", args=[letter.slug])).content.decode()
    assert f"<bdi>Mallory{RLO}</bdi></label>" in page
    assert f"<bdi>X{RLO}</bdi></span>" in page


def test_a_moderation_note_with_a_bidi_control_is_refused(letter: Letter, client: Client) -> None:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    signature = SignatureFactory(letter=letter, verified=True)
    response = client.post(
        reverse("moderation_bulk", args=[letter.slug]),
        {"action": "hide", "signature": [signature.pk], "note": "spam" + RLO},
        follow=True,
    )
    signature.refresh_from_db()
    assert signature.moderation == ""
    assert INVISIBLE in response.content


@pytest.mark.parametrize(
    "impostor", ["Famous P\u0435rson", "Famous P" + ZWSP + "erson", "FAM\u041eUS PERSON"]
)
def test_the_watch_list_flags_look_alike_names(letter: Letter, impostor: str) -> None:
    moderator = LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user
    early = SignatureFactory(letter=letter, verified=True, name=impostor)
    watched_name_add(letter=letter, actor=moderator, name="Famous Person")
    later = SignatureFactory(letter=letter, verified=True, name=impostor + " ")
    honest = SignatureFactory(letter=letter, verified=True, name="Famous Parson")
    letter_flag_anomalies(letter=letter)
    for signature in (early, later, honest):
        signature.refresh_from_db()
    assert "watched_name" in early.flag_list
    assert "watched_name" in later.flag_list
    assert "watched_name" not in honest.flag_list


def test_a_look_alike_of_a_watched_name_is_already_on_the_list(letter: Letter) -> None:
    from petition.moderation.services import ModerationError

    moderator = LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user
    watched_name_add(letter=letter, actor=moderator, name="Famous Person")
    with pytest.raises(ModerationError):
        watched_name_add(letter=letter, actor=moderator, name="Famous P\u0435rson")


def test_the_migration_recomputes_stored_keys_and_merges_look_alike_watched_names(
    letter: Letter,
) -> None:
    import importlib

    from django.apps import apps

    from core.normalize import name_key
    from petition.models import WatchedName

    migration = importlib.import_module("petition.migrations.0007_name_key_skeleton")
    impostor = SignatureFactory(letter=letter, verified=True, name="Famous P\u0435rson")
    Signature.objects.filter(pk=impostor.pk).update(name_key="famous p\u0435rson")  # old key
    first = WatchedName.objects.create(letter=letter, name="Famous Person", name_key="old 1")
    WatchedName.objects.create(letter=letter, name="Famous P\u0435rson", name_key="old 2")
    migration.recompute_name_keys(apps, None)
    impostor.refresh_from_db()
    assert impostor.name_key == name_key("Famous Person")
    assert list(WatchedName.objects.values_list("pk", "name_key")) == [
        (first.pk, name_key("Famous Person"))
    ]
