"""Parse a letter file: Markdown with a YAML front-matter header between `---` lines."""

import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from django.conf.global_settings import LANGUAGES as ALL_LANGUAGES
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from core.text import TextKind, TextPolicyError, text_clean

from .languages import normalize_language_code
from .markdown import markdown_problem
from .models import Letter, LetterRole
from .services import (
    LetterData,
    NamedSignatoryData,
    TeamApplied,
    TeamMemberData,
    closes_at_problem,
    letter_team_apply,
    letter_upsert,
    slug_problem,
)
from .translation_services import TranslationData, translations_import

REQUIRED_KEYS = {"title", "slug"}
OPTIONAL_KEYS = {
    "recipient", "goal", "language", "status", "closes_at", "fields", "signatories",
    "translations", "organiser", "team",
}  # fmt: skip
ORGANISER_KEYS = {"name", "organization"}
TEAM_KEYS = {"email", "role"}
TRANSLATION_REQUIRED_KEYS = {"language", "title"}
TRANSLATION_OPTIONAL_KEYS = {"recipient"}
SIGNATORY_KEYS = {"name", "affiliation"}
KNOWN_LANGUAGES = {code for code, _ in ALL_LANGUAGES}
# A letter's text is at most 50,000 characters (up to 4 bytes each); 500 named
# signatories fit in the rest.
FILE_MAX_BYTES = 1_000_000
GOAL_MAX = 1_000_000_000
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<header>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


# Text readers see next to the site's own words: the Unicode policy of core/text.py.
POLICED_TEXT_KEYS = frozenset({"title", "recipient", "name", "affiliation", "organization"})


class LetterFileError(ValueError):
    """The file cannot become a letter; the message says why, in words for its author."""


def _text(header: dict[str, Any], key: str, max_length: int, default: str = "") -> str:
    value = header.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise LetterFileError(f"`{key}` must be text.")
    value = str(value).strip()
    if key in POLICED_TEXT_KEYS and value:
        try:
            value = text_clean(value, kind=TextKind.NAME)
        except TextPolicyError as error:
            raise LetterFileError(f"`{key}`: {error}") from None
    if len(value) > max_length:
        raise LetterFileError(f"`{key}` is longer than {max_length} characters.")
    return value


def _closes_at(value: Any) -> datetime | None:
    moment = _moment(value)
    if problem := closes_at_problem(moment):
        raise LetterFileError(f"`closes_at`: {problem}")
    return moment


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except (ValueError, OverflowError):
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


