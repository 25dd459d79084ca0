"""Verified affiliations: a stated role and organization, checked against the
organization's domain by an email to an address there, or by the letter's team.

Public lists show which affiliations were checked and how, and mark the rest as
unverified, so an impersonation ("member of the alpha programme") is visible for what it
is. Only the domain is kept on the signature or named signatory; the address the email
went to travels in the signed link and the outbox row, and is never shown.

A link names what it verifies and a fingerprint of the affiliation as it stood when the
link was sent: if the signer changes their title or organization meanwhile, the link no
longer verifies anything, and changing them through self-service clears a verification.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.domains import is_public_suffix
from core.normalize import ip_group, normalize_email
from core.ratelimit import rate_limits_exceeded
from core.sealed import TokenExpired, TokenInvalid, open_link, seal
from letters.audit import audit_record
from letters.models import AffiliationVerification, AuditEntry, Letter, NamedSignatory
from mail.models import OutboundEmail
from mail.outbox import outbox_nudge

from ..emails import absolute_url
from ..models import Signature
from ..moderation.anomalies import is_disposable_domain
from ..signing.tokens import LinkExpired, LinkInvalid

logger = logging.getLogger(__name__)

FREEMAIL_FILE = Path(__file__).parent.parent / "data" / "freemail_domains.txt"
AFFILIATION_SALT = "petition.affiliation.confirm"
KIND_SIGNATURE = "s"
KIND_NAMED = "n"
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class AffiliationError(Exception):
    """A verification that cannot go ahead; the message tells the user why."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


# --- Domains ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _freemail_domains() -> frozenset[str]:
    lines = FREEMAIL_FILE.read_text(encoding="utf-8").splitlines()
    shipped = {line.strip().lower() for line in lines if line.strip() and line[0] != "#"}
    extra = {d.strip().lower() for d in settings.AFFILIATION_EXTRA_FREEMAIL_DOMAINS if d.strip()}
    return frozenset(shipped | extra)


def is_freemail_domain(domain: str) -> bool:
    """Whether the domain, or a domain it belongs to, is a personal mailbox provider."""
    parts = domain.lower().split(".")
    domains = _freemail_domains()
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))


def domain_normalize(value: str) -> str:
    """The organization domain as stored (lower case, ASCII, no trailing dot), or
    AffiliationError if it is not a domain an organization could own mail at."""
    domain = value.strip().lower().removeprefix("@").rstrip(".")
    if not domain:
        raise AffiliationError(_("Enter your organization's domain, like example.org."))
    if any(c in domain for c in "/:@ \t"):
        raise AffiliationError(
            _("Enter only the domain, like example.org, without “https://”, paths or spaces.")
        )
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise AffiliationError(
            _("“%(domain)s” is not a valid domain.") % {"domain": value}
        ) from None
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise AffiliationError(
            _("“%(domain)s” is not a valid domain. Enter one like example.org.")
            % {"domain": value.strip()[:100]}
        )
    return domain


def organization_domain_check(domain: str) -> None:
    """Refuse domains where anyone can have an address: they prove no affiliation."""
    # co.uk or github.io: anyone can register a domain under it (Public Suffix List).
    if is_public_suffix(domain):
        raise AffiliationError(
            _(
                "%(domain)s is a public suffix: anyone can register a domain under it, so an "
                "address there cannot show an affiliation. Enter your organization's own "
                "domain, like example.%(domain)s."
            )
            % {"domain": domain}
        )
    if is_freemail_domain(domain) or is_disposable_domain(domain):
        raise AffiliationError(
            _(
                "%(domain)s gives out personal mailboxes to anyone, so an address there "
                "cannot show an affiliation. Use your organization's own domain."
            )
            % {"domain": domain}
        )


def address_within_domain(email: str, domain: str) -> str:
    """The address, if it belongs to the domain or one of its subdomains; else
    AffiliationError ("an affiliation domain that does not match the email")."""
    try:
        normalize_email(email)
    except ValueError:
        raise AffiliationError(_("Enter a valid email address."), field="email") from None
    email = email.strip()
    host = email.rpartition("@")[2].lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise AffiliationError(_("Enter a valid email address."), field="email") from None
    if host != domain and not host.endswith("." + domain):
        raise AffiliationError(
            _(
                "This address is not at %(domain)s. Use an address at your organization's "
                "domain (or a subdomain of it), or correct the domain."
            )
            % {"domain": domain},
            field="email",
        )
    return email


# --- Links -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AffiliationLink:
    """What an emailed verification link carries, signed."""

    kind: str  # KIND_SIGNATURE or KIND_NAMED
    object_id: int
    letter_id: int
    email: str
    domain: str
    fingerprint: str
    # When the link was made (seconds since the epoch): a removal by the team after it
    # stands, so an old link cannot undo a moderator's decision.
    issued: int = 0


