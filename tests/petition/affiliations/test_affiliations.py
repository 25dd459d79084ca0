"""Signers verify a stated affiliation by an email at the organization's domain, or a
moderator checks it; public lists show the difference."""

import re
from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import AuditEntry, Letter, LetterRole
from mail.models import OutboundEmail
from petition.affiliations.services import (
    AffiliationError,
    domain_normalize,
    is_freemail_domain,
    organization_domain_check,
)
from petition.models import Signature
from petition.signing.tokens import make_manage_token
from tests.conftest import SmtpSink
from tests.factories import LetterRoleFactory, SignatureFactory
from tests.responses import TestResponse

AFFILIATION_LINK = re.compile(r"https?://\S+/affiliations/confirm/[^/\s]+/")


def manage_path(signature: Signature) -> str:
    token = make_manage_token(signature_id=signature.pk, letter_id=signature.letter_id)
    return reverse("signature_manage", kwargs={"slug": signature.letter.slug, "token": token})


def request_path(signature: Signature) -> str:
    return manage_path(signature) + "affiliation/"


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def affiliation_link(message: mail.EmailMessage) -> str:
    links = set(AFFILIATION_LINK.findall(str(message.body)))
    assert len(links) == 1, message.body
    return links.pop()


@pytest.fixture
def ada(letter: Letter) -> Signature:
    return SignatureFactory(
        letter=letter,
        verified=True,
        name="Ada Example",
        email="ada@example.net",
        title="Illustrator",
        organization="Example Studio",
    )


@pytest.fixture
def post(client: Client, django_capture_on_commit_callbacks: Callable) -> Callable[..., object]:
    """POST and run what was queued after commit (the outbox drain, inline here)."""

    def _post(path: str, data: dict[str, object] | None = None) -> TestResponse:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data or {})

    return _post


def ask(post: Callable, signature: Signature, domain: str, email: str) -> TestResponse:
    return post(request_path(signature), {"domain": domain, "email": email})


# --- Domains ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("example.org", "example.org"),
        ("  Example.ORG. ", "example.org"),
        ("@example.org", "example.org"),
        ("uni-köln.de", "xn--uni-kln-e1a.de"),
        ("dept.example.ac.uk", "dept.example.ac.uk"),
    ],
)
def test_organization_domains_are_stored_in_one_form(typed: str, stored: str) -> None:
    assert domain_normalize(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "localhost", "https://example.org", "example.org/team", "exa mple.org", "-bad.org",
     "10.0.0.1", "a..org", "ada@example.org", "x" * 64 + ".org"],
)  # fmt: skip
def test_malformed_domains_are_refused(typed: str) -> None:
    with pytest.raises(AffiliationError):
        domain_normalize(typed)


@pytest.mark.parametrize(
    "domain", ["gmail.com", "eu.mail.yahoo.com", "proton.me", "mailinator.com"]
)
def test_free_mail_and_disposable_domains_prove_no_affiliation(domain: str) -> None:
    with pytest.raises(AffiliationError):
        organization_domain_check(domain)


def test_a_domain_that_only_contains_a_free_mail_name_is_an_organization() -> None:
    assert not is_freemail_domain("gmail.com.example.org")
    assert not is_freemail_domain("notgmail.com")
    organization_domain_check("example.org")


# --- The signer's email ----------------------------------------------------------------


def test_manage_page_offers_to_verify_a_stated_affiliation(client: Client, ada: Signature) -> None:
    response = client.get(manage_path(ada))
    assert b"Your affiliation" in response.content
    assert b"(unverified)" in response.content
    assert re.search(rb'href="/letters/fair-terms/manage/[^/"]+/affiliation/"', response.content)
    assert "Verify my affiliation…".encode() in response.content


