"""What the fuzz suite found, each pinned by a plain test with its minimal example."""

import pytest
from django.test import Client
from django.urls import reverse

from letters.models import LetterRole
from petition.models import Signature
from tests.factories import LetterRoleFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("next_url", ["0", "moderation_queue", "home"])
def test_a_moderation_next_that_is_no_path_returns_there_instead_of_failing(
    client: Client, next_url: str
) -> None:
    # redirect() reads a string without "/" or "." as a view name first: "0" raised
    # NoReverseMatch (a 500), "home" went to the home page instead.
    role = LetterRoleFactory(role=LetterRole.Role.MODERATOR)
    signature = SignatureFactory(letter=role.letter, verified=True)
    client.force_login(role.user)
    bulk = client.post(
        reverse("moderation_bulk", args=[role.letter.slug]),
        {"action": "hide", "signature": [str(signature.pk)], "next": next_url},
    )
    assert (bulk.status_code, bulk["Location"]) == (302, next_url)
    signature.refresh_from_db()
    assert signature.moderation == Signature.Moderation.HIDDEN
    refused = client.post(
        reverse("moderation_bulk", args=[role.letter.slug]),
        {"action": "no-such-action", "next": next_url},
    )
    assert (refused.status_code, refused["Location"]) == (302, next_url)
    check = client.post(
        reverse("moderation_affiliation", args=[role.letter.slug, signature.pk]),
        {"op": "no-such-op", "next": next_url},
    )
    assert (check.status_code, check["Location"]) == (302, next_url)
