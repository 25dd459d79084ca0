"""Versions of a letter's text: the record kept each time a published letter's wording
changes, the word-level diff readers see in the changelog, and how many signed each one.

A draft has no versions: its text becomes version 1 when it is first published (opened,
or submitted for approval). From then on, every edit of the title, recipient or body is
a new version; `Letter.version` names the newest, and each signature records the one it
signed. Versions are never changed afterwards, so their diffs are cached for long.
"""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.cache import cache_get, cache_set
from core.fields import max_length

from .audit import audit_record
from .models import AuditEntry, Letter, LetterVersion

logger = logging.getLogger(__name__)

TEXT_FIELDS = ("title", "recipient", "body")
FIELD_LABELS = {
    "title": gettext_lazy("Title"),
    "recipient": gettext_lazy("Recipient"),
    "body": gettext_lazy("Text"),
}
NOTE_MAX_LENGTH = max_length(LetterVersion, "note")
DIFF_CACHE_SECONDS = 7 * 24 * 3600
# Sent inside the publishing transaction when a version changes what signers agreed to
# (letter, version, actor): the petition app asks the signers of older versions to confirm
# again. Letters know nothing of signatures.
material_version_published = Signal()
# Unchanged stretches longer than this many words on each side of a change are cut.
DIFF_CONTEXT_WORDS = 30
# Word-by-word matching is quadratic in the worst case; a rewrite bigger than this (in
# tokens, old times new) is shown as the old text removed and the new one inserted.
WORD_DIFF_MAX_WORK = 4_000_000
# The same for lines (old times new, after the equal lines at both ends).
LINE_DIFF_MAX_WORK = 250_000

_TOKENS = re.compile(r"\s+|\S+")


def _text_of(source: Letter | LetterVersion) -> tuple[str, str, str]:
    return (source.title, source.recipient, source.body)


def _clean_note(note: str) -> str:
    note = " ".join(note.split())
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {
                "note": _("Describe the change in at most %(max)s characters.")
                % {"max": NOTE_MAX_LENGTH}
            }
        )
    return note


def letter_version_backfill(*, letter: Letter) -> LetterVersion | None:
    """Record the stored text of a letter published before versions were kept as its
    current version, so that the edit about to happen has a version to differ from.
    Does nothing for a draft or a letter that has versions; call it before changing the
    text, inside the edit's transaction."""
    if letter.status == Letter.Status.DRAFT or letter.versions.exists():
        return None
    return LetterVersion.objects.create(
        letter=letter,
        number=letter.version,
        title=letter.title,
        recipient=letter.recipient,
        body=letter.body,
        created_at=letter.published_at or timezone.now(),
    )


