"""Parse a letter file: Markdown with a YAML front-matter header between `---` lines."""

import re
from datetime import UTC, date, datetime
from typing import Any

import yaml
from django.conf.global_settings import LANGUAGES as ALL_LANGUAGES
from django.core.validators import validate_slug

from .models import Letter
from .services import LetterData, NamedSignatoryData

REQUIRED_KEYS = {"title", "slug"}
OPTIONAL_KEYS = {"recipient", "goal", "language", "status", "closes_at", "fields", "signatories"}
SIGNATORY_KEYS = {"name", "affiliation"}
KNOWN_LANGUAGES = {code for code, _ in ALL_LANGUAGES}
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<header>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class LetterFileError(ValueError):
    """The file cannot become a letter; the message says why, in words for its author."""


def _text(header: dict[str, Any], key: str, max_length: int, default: str = "") -> str:
    value = header.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise LetterFileError(f"`{key}` must be text.")
    value = str(value).strip()
    if len(value) > max_length:
        raise LetterFileError(f"`{key}` is longer than {max_length} characters.")
    return value


def _closes_at(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise LetterFileError(
                f"`closes_at` is not a date and time: {value!r} (use e.g. 2027-03-01T00:00:00Z)."
            ) from None
    else:
        raise LetterFileError("`closes_at` must be a date and time, e.g. 2027-03-01T00:00:00Z.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _signatories(value: Any) -> list[NamedSignatoryData] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise LetterFileError(
            "`signatories` must be a list of entries with `name` and `affiliation`."
        )
    result = []
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, dict):
            raise LetterFileError(
                f"Signatory {number} must have `name` (and optionally `affiliation`)."
            )
        unknown = set(entry) - SIGNATORY_KEYS
        if unknown:
            raise LetterFileError(
                f"Signatory {number} has unknown keys: {', '.join(sorted(map(str, unknown)))}."
            )
        name = _text(entry, "name", 200)
        if not name:
            raise LetterFileError(f"Signatory {number} has no name.")
        result.append(NamedSignatoryData(name=name, affiliation=_text(entry, "affiliation", 200)))
    return result


def parse_letter_file(text: str) -> LetterData:
    """Turn a letter file into LetterData, or raise LetterFileError saying what is wrong."""
    text = text.lstrip("\ufeff")
    match = FRONT_MATTER.match(text)
    if not match:
        raise LetterFileError("The file must start with a YAML header between two `---` lines.")
    try:
        header = yaml.safe_load(match["header"]) or {}
    except yaml.YAMLError as exc:
        raise LetterFileError(f"The YAML header cannot be read: {exc}") from None
    if not isinstance(header, dict):
        raise LetterFileError("The YAML header must be a mapping of keys to values.")

    unknown = set(header) - REQUIRED_KEYS - OPTIONAL_KEYS
    if unknown:
        raise LetterFileError(
            f"Unknown keys in the header: {', '.join(sorted(map(str, unknown)))}. "
            f"Allowed: {', '.join(sorted(REQUIRED_KEYS | OPTIONAL_KEYS))}."
        )
    missing = REQUIRED_KEYS - {key for key, value in header.items() if value not in (None, "")}
    if missing:
        raise LetterFileError(f"Missing required keys: {', '.join(sorted(missing))}.")

    slug = _text(header, "slug", 80)
    try:
        validate_slug(slug)
    except Exception:
        raise LetterFileError(
            f"`slug` may hold only letters, digits, hyphens and underscores: {slug!r}."
        ) from None

    goal = header.get("goal")
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, int) or goal < 1):
        raise LetterFileError("`goal` must be a whole number of at least 1.")

    language = _text(header, "language", 10, default="en").lower()
    if language not in KNOWN_LANGUAGES:
        raise LetterFileError(f"`language` is not a known language code: {language!r}.")

    status = _text(header, "status", 10, default=Letter.Status.DRAFT).lower()
    if status not in Letter.Status.values:
        raise LetterFileError(f"`status` must be one of {', '.join(Letter.Status.values)}.")

    fields = header.get("fields") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise LetterFileError("`fields` must be a list, e.g. [title, organization, city].")
    bad_fields = [f for f in fields if f not in Letter.SignerField.values]
    if bad_fields:
        raise LetterFileError(
            f"Unknown signer fields: {', '.join(bad_fields)}. "
            f"Allowed: {', '.join(Letter.SignerField.values)}."
        )

    body = text[match.end() :].strip()
    if not body:
        raise LetterFileError("The letter has no text after its header.")

    return LetterData(
        slug=slug,
        title=_text(header, "title", 200),
        recipient=_text(header, "recipient", 200),
        body=body,
        goal=goal,
        language=language,
        status=status,
        closes_at=_closes_at(header.get("closes_at")),
        signer_fields=list(dict.fromkeys(fields)),
        signatories=_signatories(header.get("signatories")),
    )