def test_verification_email_goes_to_the_work_address_and_its_link_verifies(
    client: Client, letter: Letter, ada: Signature, post: Callable
) -> None:
    response = ask(post, ada, "Example.org", "ada.lovelace@example.org")
    assert response.status_code == 200
    assert b"Check your work inbox" in response.content
    assert [m.to for m in mail.outbox] == [["ada.lovelace@example.org"]]
    outbound = OutboundEmail.objects.get(kind=OutboundEmail.Kind.AFFILIATION)
    assert outbound.signature_id == ada.pk
    assert outbound.state == OutboundEmail.State.SENT
    assert outbound.body_text == outbound.body_html == ""  # the live link is not kept
    assert "Illustrator, Example Studio" in mail.outbox[0].body

    confirm = path_of(affiliation_link(mail.outbox[0]))
    page = client.get(confirm)
    assert page.status_code == 200
    assert b"Confirm my affiliation" in page.content
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""  # GET never acts

    response = post(confirm)
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.affiliation_verification == "email"
    assert ada.affiliation_domain == "example.org"
    assert ada.affiliation_verified_at is not None
    assert b"Affiliation verified" in client.get(confirm).content
    entry = AuditEntry.objects.get(letter=letter, action=AuditEntry.Action.AFFILIATION_VERIFY)
    assert entry.detail["signature"] == ada.pk
    assert entry.detail["method"] == "email"

    public = client.get(letter.get_absolute_url()).content.decode()
    assert "verified via example.org email" in public
    assert "ada.lovelace" not in public


def test_confirming_twice_changes_nothing_more(
    letter: Letter, ada: Signature, post: Callable
) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    post(confirm)
    post(confirm)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.AFFILIATION_VERIFY).count() == 1


def test_an_address_at_a_subdomain_is_accepted(ada: Signature, post: Callable) -> None:
    response = ask(post, ada, "example.org", "ada@mail.example.org")
    assert response.status_code == 200
    assert [m.to for m in mail.outbox] == [["ada@mail.example.org"]]


@pytest.mark.parametrize(
    "email", ["ada@other.org", "ada@badexample.org", "ada@example.org.evil.net"]
)
def test_an_address_not_at_the_stated_domain_is_refused(
    ada: Signature, post: Callable, email: str
) -> None:
    response = ask(post, ada, "example.org", email)
    assert response.status_code == 400
    assert "This address is not at example.org" in response.content.decode()
    assert mail.outbox == []
    assert not OutboundEmail.objects.filter(kind=OutboundEmail.Kind.AFFILIATION).exists()


def test_a_free_mail_domain_is_refused_as_the_organization(ada: Signature, post: Callable) -> None:
    response = ask(post, ada, "gmail.com", "ada@gmail.com")
    assert response.status_code == 400
    assert "gives out personal mailboxes" in response.content.decode()
    assert mail.outbox == []


def test_a_malformed_domain_is_refused(ada: Signature, post: Callable) -> None:
    response = ask(post, ada, "https://example.org/", "ada@example.org")
    assert response.status_code == 400
    assert "Enter only the domain" in response.content.decode()
    assert mail.outbox == []


def test_no_affiliation_stated_sends_nothing(
    letter: Letter, post: Callable, client: Client
) -> None:
    plain = SignatureFactory(letter=letter, verified=True)
    assert b"No affiliation is stated" in client.get(request_path(plain)).content
    response = ask(post, plain, "example.org", "ada@example.org")
    assert response.status_code == 409
    assert mail.outbox == []