@transaction.atomic
def letter_version_publish(
    *, letter: Letter, user: Any, note: str = "", material: bool = False
) -> LetterVersion | None:
    """Record the letter's text, as just saved, as a new version when it differs from the
    newest one (at first publication: version 1). A new version after the first bumps
    `Letter.version`, is audited as LETTER_VERSION and, when `material`, starts the job
    that asks signers of older versions to confirm again. Returns the version recorded,
    or None (a draft, or no change to the text). Raises ValidationError for a note that
    is too long, recording nothing."""
    if letter.status == Letter.Status.DRAFT:
        return None
    note = _clean_note(note)
    latest = letter.versions.order_by("-number").first()
    if latest is not None and _text_of(latest) == _text_of(letter):
        return None
    first = latest is None
    number = letter.version if latest is None else latest.number + 1
    version = LetterVersion.objects.create(
        letter=letter,
        number=number,
        title=letter.title,
        recipient=letter.recipient,
        body=letter.body,
        material=bool(material) and not first,
        note="" if first else note,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if first:
        return version
    letter.version = number
    letter.save(update_fields=["version"])
    audit_record(
        letter=letter,
        actor=user,
        action=AuditEntry.Action.LETTER_VERSION,
        detail={"version": number, "material": version.material, "note": note},
    )
    if version.material:
        # The petition app asks the signers of older versions to confirm again.
        material_version_published.send(
            sender=LetterVersion, letter=letter, version=version, actor=user
        )
    return version


# --- Reading: diffs, counts, the changelog ---------------------------------------------


@dataclass(frozen=True)
class FieldDiff:
    field: str
    label: str
    html: SafeString


def _segments(old: str, new: str) -> list[tuple[str, str]]:
    """("=" | "-" | "+", text) runs turning `old` into `new`: lines first, so that a
    long text costs little, then words within the lines that changed."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    # Like words below: the lines both sides share at either end cost nothing, and a
    # rewrite of too many lines is not matched line by line (many equal lines, as in a
    # text of 20,000 short ones, make the matching take minutes).
    prefix = 0
    while prefix < min(len(old_lines), len(new_lines)) and old_lines[prefix] == new_lines[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old_lines), len(new_lines)) - prefix
        and old_lines[-1 - suffix] == new_lines[-1 - suffix]
    ):
        suffix += 1
    old_mid = old_lines[prefix : len(old_lines) - suffix]
    new_mid = new_lines[prefix : len(new_lines) - suffix]
    segments: list[tuple[str, str]] = [("=", "".join(old_lines[:prefix]))]
    if len(old_mid) * len(new_mid) > LINE_DIFF_MAX_WORK:
        segments.extend(_word_segments("".join(old_mid), "".join(new_mid)))
    else:
        lines = SequenceMatcher(None, old_mid, new_mid, autojunk=False)
        for tag, i1, i2, j1, j2 in lines.get_opcodes():
            if tag == "equal":
                segments.append(("=", "".join(old_mid[i1:i2])))
            else:
                segments.extend(_word_segments("".join(old_mid[i1:i2]), "".join(new_mid[j1:j2])))
    segments.append(("=", "".join(old_lines[len(old_lines) - suffix :])))
    return segments


def _word_segments(old: str, new: str) -> list[tuple[str, str]]:
    a = _TOKENS.findall(old)
    b = _TOKENS.findall(new)
    # The words both sides share at either end cost nothing to match.
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    a_mid, b_mid = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    segments = [("=", "".join(a[:prefix]))]
    if not a_mid or not b_mid or len(a_mid) * len(b_mid) > WORD_DIFF_MAX_WORK:
        segments += [("-", "".join(a_mid)), ("+", "".join(b_mid))]
    else:
        segments += _changed_words(a_mid, b_mid)
    segments.append(("=", "".join(a[len(a) - suffix :])))
    return segments


def _changed_words(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    """Word runs from `a` to `b`, a lone space between two changes counted as changed, so
    that "pay the" → "fairly pay all" reads as one removal and one insertion."""
    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    segments: list[tuple[str, str]] = []
    removed: list[str] = []
    added: list[str] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        text = "".join(a[i1:i2])
        between_changes = removed or added
        if tag == "equal" and not (text.isspace() and between_changes and index + 1 < len(opcodes)):
            segments += [("-", "".join(removed)), ("+", "".join(added)), ("=", text)]
            removed, added = [], []
            continue
        removed.append(text)
        added.append("".join(b[j1:j2]))
    segments += [("-", "".join(removed)), ("+", "".join(added))]
    return segments


def _merged(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for op, text in segments:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


def _context(text: str, *, keep_head: bool, keep_tail: bool) -> str:
    """An unchanged stretch, cut down to the words next to the changes around it."""
    tokens = _TOKENS.findall(text)
    keep = 2 * DIFF_CONTEXT_WORDS  # words and the spaces between them
    if len(tokens) <= keep * (int(keep_head) + int(keep_tail)) + 2:
        return escape(text)
    head = escape("".join(tokens[:keep])) if keep_head else ""
    tail = escape("".join(tokens[-keep:])) if keep_tail else ""
    return f'{head}<span class="diff-gap" title="{escape(_("unchanged text"))}"> … </span>{tail}'


def diff_html(old: str, new: str) -> SafeString:
    """`new` against `old`, word by word, as escaped HTML: removed words in <del>, added
    ones in <ins>, long unchanged stretches shortened."""
    segments = _merged(_segments(old, new))
    parts = []
    for index, (op, text) in enumerate(segments):
        if op == "-":
            parts.append(f"<del>{escape(text)}</del>")
        elif op == "+":
            parts.append(f"<ins>{escape(text)}</ins>")
        else:
            parts.append(_context(text, keep_head=index > 0, keep_tail=index < len(segments) - 1))
    return mark_safe("".join(parts))  # noqa: S308 (every piece of text above is escaped)


def version_diff(old: LetterVersion, new: LetterVersion) -> list[FieldDiff]:
    """What changed from `old` to `new`, field by field (only fields that changed)."""
    key = f"letter:{new.letter_id}:diff:{old.pk}:{new.pk}"
    cached = cache_get(key)
    if cached is None:
        cached = [
            (name, str(diff_html(getattr(old, name), getattr(new, name))))
            for name in TEXT_FIELDS
            if getattr(old, name) != getattr(new, name)
        ]
        cache_set(key, cached, DIFF_CACHE_SECONDS)
    return [FieldDiff(name, str(FIELD_LABELS[name]), mark_safe(html)) for name, html in cached]  # noqa: S308


@dataclass
class ChangelogEntry:
    version: LetterVersion
    diff: list[FieldDiff] | None  # None for the first version
    signature_count: int


def letter_changelog(
    letter: Letter, *, signature_counts: Mapping[int, int]
) -> list[ChangelogEntry]:
    """The letter's versions, newest first, each with its diff from the one before and
    its number of signatures (from `signature_counts`, by version number)."""
    versions = list(letter.versions.order_by("-number"))
    entries = []
    for index, version in enumerate(versions):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        entries.append(
            ChangelogEntry(
                version=version,
                diff=version_diff(previous, version) if previous is not None else None,
                signature_count=signature_counts.get(version.number, 0),
            )
        )
    return entries


def version_updated_at(letter: Letter) -> datetime | None:
    """When the letter's current version was published (cached: versions never change)."""
    key = f"letter:{letter.pk}:v{letter.version}:at"
    when = cache_get(key)
    if when is None:
        when = (
            letter.versions.filter(number=letter.version)
            .values_list("created_at", flat=True)
            .first()
        )
        if when is not None:
            cache_set(key, when, DIFF_CACHE_SECONDS)
    return when
