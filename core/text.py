"""The Unicode policy for text people type into the site, and the skeletons that match
names which look alike.

Every name, title, organization, place, letter title, recipient, comment and note goes
through `text_clean` (forms use `PlainTextField`), so what is stored is NFC and holds
nothing that changes how the text around it reads:

- Bidi controls (embeddings, overrides, isolates, LRM/RLM/ALM) are refused everywhere:
  an organization ending in U+202E would reverse the site's own words after it.
- Other invisible characters (format characters, tags, Hangul fillers, variation
  selectors in names) are refused, with two exceptions that writing systems need: ZWNJ
  and ZWJ after a virama (Indic half forms) and ZWNJ between two letters of a joining
  script (Persian compounds). In one-line texts and prose, ZWJ and variation selectors
  are also kept inside emoji sequences (a family emoji is ZWJ-joined); a name has no use
  for them.
- Control characters are refused; prose keeps line breaks and tabs (CR LF becomes LF).
- Noncharacters and lone surrogates are refused everywhere; private-use and unassigned
  code points in names, where no reader could see what they are.
- At most MAX_COMBINING_MARKS combining marks stack on one character: enough for pointed
  Hebrew or a Tibetan stack, not for "zalgo" text that spills over the lines around it.
- A name or title needs at least one visible letter.

Display is protected separately: templates isolate user text with <bdi>, which also
covers text stored before this policy.
"""

import enum
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_COMBINING_MARKS = 4

ZWNJ = "\u200c"
ZWJ = "\u200d"
VS16 = "\ufe0f"

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Default-ignorable code points that are not format characters (Cf), so the category
# test alone would let them through: Hangul fillers (letters that draw nothing), the
# combining grapheme joiner, Khmer inherent vowels, Mongolian variation selectors.
_IGNORABLE_NOT_CF = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0")
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff]")
# Scripts whose letters join, where ZWNJ keeps two letters of one word apart.
_JOINING_SCRIPTS = frozenset(
    {"ARABIC", "SYRIAC", "NKO", "MANDAIC", "MONGOLIAN", "PHAGS-PA", "MANICHAEAN",
     "PSALTER", "HANIFI", "SOGDIAN", "ADLAM", "CHORASMIAN"}
)  # fmt: skip


class TextKind(enum.Enum):
    NAME = "name"  # one line with a visible letter: names, titles, organizations, places
    LINE = "line"  # one line of free text: notes
    PROSE = "prose"  # several lines of free text: comments