def test_sends_over_the_limit_are_refused_with_a_clear_message(
    ada: Signature, post: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "affiliation_signature": "2/3600",
    }
    answers = [ask(post, ada, "example.org", f"ada{i}@example.org") for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Too many verification emails" in answers[2].content.decode()
    assert len(mail.outbox) == 2


def test_one_work_address_is_not_bombed_from_many_signatures(
    letter: Letter, post: Callable, settings
) -> None:
    settings.PETITION_RATE_LIMITS = {
        **settings.PETITION_RATE_LIMITS,
        "affiliation_address": "1/3600",
    }
    signers = [
        SignatureFactory(letter=letter, verified=True, organization="Example") for _ in range(2)
    ]
    answers = [ask(post, s, "example.org", "boss@example.org") for s in signers]
    assert [a.status_code for a in answers] == [200, 429]
    assert len(mail.outbox) == 1


def test_a_tampered_link_is_refused_and_changes_nothing(
    client: Client, ada: Signature, post: Callable
) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    tampered = confirm[:-6] + ("A" if confirm[-6] != "A" else "B") + confirm[-5:]
    assert client.get(tampered).status_code == 400
    assert post(tampered).status_code == 400
    assert post("/affiliations/confirm/nonsense/").status_code == 400
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""


def test_an_expired_link_is_refused(
    client: Client, ada: Signature, post: Callable, settings
) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    settings.PETITION_AFFILIATION_LINK_MAX_AGE = -1
    response = post(confirm)
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""


def test_a_link_for_a_withdrawn_signature_verifies_nothing(
    client: Client, ada: Signature, post: Callable
) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    post(manage_path(ada) + "withdraw/")
    response = post(confirm)
    assert response.status_code == 409
    assert b"withdrawn" in response.content
    ada.refresh_from_db()
    assert (ada.status, ada.affiliation_verification) == ("withdrawn", "")


def test_a_link_sent_before_the_affiliation_changed_verifies_nothing(
    ada: Signature, post: Callable
) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    post(
        manage_path(ada), {"title": "Director", "organization": "Example Studio", "show_name": "on"}
    )
    response = post(confirm)
    assert response.status_code == 409
    assert b"changed after this link was sent" in response.content
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""


def test_changing_the_affiliation_through_self_service_resets_its_verification(
    ada: Signature, post: Callable
) -> None:
    Signature.objects.filter(pk=ada.pk).update(
        affiliation_verification="email", affiliation_domain="example.org"
    )
    post(
        manage_path(ada),
        {"title": "Illustrator", "organization": "Alpha programme", "show_name": "on"},
    )
    ada.refresh_from_db()
    assert (ada.affiliation_verification, ada.affiliation_domain) == ("", "")


def test_changing_other_fields_keeps_the_verification(ada: Signature, post: Callable) -> None:
    Signature.objects.filter(pk=ada.pk).update(
        affiliation_verification="email", affiliation_domain="example.org"
    )
    post(
        manage_path(ada),
        {"title": "Illustrator", "organization": "Example Studio", "city": "Oslo"},
    )
    ada.refresh_from_db()
    assert (ada.show_name, ada.affiliation_verification) == (False, "email")


def test_a_confirmation_posted_from_another_site_is_refused(ada: Signature, post: Callable) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    response = Client(enforce_csrf_checks=True).post(
        confirm, headers={"Origin": "https://attacker.example"}
    )
    assert response.status_code == 403
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""


def test_the_email_travels_over_real_smtp(
    ada: Signature, post: Callable, settings, smtp_sink: SmtpSink
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    ask(post, ada, "example.org", "ada@example.org")
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "ada@example.org"
    assert "Confirm an affiliation" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert AFFILIATION_LINK.search(text)


# --- Public display --------------------------------------------------------------------


def test_public_list_and_api_tell_verified_from_unverified(
    client: Client, letter: Letter, ada: Signature
) -> None:
    Signature.objects.filter(pk=ada.pk).update(
        affiliation_verification="email", affiliation_domain="example.org"
    )
    SignatureFactory(
        letter=letter, verified=True, name="Not A Member", organization="the alpha programme"
    )
    SignatureFactory(
        letter=letter,
        verified=True,
        name="Checked Person",
        organization="Guild",
        affiliation_verification="moderator",
    )
    page = client.get(letter.get_absolute_url()).content.decode()
    assert "verified via example.org email" in page
    assert "checked by a moderator" in page
    assert re.search(
        r"the alpha programme</bdi> <span class=\"aff-mark aff-unverified\">\(unverified\)", page
    )

    items = {
        i["name"]: i
        for i in client.get(f"/api/v1/letters/{letter.slug}/signatures").json()["items"]
    }
    assert items["Ada Example"]["affiliation_verified"] == "email"
    assert items["Ada Example"]["affiliation_domain"] == "example.org"
    assert items["Checked Person"]["affiliation_verified"] == "moderator"
    assert items["Not A Member"]["affiliation_verified"] is None
    assert items["Not A Member"]["affiliation_domain"] is None
    assert "@" not in str(items)


# --- Moderators ------------------------------------------------------------------------


@pytest.fixture
def moderator_client(client: Client, letter: Letter) -> Client:
    client.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    return client


def moderate_path(signature: Signature) -> str:
    return reverse(
        "moderation_affiliation",
        kwargs={"slug": signature.letter.slug, "signature_id": signature.pk},
    )


def test_queue_shows_the_state_and_a_verify_button(
    moderator_client: Client, letter: Letter, ada: Signature
) -> None:
    page = moderator_client.get(reverse("moderation_queue", args=[letter.slug])).content.decode()
    assert "(unverified)" in page
    assert f'form="aff-{ada.pk}"' in page
    assert f'id="aff-{ada.pk}"' in page
    assert moderate_path(ada) in page


def test_a_moderator_verifies_and_unverifies_with_audit(
    moderator_client: Client, letter: Letter, ada: Signature
) -> None:
    response = moderator_client.post(moderate_path(ada), {"op": "verify", "domain": "example.org"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert (ada.affiliation_verification, ada.affiliation_domain) == ("moderator", "example.org")
    page = moderator_client.get(reverse("moderation_queue", args=[letter.slug])).content.decode()
    assert "checked by a moderator (example.org)" in page
    assert "Remove verification" in page

    moderator_client.post(moderate_path(ada), {"op": "unverify"})
    ada.refresh_from_db()
    assert (ada.affiliation_verification, ada.affiliation_domain) == ("", "")
    actions = list(
        AuditEntry.objects.filter(letter=letter).order_by("pk").values_list("action", flat=True)
    )
    assert actions == [AuditEntry.Action.AFFILIATION_VERIFY, AuditEntry.Action.AFFILIATION_UNVERIFY]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.AFFILIATION_UNVERIFY)
    assert entry.detail["method"] == "moderator"
    assert entry.actor is not None


def test_a_moderator_may_verify_without_a_domain(moderator_client: Client, ada: Signature) -> None:
    moderator_client.post(moderate_path(ada), {"op": "verify", "domain": ""})
    ada.refresh_from_db()
    assert (ada.affiliation_verification, ada.affiliation_domain) == ("moderator", "")


def test_a_moderator_gets_a_clear_error_for_a_free_mail_domain(
    moderator_client: Client, letter: Letter, ada: Signature
) -> None:
    response = moderator_client.post(
        moderate_path(ada), {"op": "verify", "domain": "gmail.com"}, follow=True
    )
    assert "gives out personal mailboxes" in response.content.decode()
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""
    assert not AuditEntry.objects.filter(letter=letter).exists()


def test_a_signature_without_an_affiliation_cannot_be_verified(
    moderator_client: Client, letter: Letter
) -> None:
    plain = SignatureFactory(letter=letter, verified=True)
    response = moderator_client.post(moderate_path(plain), {"op": "verify"}, follow=True)
    assert "No affiliation is stated" in response.content.decode()
    plain.refresh_from_db()
    assert plain.affiliation_verification == ""


def test_another_letters_signature_is_404(moderator_client: Client, letter: Letter) -> None:
    stranger = SignatureFactory(verified=True, organization="Elsewhere")
    path = reverse(
        "moderation_affiliation", kwargs={"slug": letter.slug, "signature_id": stranger.pk}
    )
    assert moderator_client.post(path, {"op": "verify"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.affiliation_verification == ""


def test_moderation_get_does_nothing(moderator_client: Client, ada: Signature) -> None:
    assert moderator_client.get(moderate_path(ada)).status_code == 405


def test_signing_again_after_withdrawing_drops_the_old_verification(
    letter: Letter, ada: Signature, client: Client, django_capture_on_commit_callbacks
) -> None:
    Signature.objects.filter(pk=ada.pk).update(
        status="withdrawn", affiliation_verification="email", affiliation_domain="example.org"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("signature_submit", args=[letter.slug]),
            {
                "name": "Ada Example",
                "email": "ada@example.net",
                "organization": "Alpha programme",
                "consent": "on",
                "show_name": "on",
            },
        )
    ada.refresh_from_db()
    assert (ada.status, ada.affiliation_verification) == ("pending", "")


def test_an_old_link_cannot_undo_a_moderators_removal(
    client: Client, letter: Letter, ada: Signature, post: Callable
) -> None:
    ask(post, ada, "example.org", "ada@example.org")
    confirm = path_of(affiliation_link(mail.outbox[0]))
    post(confirm)
    moderator = Client()
    moderator.force_login(LetterRoleFactory(letter=letter, role=LetterRole.Role.MODERATOR).user)
    moderator.post(moderate_path(ada), {"op": "unverify"})
    response = post(confirm)
    assert response.status_code == 409
    assert b"removed this affiliation" in response.content
    ada.refresh_from_db()
    assert ada.affiliation_verification == ""