def affiliation_text(item: Signature | NamedSignatory) -> str:
    """The affiliation as the public sees it."""
    if isinstance(item, NamedSignatory):
        return item.affiliation
    return ", ".join(part for part in (item.title, item.organization) if part)


def affiliation_fingerprint(item: Signature | NamedSignatory) -> str:
    """A short digest of who claims what, so a link dies when the claim changes."""
    text = f"{item.name}\x1f{affiliation_text(item)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_affiliation_token(link: AffiliationLink) -> str:
    payload = [
        link.kind,
        link.object_id,
        link.letter_id,
        link.email,
        link.domain,
        link.fingerprint,
        link.issued or int(timezone.now().timestamp()),
    ]
    # Sealed, not just signed: the link shows neither the address nor the row ids.
    return seal(payload, salt=AFFILIATION_SALT)


def read_affiliation_token(token: str) -> AffiliationLink:
    """The link a token stands for, or LinkInvalid / LinkExpired."""
    max_age = settings.PETITION_AFFILIATION_LINK_MAX_AGE
    try:
        value = open_link(token, salt=AFFILIATION_SALT, max_age=max_age)
    except TokenExpired:
        raise LinkExpired from None
    except TokenInvalid:
        raise LinkInvalid from None
    if (
        not isinstance(value, list)
        or len(value) != 7
        or value[0] not in (KIND_SIGNATURE, KIND_NAMED)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:3])
        or not all(isinstance(v, str) for v in value[3:6])
        or not isinstance(value[6], int)
        or isinstance(value[6], bool)
    ):
        raise LinkInvalid
    return AffiliationLink(*value)


# --- State -----------------------------------------------------------------------------


def affiliation_clear(item: Signature | NamedSignatory) -> list[str]:
    """Forget a verification (on the instance, unsaved); returns the fields changed."""
    if not (item.affiliation_verification or item.affiliation_domain):
        return []
    item.affiliation_verification = AffiliationVerification.NONE
    item.affiliation_domain = ""
    item.affiliation_verified_at = None
    return ["affiliation_verification", "affiliation_domain", "affiliation_verified_at"]


def _mark_verified(item: Signature | NamedSignatory, *, method: str, domain: str) -> None:
    item.affiliation_verification = method
    item.affiliation_domain = domain
    item.affiliation_verified_at = timezone.now()
    item.save(
        update_fields=["affiliation_verification", "affiliation_domain", "affiliation_verified_at"]
    )


def _audit(
    *,
    letter: Letter,
    actor: Any,
    verified: bool,
    item: Signature | NamedSignatory,
    method: str,
    domain: str,
) -> None:
    """One audit entry; for a removal, `method` and `domain` are what was removed."""
    key = "named_signatory" if isinstance(item, NamedSignatory) else "signature"
    action = (
        AuditEntry.Action.AFFILIATION_VERIFY if verified else AuditEntry.Action.AFFILIATION_UNVERIFY
    )
    audit_record(
        letter=letter,
        actor=actor,
        action=action,
        signature_count=1 if isinstance(item, Signature) else 0,
        detail={
            key: item.pk,
            "name": item.name,
            "affiliation": affiliation_text(item),
            "method": method,
            "domain": domain,
        },
    )


def _verification_set(
    item: Signature | NamedSignatory, *, letter: Letter, actor: Any, verified: bool, domain: str
) -> None:
    """Mark `item` checked by the team (against `domain` if given), or remove whatever
    verification it has; audited either way."""
    if verified:
        if domain:
            domain = domain_normalize(domain)
            organization_domain_check(domain)
        _mark_verified(item, method=AffiliationVerification.MODERATOR, domain=domain)
        method: str = AffiliationVerification.MODERATOR
    else:
        method, domain = item.affiliation_verification, item.affiliation_domain
        fields = affiliation_clear(item)
        if not fields:
            raise AffiliationError(_("This affiliation is not verified."), status=409)
        item.save(update_fields=fields)
    _audit(letter=letter, actor=actor, verified=verified, item=item, method=method, domain=domain)


def _over_limit(checks: list[tuple[str, str]]) -> bool:
    """Count one send against each (limit name, key); whether any limit is now exceeded.
    Fails open, as signing does: a cache outage must not stop honest verifications."""
    return bool(rate_limits_exceeded(checks, what="affiliation email"))


def _rate_limited_error() -> AffiliationError:
    return AffiliationError(
        _(
            "Too many verification emails have been sent for this recently. Nothing was "
            "sent; please try again later."
        ),
        status=429,
    )