class TextPolicyError(ValueError):
    """Text the policy refuses; `message` says why in words for the person who typed it."""

    def __init__(self, message: "StrOrPromise", code: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code


def _invisible() -> TextPolicyError:
    return TextPolicyError(
        _(
            "This contains invisible or text-direction control characters (such as "
            "zero-width spaces or right-to-left marks). Remove them."
        ),
        "invisible_characters",
    )


def _is_noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _is_pictographic(char: str) -> bool:
    return unicodedata.category(char) == "So" or bool(_EMOJI_MODIFIERS.match(char))


def _letter_before(text: str, index: int) -> str:
    """The character before `index`, skipping the combining marks on it."""
    index -= 1
    while index >= 0 and unicodedata.category(text[index]) in ("Mn", "Me"):
        index -= 1
    return text[index] if index >= 0 else ""


def _joining_letter(char: str) -> bool:
    if not char or not unicodedata.category(char).startswith("L"):
        return False
    return unicodedata.name(char, "").split(" ", 1)[0] in _JOINING_SCRIPTS


def _joiner_allowed(text: str, index: int, kind: TextKind) -> bool:
    """Whether the ZWJ or ZWNJ at `index` is one the writing needs."""
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if before and unicodedata.combining(before) == 9:  # after a virama
        return True
    if text[index] == ZWNJ:
        return _joining_letter(_letter_before(text, index)) and _joining_letter(after)
    # A ZWJ inside an emoji sequence (a family, a profession, a flag with a sign).
    return (
        kind is not TextKind.NAME
        and bool(before)
        and (_is_pictographic(before) or before == VS16)
        and bool(after)
        and _is_pictographic(after)
    )


def _variation_selector_allowed(text: str, index: int, kind: TextKind) -> bool:
    # A presentation choice for the character before (emoji or text style, a keycap);
    # names refuse it, as an invisible way to make two names differ.
    before = text[index - 1] if index else ""
    return kind is not TextKind.NAME and bool(before) and not before.isspace()


def text_problem(text: str, *, kind: TextKind) -> TextPolicyError | None:
    """The first thing the policy refuses in already NFC text, or None."""
    marks = 0
    for index, char in enumerate(text):
        cp = ord(char)
        category = unicodedata.category(char)
        if category in ("Mn", "Me"):
            marks += 1
            if marks > MAX_COMBINING_MARKS:
                return TextPolicyError(
                    _("Too many accents or marks are stacked on one character."),
                    "combining_marks",
                )
        else:
            marks = 0
        if char in BIDI_CONTROLS:
            return _invisible()
        if char == "\x00":
            return TextPolicyError(_("Null characters are not allowed."), "null_characters")
        if category == "Cc":
            if kind is TextKind.PROSE and char in "\n\t":
                continue
            if kind is TextKind.PROSE:
                return TextPolicyError(
                    _("Remove the control characters from this text."), "control_characters"
                )
            return TextPolicyError(_("Use a single line of plain text."), "control_characters")
        if category in ("Zl", "Zp"):
            return TextPolicyError(_("Use a single line of plain text."), "control_characters")
        if category == "Cs" or _is_noncharacter(cp):
            return TextPolicyError(
                _("This contains code points that are not characters. Remove them."),
                "noncharacters",
            )
        if char in (ZWJ, ZWNJ):
            if not _joiner_allowed(text, index, kind):
                return _invisible()
            continue
        if _VARIATION_SELECTORS.match(char):
            if not _variation_selector_allowed(text, index, kind):
                return _invisible()
            continue
        if category == "Cf" or char in _IGNORABLE_NOT_CF:
            return _invisible()
        if kind is TextKind.NAME and category in ("Co", "Cn"):
            return TextPolicyError(
                _(
                    "This contains characters that have no agreed meaning (private-use or "
                    "unassigned code points). Remove them."
                ),
                "unassigned_characters",
            )
    if kind is TextKind.NAME and not any(
        unicodedata.category(c).startswith("L") and c not in _IGNORABLE_NOT_CF for c in text
    ):
        return TextPolicyError(_("Enter at least one letter."), "no_letter")
    return None


def text_clean(value: str, *, kind: TextKind) -> str:
    """The text as stored: NFC, trimmed, a name's spaces collapsed, prose's line breaks
    as LF. Raises TextPolicyError naming the first thing the policy refuses."""
    if kind is TextKind.PROSE:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = unicodedata.normalize("NFC", value)
    problem = text_problem(value, kind=kind)
    if problem is not None:
        raise problem
    if kind is TextKind.NAME:
        return " ".join(value.split())
    return value.strip()


def text_validation_error(error: TextPolicyError) -> ValidationError:
    return ValidationError(error.message, code=error.code)


class PlainTextField(forms.CharField):
    """A CharField that applies the Unicode policy: it cleans to the stored form or says
    what is wrong next to the field."""

    def __init__(self, *, kind: TextKind = TextKind.NAME, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if not value:
            return value
        try:
            return text_clean(value, kind=self.kind)
        except TextPolicyError as error:
            raise text_validation_error(error) from None


# --- Skeletons -------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _spoof_checker() -> Any:
    import icu  # PyICU: the UTS #39 confusables data of the bundled ICU

    return icu.SpoofChecker()


def _strip_invisible(text: str) -> str:
    return "".join(
        c
        for c in text
        if unicodedata.category(c) not in ("Cf", "Cc", "Cs", "Co", "Cn")
        and c not in _IGNORABLE_NOT_CF
        and not _VARIATION_SELECTORS.match(c)
    )


def _without_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def text_skeleton(text: str) -> str:
    """What a text looks like, for matching look-alikes: invisible characters dropped,
    compatibility forms and case folded, accents removed, then the Unicode confusables
    skeleton (UTS #39), so "P\\u0435rson" (a Cyrillic e), "P\\u200berson" and "PERSON" all
    give the skeleton of "person". Not for display: the skeleton is not readable text
    ("m" becomes "rn")."""
    text = _without_marks(_strip_invisible(text).casefold())
    # The skeleton maps to prototypes of either case ("0" -> "O"); fold again after it.
    skeleton = _spoof_checker().getSkeleton(0, text)
    return _without_marks(skeleton.casefold())