def _organiser(value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise LetterFileError("`organiser` must have `name` and optionally `organization`.")
    unknown = set(value) - ORGANISER_KEYS
    if unknown:
        raise LetterFileError(
            f"`organiser` has unknown keys: {', '.join(sorted(map(str, unknown)))}."
        )
    return _text(value, "name", 120), _text(value, "organization", 160)


def _team(value: Any) -> list[TeamMemberData]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise LetterFileError("`team` must be a list of entries with `email` and `role`.")
    members: dict[str, TeamMemberData] = {}
    for number, entry in enumerate(value, start=1):
        if not isinstance(entry, dict):
            raise LetterFileError(f"Team member {number} must have `email` and `role`.")
        unknown = set(entry) - TEAM_KEYS
        if unknown:
            raise LetterFileError(
                f"Team member {number} has unknown keys: {', '.join(sorted(map(str, unknown)))}."
            )
        email = team_email(_text(entry, "email", 254))
        if email is None:
            raise LetterFileError(f"Team member {number}: `email` is not an email address.")
        role = _text(entry, "role", 10, default=LetterRole.Role.OWNER).lower()
        if role not in LetterRole.Role.values:
            raise LetterFileError(
                f"Team member {number}: `role` must be one of {', '.join(LetterRole.Role.values)}."
            )
        members[email.lower()] = TeamMemberData(email=email, role=role)
    return list(members.values())


def team_email(value: str) -> str | None:
    """The address as typed (trimmed) if it is one, else None."""
    try:
        validate_email(value.strip())
    except ValidationError:
        return None
    return value.strip()


# libyaml's safe loader where PyYAML was built with it (the wheels are): the same documents
# and errors, parsed in C instead of Python.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _split(text: str, required: set[str], optional: set[str]) -> tuple[dict[str, Any], str]:
    """The checked YAML header of a Markdown file with front matter, and the text after it."""
    text = text.lstrip("\ufeff")
    match = FRONT_MATTER.match(text)
    if not match:
        raise LetterFileError("The file must start with a YAML header between two `---` lines.")
    try:
        header = yaml.load(match["header"], Loader=YAML_LOADER) or {}  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise LetterFileError(
            f"The YAML header cannot be read: {' '.join(str(exc).split())}"
        ) from None
    except RecursionError:
        raise LetterFileError("The YAML header nests lists or mappings too deeply.") from None
    except (ValueError, OverflowError) as exc:
        # A date or number YAML recognizes but Python cannot hold, e.g. a time zone
        # pushing year 9999 past the end of the calendar.
        raise LetterFileError(f"The YAML header holds a value out of range: {exc}.") from None
    if not isinstance(header, dict):
        raise LetterFileError("The YAML header must be a mapping of keys to values.")
    _check_strings(header)

    unknown = set(header) - required - optional
    if unknown:
        raise LetterFileError(
            f"Unknown keys in the header: {', '.join(sorted(map(str, unknown)))}. "
            f"Allowed: {', '.join(sorted(required | optional))}."
        )
    missing = required - {key for key, value in header.items() if value not in (None, "")}
    if missing:
        raise LetterFileError(f"Missing required keys: {', '.join(sorted(missing))}.")
    return header, text[match.end() :].strip()


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _check_strings(header: dict[str, Any]) -> None:
    """Refuse text the database cannot store: a NUL character, or half of a surrogate
    pair (both can be written as YAML escapes)."""
    seen: set[int] = set()
    pending: list[tuple[str, Any]] = [(str(key), value) for key, value in header.items()]
    pending += [(str(key), key) for key in header]
    while pending:
        key, value = pending.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:  # YAML aliases share values; visit each once
                continue
            seen.add(id(value))
            inner = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending += [(key, v) for v in inner]
        elif isinstance(value, str) and (found := _UNSTORABLE.search(value)):
            char = found[0]
            what = "a NUL character" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
            raise LetterFileError(f"`{key}` holds {what}, which cannot be stored.")


def _translation_files(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LetterFileError(
            "`translations` must be a list of file names, e.g. [fair-terms.fr.md]."
        )
    return [v.strip() for v in value]


def parse_letter_file_and_translations(text: str) -> tuple[LetterData, list[str]]:
    """The letter a file holds, and the translation files its header lists (as written,
    relative to the letter's file)."""
    header, body = _split(text, REQUIRED_KEYS, OPTIONAL_KEYS)
    translation_files = _translation_files(header.get("translations"))

    slug = _text(header, "slug", 200)
    if problem := slug_problem(slug):
        raise LetterFileError(f"`slug` {slug!r}: {problem}")

    goal = header.get("goal")
    if goal is not None and (
        isinstance(goal, bool) or not isinstance(goal, int) or not 1 <= goal <= GOAL_MAX
    ):
        raise LetterFileError(f"`goal` must be a whole number from 1 to {GOAL_MAX}.")

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

    if not body:
        raise LetterFileError("The letter has no text after its header.")
    if problem := markdown_problem(body):
        raise LetterFileError(f"The letter's text: {problem}")

    organiser = _organiser(header.get("organiser"))
    data = LetterData(
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
        organiser=organiser,
        team=_team(header.get("team")),
    )
    return data, translation_files


def parse_translation_file(text: str) -> TranslationData:
    """Turn a translation file (front matter with language, title and optionally
    recipient, then the translated text) into TranslationData, or raise LetterFileError."""
    header, body = _split(text, TRANSLATION_REQUIRED_KEYS, TRANSLATION_OPTIONAL_KEYS)
    raw = _text(header, "language", 10)
    language = normalize_language_code(raw)
    if not language:
        raise LetterFileError(f"`language` is not a known language code: {raw!r}.")
    if not body:
        raise LetterFileError("The translation has no text after its header.")
    if problem := markdown_problem(body):
        raise LetterFileError(f"The translation's text: {problem}")
    return TranslationData(
        language=language,
        title=_text(header, "title", 200),
        recipient=_text(header, "recipient", 200),
        body=body,
    )


@dataclass(frozen=True)
class LetterBundle:
    """A letter file with the translation files it lists, all read and checked."""

    letter: LetterData
    translations: list[TranslationData]


def read_letter_file(path: Path) -> str:
    """The text of a letter or translation file, or LetterFileError (starting with the
    path) when it is missing, not a regular file, too big, or not UTF-8 text."""
    try:
        with path.open("rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise LetterFileError(f"{path}: not a regular file.")
            data = file.read(FILE_MAX_BYTES + 1)
    except FileNotFoundError:
        raise LetterFileError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise LetterFileError(f"{path}: not a regular file.") from None
    except OSError as exc:
        raise LetterFileError(f"{path}: cannot be read ({exc.strerror}).") from None
    if len(data) > FILE_MAX_BYTES:
        raise LetterFileError(f"{path}: larger than {FILE_MAX_BYTES:,} bytes.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LetterFileError(f"{path}: not UTF-8 text (byte {exc.start}).") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise LetterFileError(f"{path}: holds a NUL character (line {line}); not a text file.")
    return text


def _translation_path(directory: Path, name: str) -> Path:
    """Where a listed translation file is: inside the letter file's folder, never
    elsewhere (no absolute path, no `..`, no symbolic link leading out)."""
    relative = Path(name)
    if relative.is_absolute() or relative.drive or ".." in relative.parts:
        raise LetterFileError(
            f"`translations`: {name!r} must be a file name in the letter file's folder."
        )
    path = directory / relative
    try:
        inside = path.resolve().is_relative_to(directory.resolve())
    except (OSError, RuntimeError):
        inside = False
    if not inside:
        raise LetterFileError(f"`translations`: {name!r} leads out of the letter file's folder.")
    return path


def parse_letter_bundle(text: str, *, directory: Path) -> LetterBundle:
    """Parse a letter file and read the translation files it lists from `directory` (the
    letter file's), or raise LetterFileError naming the file at fault."""
    letter, files = parse_letter_file_and_translations(text)
    translations: list[TranslationData] = []
    for name in files:
        translation_path = _translation_path(directory, name)
        try:
            found = parse_translation_file(read_letter_file(translation_path))
        except LetterFileError as exc:
            message = str(exc)
            if not message.startswith(str(translation_path)):
                message = f"{translation_path}: {message}"
            raise LetterFileError(message) from None
        if found.language == letter.language:
            raise LetterFileError(
                f"{translation_path}: in {found.language}, the letter's own language; "
                "a translation must be in another."
            )
        if any(t.language == found.language for t in translations):
            raise LetterFileError(f"{translation_path}: a second translation in {found.language}.")
        translations.append(found)
    return LetterBundle(letter=letter, translations=translations)


@transaction.atomic
def letter_import(
    *, bundle: LetterBundle, owners: list[str] | None = None, admin_owns: bool = False
) -> tuple[Letter, bool, TeamApplied]:
    """Create or update the letter and the translations its file lists, and give the team
    its roles (the file's `team:`, then each of `owners`; with `admin_owns`, the first
    superuser owns a letter nobody owns yet), all or nothing. Returns the letter, whether
    it was created, and what happened to the team."""
    letter, created = letter_upsert(data=bundle.letter)
    if letter.translations.filter(language=letter.language).exists():
        raise LetterFileError(
            f"The letter has a translation in {letter.language}, its new language; delete that "
            "translation first, or keep the letter's language."
        )
    translations_import(letter=letter, translations=bundle.translations)
    members = [
        *bundle.letter.team,
        *(TeamMemberData(email=email, role=LetterRole.Role.OWNER) for email in owners or []),
    ]
    if admin_owns and not letter.roles.filter(role=LetterRole.Role.OWNER).exists():
        admin = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk")
        if first := admin.first():
            members.append(TeamMemberData(email=first.email, role=LetterRole.Role.OWNER))
    team = letter_team_apply(letter=letter, members=members)
    return letter, created, team
