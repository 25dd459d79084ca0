"""Links for signers are sealed: they reveal no row id, cannot be altered or moved to
another purpose, and links emailed in the earlier signed-only form keep working until
they expire."""

import base64
import re

import pytest
from django.core import signing

from petition.signing.tokens import (
    MANAGE_SALT,
    VERIFY_SALT,
    LinkExpired,
    LinkInvalid,
    make_manage_token,
    make_verification_token,
    read_manage_token,
    read_verification_token,
)


def _decoded(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def test_a_token_gives_back_its_ids() -> None:
    token = make_verification_token(signature_id=41, letter_id=7)
    assert read_verification_token(token) == (41, 7)
    assert read_manage_token(make_manage_token(signature_id=41, letter_id=7)) == (41, 7)


def test_a_token_reveals_no_row_id() -> None:
    for signature_id in (1, 2, 41, 1234567):
        token = make_verification_token(signature_id=signature_id, letter_id=7)
        assert ":" not in token  # not django.core.signing's readable "payload:time:mac"
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert f"[{signature_id},7]".encode() not in _decoded(token)
        assert f"{signature_id}".encode() not in _decoded(token) or signature_id < 100


def test_tokens_of_neighbouring_rows_share_no_visible_pattern() -> None:
    first = _decoded(make_verification_token(signature_id=1000, letter_id=7))
    second = _decoded(make_verification_token(signature_id=1001, letter_id=7))
    # Fernet: version byte and time stamp first, then a random IV and the ciphertext.
    assert first[9:] != second[9:]
    assert sum(a == b for a, b in zip(first[25:], second[25:], strict=False)) < 8


def test_an_altered_token_or_one_for_another_purpose_is_invalid() -> None:
    token = make_verification_token(signature_id=41, letter_id=7)
    middle = len(token) // 2
    altered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    for bad in (altered, token[:-3], token + "x", "", "é", "WzIsMV0:1tXYZa:abc"):
        with pytest.raises(LinkInvalid):
            read_verification_token(bad)
    with pytest.raises(LinkInvalid):
        read_manage_token(token)


def test_an_old_token_is_expired(settings) -> None:
    token = make_verification_token(signature_id=41, letter_id=7)
    settings.PETITION_VERIFY_LINK_MAX_AGE = -1
    with pytest.raises(LinkExpired):
        read_verification_token(token)


def test_a_link_emailed_in_the_signed_only_form_still_works_until_it_expires(settings) -> None:
    legacy = signing.dumps([41, 7], salt=VERIFY_SALT, compress=False)
    assert read_verification_token(legacy) == (41, 7)
    with pytest.raises(LinkInvalid):
        read_manage_token(legacy)
    forged = "WzIsMV0:" + legacy.split(":", 1)[1]
    with pytest.raises(LinkInvalid):
        read_verification_token(forged)
    settings.PETITION_VERIFY_LINK_MAX_AGE = -1
    with pytest.raises(LinkExpired):
        read_verification_token(legacy)


def test_tokens_survive_a_secret_key_rotation(settings) -> None:
    old_secret = settings.SECRET_KEY
    token = make_manage_token(signature_id=41, letter_id=7)
    settings.SECRET_KEY = "a brand new secret key " * 3
    with pytest.raises(LinkInvalid):
        read_manage_token(token)
    settings.SECRET_KEY_FALLBACKS = [old_secret]
    assert read_manage_token(token) == (41, 7)
    assert MANAGE_SALT != VERIFY_SALT


def test_an_affiliation_link_shows_neither_the_address_nor_the_ids() -> None:
    from petition.affiliations.services import (
        AFFILIATION_SALT,
        KIND_SIGNATURE,
        AffiliationLink,
        make_affiliation_token,
        read_affiliation_token,
    )

    link = AffiliationLink(
        KIND_SIGNATURE, 4242, 77, "ada@uni.example", "uni.example", "f" * 16, 1_700_000_000
    )
    token = make_affiliation_token(link)
    assert b"uni.example" not in _decoded(token)
    assert b"4242" not in _decoded(token)
    assert read_affiliation_token(token) == link
    legacy = signing.dumps(
        [KIND_SIGNATURE, 4242, 77, "ada@uni.example", "uni.example", "f" * 16, 1_700_000_000],
        salt=AFFILIATION_SALT,
        compress=True,
    )
    assert read_affiliation_token(legacy) == link


@pytest.mark.django_db
def test_an_invitation_link_does_not_show_its_row_id() -> None:
    from letters.services import INVITATION_TOKEN_SALT, invitation_from_token, invitation_token
    from tests.factories import InvitationFactory

    invitation = InvitationFactory()
    token = invitation_token(invitation)
    assert f'"invitation":{invitation.pk}'.encode() not in _decoded(token)
    assert invitation_from_token(token) == invitation
    legacy = signing.dumps({"invitation": invitation.pk}, salt=INVITATION_TOKEN_SALT, compress=True)
    assert invitation_from_token(legacy) == invitation
