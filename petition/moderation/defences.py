"""Defences tuned live: rate limits, blocks and a letter's "under attack" mode, set from the
site by a letter's owners (for their letter) and by site staff (for the whole site).

The environment's PETITION_RATE_LIMITS stay the defaults. Overrides live in the database
(DefenceOverride), are read through a cache of a few seconds and forgotten on every change,
so a change applies within seconds in every process, without a restart. core.ratelimit asks
for them through the provider registered here, without knowing this app. Every change is
an audit entry on the letter it was made from.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.cache import cache_delete, cached_twice, local_forget
from core.ratelimit import Rate
from letters.audit import audit_record
from letters.models import AuditEntry, Letter

from ..models import Block, DefenceOverride
from ..signing.screening import blocks_changed
from ..signing.services import block_create, block_value_normalize

logger = logging.getLogger(__name__)
UNDER_ATTACK = DefenceOverride.UNDER_ATTACK
# The limits a letter's owners may set for their letter (those counted per letter).
LETTER_LIMITS = ("ip_letter_burst", "ip_letter_sustained")
# Under attack, a letter's per-network limits tighten to these, unless its owners set their
# own; the per-letter limits a crowd of honest signers on one network would meet first.
UNDER_ATTACK_LIMITS = {"ip_letter_burst": "3/60", "ip_letter_sustained": "10/3600"}
# How long a process and the shared cache keep the overrides (a change forgets both).
LOCAL_SECONDS = 2.0
SHARED_SECONDS = 30


class DefenceError(Exception):
    """A defence change that cannot be made; its message says why, for people."""


def _key(scope: int | None) -> str:
    return f"defences:{scope or 'site'}"


def _from_database(scope: int | None) -> dict[str, str]:
    rows = DefenceOverride.objects.filter(letter__isnull=True)
    site = dict(rows.values_list("name", "value"))
    if scope is None:
        return site
    mine = dict(DefenceOverride.objects.filter(letter_id=scope).values_list("name", "value"))
    merged = dict(site)
    if mine.get(UNDER_ATTACK) == "on" or site.get(UNDER_ATTACK) == "on":
        merged.update(UNDER_ATTACK_LIMITS)
        merged[UNDER_ATTACK] = "on"
    merged.update({name: value for name, value in mine.items() if name != UNDER_ATTACK})
    return merged


def defence_overrides(scope: int | None = None) -> Mapping[str, str]:
    """The overrides that apply to a letter (its own over the site's), or to the site."""
    return cached_twice(
        _key(scope),
        lambda: _from_database(scope),
        shared_seconds=SHARED_SECONDS,
        local_seconds=LOCAL_SECONDS,
    )


def defences_changed(letter_id: int | None) -> None:
    """Forget cached overrides; a site-wide change reaches letters as their caches expire
    (within SHARED_SECONDS) and this process at once."""
    keys = [_key(None)] + ([_key(letter_id)] if letter_id else [])
    for key in keys:
        local_forget(key)
    cache_delete(*keys)


def letter_under_attack(letter: Letter) -> bool:
    return defence_overrides(letter.pk).get(UNDER_ATTACK) == "on"


def _limit_text(value: str) -> str:
    """A limit as typed, checked: "count/seconds" or "off"; "" means the default."""
    text = value.strip().lower()
    if not text:
        return ""
    try:
        Rate.parse(text)
    except ValueError:
        raise DefenceError(
            _(
                "Write a limit as count/seconds, e.g. 10/60, or “off”; leave it empty for the default."
            )
        ) from None
    return text


def defence_set(
    *, letter: Letter, actor: Any, name: str, value: str, site_wide: bool = False
) -> bool:
    """Set (or, with an empty value, clear) one override for the letter or, for staff, for
    the whole site; audited on the letter. Returns whether anything changed. Raises
    DefenceError for an unknown name, a bad value, or a site-wide change by non-staff."""
    if site_wide and not getattr(actor, "is_staff", False):
        raise DefenceError(_("Only site staff change the defences of the whole site."))
    allowed = (
        {*settings.PETITION_RATE_LIMITS, UNDER_ATTACK}
        if site_wide
        else {*LETTER_LIMITS, UNDER_ATTACK}
    )
    if name not in allowed:
        raise DefenceError(_("That is not a defence you can change here."))
    if name == UNDER_ATTACK:
        text = "on" if value.strip().lower() in ("on", "1", "true") else ""
    else:
        text = _limit_text(value)
    target = None if site_wide else letter
    with transaction.atomic():
        current = (
            DefenceOverride.objects.select_for_update().filter(letter=target, name=name).first()
        )
        before = current.value if current else ""
        if before == text:
            return False
        if not text:
            DefenceOverride.objects.filter(pk=current.pk).delete()  # type: ignore[union-attr]
        elif current:
            current.value = text
            current.save(update_fields=["value", "updated_at"])
        else:
            DefenceOverride.objects.create(letter=target, name=name, value=text)
        audit_record(
            letter=letter,
            actor=actor,
            action=AuditEntry.Action.DEFENCES,
            detail={
                "scope": "site" if site_wide else "letter",
                "defence": name,
                "from": before or "default",
                "to": text or "default",
            },
        )
        # Now for this process, and again after the commit, since another process may
        # have cached the old value in between.
        defences_changed(letter.pk)
        transaction.on_commit(lambda: defences_changed(letter.pk), robust=True)
    logger.info(
        "defence %s %s -> %s (%s) from letter %s",
        name,
        before or "default",
        text or "default",
        "site" if site_wide else "letter",
        letter.slug,
    )
    return True


def defence_block_add(
    *, letter: Letter, actor: Any, kind: str, value: str, site_wide: bool = False, note: str = ""
) -> Block:
    """Block an IP range or email domain for this letter or, for staff, the whole site."""
    if site_wide and not getattr(actor, "is_staff", False):
        raise DefenceError(_("Only site staff block for the whole site."))
    if kind not in Block.Kind.values:
        raise DefenceError(_("Choose what to block: an IP range or an email domain."))
    target = None if site_wide else letter
    try:
        normalized = block_value_normalize(kind, value)
        if Block.objects.filter(kind=kind, value=normalized, letter=target).exists():
            raise DefenceError(_("This is blocked already."))
        with transaction.atomic():
            block = block_create(kind=kind, value=value, letter=target, note=note[:200])
            audit_record(
                letter=letter,
                actor=actor,
                action=AuditEntry.Action.DEFENCES,
                detail={
                    "scope": "site" if site_wide else "letter",
                    "defence": f"block_{kind}",
                    "from": "",
                    "to": block.value,
                },
            )
    except ValidationError:
        raise DefenceError(
            _("Enter an IP address or CIDR range, e.g. 203.0.113.0/24.")
            if kind == Block.Kind.IP
            else _("Enter a domain name under a public suffix, e.g. spam.example.")
        ) from None
    return block


def defence_block_remove(*, letter: Letter, actor: Any, block_id: int) -> None:
    """Lift a block of this letter, or (staff only) a site-wide one."""
    blocks = Block.objects.filter(pk=block_id)
    blocks = (
        blocks.filter(letter__in=[letter.pk, None])
        if getattr(actor, "is_staff", False)
        else blocks.filter(letter=letter)
    )
    with transaction.atomic():
        block = blocks.select_for_update().first()
        if block is None:
            raise DefenceError(_("That block is not there (any more)."))
        block.delete()
        audit_record(
            letter=letter,
            actor=actor,
            action=AuditEntry.Action.DEFENCES,
            detail={
                "scope": "letter" if block.letter_id else "site",
                "defence": f"block_{block.kind}",
                "from": block.value,
                "to": "",
            },
        )
        transaction.on_commit(blocks_changed, robust=True)