def _queue_email(
    *,
    link: AffiliationLink,
    letter: Letter,
    item: Signature | NamedSignatory,
    language: str,
) -> OutboundEmail:
    """Render and store the email; it is sent after the surrounding transaction commits.
    The body holds a live link, so the outbox erases it once sent."""
    token = make_affiliation_token(link)
    with translation.override(language or letter.language):
        context = {
            "named": isinstance(item, NamedSignatory),
            "person_name": item.name,
            "affiliation": affiliation_text(item),
            "domain": link.domain,
            "letter": letter,
            "confirm_url": absolute_url(reverse("affiliation_confirm", kwargs={"token": token})),
            "valid_days": max(1, settings.PETITION_AFFILIATION_LINK_MAX_AGE // 86400),
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "privacy_url": absolute_url(reverse("privacy")),
        }
        subject = _("Confirm an affiliation on the open letter “%(title)s”") % {
            "title": letter.title
        }
        body_text = render_to_string("petition/email/affiliation.txt", context)
        body_html = render_to_string("petition/email/affiliation.html", context)
    outbound = OutboundEmail.objects.create(
        kind=OutboundEmail.Kind.AFFILIATION,
        signature=item if isinstance(item, Signature) else None,
        to=link.email,
        subject=" ".join(subject.split())[:250],
        body_text=body_text,
        body_html=body_html,
    )
    transaction.on_commit(outbox_nudge, robust=True)
    return outbound


# --- Signers ---------------------------------------------------------------------------


def signature_affiliation_check(signature: Signature) -> None:
    """Refuse a verification for a signature that cannot carry one."""
    if signature.status == Signature.Status.WITHDRAWN:
        raise AffiliationError(
            _("This signature was withdrawn, so there is no affiliation to verify."), status=409
        )
    if signature.status != Signature.Status.VERIFIED:
        raise AffiliationError(
            _("Confirm your signature first; then you can verify your affiliation."), status=409
        )
    if not affiliation_text(signature):
        raise AffiliationError(
            _(
                "No affiliation is stated on this signature. Add your title or organization "
                "first, then verify it."
            ),
            status=409,
        )


@transaction.atomic
def signature_affiliation_email_send(
    *, signature_id: int, domain: str, email: str, ip_address: str | None
) -> OutboundEmail:
    """Queue the email that lets the signer prove their affiliation from an address at the
    organization's domain. Raises AffiliationError (bad input, wrong state, rate limit);
    nothing is sent then."""
    signature = Signature.objects.select_for_update().select_related("letter").get(pk=signature_id)
    signature_affiliation_check(signature)
    domain = domain_normalize(domain)
    organization_domain_check(domain)
    email = address_within_domain(email, domain)
    checks = [
        ("affiliation_signature", f"aff-sig:{signature.pk}"),
        ("affiliation_address", f"aff-to:{email.lower()}"),
    ]
    if ip_address:
        checks.append(("affiliation_ip", f"aff-ip:{ip_group(ip_address)}"))
    if _over_limit(checks):
        logger.info("affiliation email for signature %s over its rate limit", signature.pk)
        raise _rate_limited_error()
    link = AffiliationLink(
        kind=KIND_SIGNATURE,
        object_id=signature.pk,
        letter_id=signature.letter_id,
        email=email,
        domain=domain,
        fingerprint=affiliation_fingerprint(signature),
    )
    return _queue_email(
        link=link, letter=signature.letter, item=signature, language=signature.language
    )


@transaction.atomic
def signature_affiliation_set(
    *, letter: Letter, actor: Any, signature_id: int, verified: bool, domain: str = ""
) -> Signature:
    """A moderator's check: mark the signature's affiliation verified (optionally against a
    domain), or remove its verification, however it was made. Audited."""
    signature = Signature.objects.select_for_update().filter(letter=letter, pk=signature_id).first()
    if signature is None:
        raise AffiliationError(_("That signature is not on this letter."), status=404)
    if verified:
        signature_affiliation_check(signature)
    _verification_set(signature, letter=letter, actor=actor, verified=verified, domain=domain)
    return signature


# --- Named signatories -----------------------------------------------------------------


def _named_for_update(letter: Letter, named_id: int) -> NamedSignatory:
    named = NamedSignatory.objects.select_for_update().filter(letter=letter, pk=named_id).first()
    if named is None:
        raise AffiliationError(_("That signatory is not on this letter."), status=404)
    return named


def _named_check(named: NamedSignatory) -> None:
    if not named.affiliation.strip():
        raise AffiliationError(
            _("No affiliation is stated for %(name)s; add one on the Edit page first.")
            % {"name": named.name},
            status=409,
        )


@transaction.atomic
def named_affiliation_email_send(
    *, letter: Letter, actor: Any, named_id: int, domain: str, email: str
) -> OutboundEmail:
    """Queue the email asking a named signatory to confirm their affiliation from an
    address at its domain. Raises AffiliationError; nothing is sent then."""
    named = _named_for_update(letter, named_id)
    _named_check(named)
    domain = domain_normalize(domain)
    organization_domain_check(domain)
    email = address_within_domain(email, domain)
    checks = [
        ("affiliation_letter", f"aff-letter:{letter.pk}"),
        ("affiliation_address", f"aff-to:{email.lower()}"),
    ]
    if _over_limit(checks):
        logger.info("affiliation email for named signatory %s over its rate limit", named.pk)
        raise _rate_limited_error()
    link = AffiliationLink(
        kind=KIND_NAMED,
        object_id=named.pk,
        letter_id=letter.pk,
        email=email,
        domain=domain,
        fingerprint=affiliation_fingerprint(named),
    )
    return _queue_email(link=link, letter=letter, item=named, language=letter.language)


@transaction.atomic
def named_affiliation_set(
    *, letter: Letter, actor: Any, named_id: int, verified: bool, domain: str = ""
) -> NamedSignatory:
    """The letter team's own check of a named signatory: mark verified (optionally against
    a domain) or remove the verification. Audited."""
    named = _named_for_update(letter, named_id)
    if verified:
        _named_check(named)
    _verification_set(named, letter=letter, actor=actor, verified=verified, domain=domain)
    return named


# --- Confirming a link -----------------------------------------------------------------


@dataclass
class LinkTarget:
    """What a valid link would verify, for the confirming page to show."""

    link: AffiliationLink
    letter: Letter
    item: Signature | NamedSignatory

    @property
    def already_verified(self) -> bool:
        return (
            self.item.affiliation_verification == AffiliationVerification.EMAIL
            and self.item.affiliation_domain == self.link.domain
        )


def affiliation_link_target(link: AffiliationLink, *, for_update: bool = False) -> LinkTarget:
    """The signature or named signatory a link verifies, checked against its current state.
    Raises LinkInvalid if it no longer exists, AffiliationError if it cannot be verified."""
    model = Signature if link.kind == KIND_SIGNATURE else NamedSignatory
    rows = model.objects.select_related("letter").filter(
        pk=link.object_id, letter_id=link.letter_id
    )
    if for_update:
        rows = rows.select_for_update(of=("self",))
    item = rows.first()
    if item is None:
        raise LinkInvalid
    if isinstance(item, Signature):
        signature_affiliation_check(item)
    else:
        _named_check(item)
    if affiliation_fingerprint(item) != link.fingerprint:
        raise AffiliationError(
            _(
                "The affiliation changed after this link was sent, so the link no longer "
                "verifies it. Ask for a new verification email."
            ),
            status=409,
        )
    if _removed_since(item, issued=link.issued):
        raise AffiliationError(
            _(
                "The letter's team removed this affiliation's verification after the link "
                "was sent, so the link no longer verifies it."
            ),
            status=409,
        )
    # The rules may have tightened since the link was sent.
    organization_domain_check(link.domain)
    address_within_domain(link.email, link.domain)
    return LinkTarget(link=link, letter=item.letter, item=item)


def _removed_since(item: Signature | NamedSignatory, *, issued: int) -> bool:
    """Whether the team removed a verification of this item after `issued`."""
    key = "named_signatory" if isinstance(item, NamedSignatory) else "signature"
    since = datetime.fromtimestamp(issued, tz=UTC)
    return AuditEntry.objects.filter(
        letter_id=item.letter_id,
        action=AuditEntry.Action.AFFILIATION_UNVERIFY,
        created_at__gte=since,
        **{f"detail__{key}": item.pk},
    ).exists()


@transaction.atomic
def affiliation_confirm(*, link: AffiliationLink) -> tuple[LinkTarget, bool]:
    """Mark the affiliation a link names as verified by email at its domain; returns the
    target and whether this call changed anything (a second click does not). Audited."""
    target = affiliation_link_target(link, for_update=True)
    if target.already_verified:
        return target, False
    _mark_verified(target.item, method=AffiliationVerification.EMAIL, domain=link.domain)
    _audit(
        letter=target.letter,
        actor=None,
        verified=True,
        item=target.item,
        method=AffiliationVerification.EMAIL,
        domain=link.domain,
    )
    logger.info(
        "affiliation of %s %s verified by email at %s",
        "signature" if link.kind == KIND_SIGNATURE else "named signatory",
        link.object_id,
        link.domain,
    )
    return target, True
