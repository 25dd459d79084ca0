"""A public suffix (co.uk, github.io) is no organization: affiliations refuse it, and a
domain block or invalidation cannot take a whole ICANN suffix by mistake."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from letters.models import Letter, LetterRole
from mail.models import OutboundEmail
from petition.affiliations.services import AffiliationError, organization_domain_check
from petition.models import Block, Signature
from petition.moderation.services import InvalidationCriteria
from petition.signing.services import block_create
from petition.signing.tokens import make_manage_token
from tests.factories import LetterRoleFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("suffix", ["co.uk", "github.io", "blogspot.com", "com.au"])
def test_a_public_suffix_proves_no_affiliation(suffix: str) -> None:
    with pytest.raises(AffiliationError, match="public suffix"):
        organization_domain_check(suffix)


@pytest.mark.parametrize("domain", ["attacker.co.uk", "someone.github.io", "dept.example.ac.uk"])
def test_a_domain_under_a_public_suffix_is_an_organization(domain: str) -> None:
    organization_domain_check(domain)


def test_an_email_at_attacker_co_uk_cannot_verify_co_uk(
    letter: Letter, client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    signature = SignatureFactory(
        letter=letter, verified=True, title="Chair", organization="Companies of the UK"
    )
    token = make_manage_token(signature_id=signature.pk, letter_id=letter.pk)
    path = reverse("signature_manage", kwargs={"slug": letter.slug, "token": token})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            path + "affiliation/", {"domain": "co.uk", "email": "bob@attacker.co.uk"}
        )
    assert response.status_code == 400
    assert "co.uk is a public suffix" in response.content.decode()
    assert mail.outbox == []
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.AFFILIATION).exists()
    signature.refresh_from_db()
    assert signature.affiliation_verification == ""


def test_a_moderator_cannot_mark_an_affiliation_checked_against_a_public_suffix(
    letter: Letter, client: Client
) -> None:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    signature = SignatureFactory(letter=letter, verified=True, organization="Example")
    response = client.post(
        reverse("moderation_affiliation", args=[letter.slug, signature.pk]),
        {"op": "verify", "domain": "co.uk"},
        follow=True,
    )
    assert "public suffix" in response.content.decode()
    signature.refresh_from_db()
    assert signature.affiliation_verification == ""


def test_blocking_an_icann_public_suffix_is_refused() -> None:
    with pytest.raises(ValidationError, match="public suffix"):
        block_create(kind="domain", value="co.uk")
    assert not Block.objects.exists()


def test_a_private_suffix_can_be_blocked_whole() -> None:
    # Its subdomains go to anyone (a dynamic DNS service): blocking it all is a choice.
    assert block_create(kind="domain", value="github.io").value == "github.io"


def test_an_invalidation_by_a_public_suffix_says_why_it_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        InvalidationCriteria(domain="co.uk").cleaned()
    assert "co.uk is a public suffix" in str(error.value.message_dict["domain"])


def test_an_invalidation_under_a_public_suffix_works(letter: Letter) -> None:
    assert InvalidationCriteria(domain="spam.co.uk").cleaned().domain == "spam.co.uk"
    assert not Signature.objects.exists()
