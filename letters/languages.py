"""The languages a letter is read in: its original and its translations.

A letter page is served in one language, picked from the URL (/letters/<slug>/fr/) or,
on /letters/<slug>/, from the reader's Accept-Language header. Everything rendered for
that page (the text, the interface strings where the site has them, the emails to the
people who sign on it) follows the same language.
"""

import copy
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf.locale import LANG_INFO
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

from core.cache import cache_delete, cache_get, cache_set

from .models import Letter, LetterTranslation

logger = logging.getLogger(__name__)
INDEX_CACHE_SECONDS = 300

# Lowercase codes like "fr", "pt-br" or "zh-hans"; the converter also checks the code is
# one Django knows, so sibling routes (sign/, og.png, pdf/, ...) never match it.
LANGUAGE_CODE_PATTERN = r"[a-z]{2,3}(?:-[a-z]{2,4})?"


def normalize_language_code(code: str) -> str:
    """A language code as we store it: lowercase, hyphenated, and, for Django's
    alias codes (zh-cn), the code they stand for (zh-hans); "" if unknown."""
    code = code.strip().lower().replace("_", "-")
    info = LANG_INFO.get(code)
    if info is None:
        return ""
    if "fallback" in info:
        code = info["fallback"][0]
    return code if "name_local" in LANG_INFO.get(code, {}) else ""


def is_known_language(code: str) -> bool:
    return bool(code) and normalize_language_code(code) == code


def language_name_local(code: str) -> str:
    """The language's name in itself ("Français", "Deutsch"), as a reader of it looks for."""
    name = LANG_INFO.get(code, {}).get("name_local") or code
    return name[:1].upper() + name[1:]


def language_choices() -> list[tuple[str, str]]:
    """Every language Django knows, for an author to pick, sorted by local name."""
    codes = [code for code, info in LANG_INFO.items() if "name_local" in info]
    return sorted(
        ((code, f"{language_name_local(code)} ({code})") for code in codes),
        key=lambda choice: choice[1].casefold(),
    )


class LanguageConverter:
    """URL converter for a known language code; anything else does not match the route."""

    regex = LANGUAGE_CODE_PATTERN

    def to_python(self, value: str) -> str:
        if not is_known_language(value):
            raise ValueError(value)
        return value

    def to_url(self, value: str) -> str:
        if not is_known_language(value):
            raise ValueError(value)
        return value


def interface_language(language: str) -> str | None:
    """The site's interface language that fits a page in `language`, if the site has one."""
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return None


@contextmanager
def page_language(language: str) -> Iterator[None]:
    """Render in the interface language matching the page's, or the current one if the site
    has no such interface language (the text is then translated, the buttons are not)."""
    with translation.override(interface_language(language) or translation.get_language()):
        yield


def negotiate_language(header: str, available: Iterable[str], default: str) -> str:
    """The best of `available` for an Accept-Language header, by its q-values; `default`
    (the original's language) when the reader accepts none of them.

    "fr-FR" is served by "fr", and "pt" by "pt-br" when that is all there is."""
    available = list(available)
    for accepted, quality in parse_accept_lang_header(header or ""):
        if quality <= 0 or accepted == "*":
            continue
        code = normalize_language_code(accepted) or accepted
        if code in available:
            return code
        base = code.split("-", 1)[0]
        if base in available:
            return base
        for candidate in available:
            if candidate.split("-", 1)[0] == base:
                return candidate
    return default


def letter_language_url(letter: Letter, language: str) -> str:
    """The address of the letter in one language. The original's is the letter's own
    address, which is also where readers land without a language in the URL."""
    if language == letter.language:
        return letter.get_absolute_url()
    return reverse("letter_detail_language", kwargs={"slug": letter.slug, "language": language})


def letter_localized(letter: Letter, translation_: LetterTranslation | None) -> Letter:
    """A display copy of the letter carrying the translation's title, recipient and text,
    so every template written for a Letter (and every include other features add to the
    page) shows the translation unchanged. The copy refuses to be saved.

    `page_language` is the language shown; `language` stays the original's."""
    shown = copy.copy(letter)
    shown.__dict__.pop("body_html", None)
    shown.shown_language = letter.language
    shown.translation = translation_
    if translation_ is not None:
        shown.title = translation_.title
        shown.recipient = translation_.recipient
        shown.body = translation_.body
        shown.shown_language = translation_.language
    return shown


def letter_translation(letter: Letter, language: str | None) -> LetterTranslation | None:
    """The letter's translation in `language`; None for the original or a missing one."""
    if not language or language == letter.language:
        return None
    return letter.translations.filter(language=language).first()


def letter_in_language(letter: Letter, language: str | None) -> Letter:
    """The letter as shown in `language` if it has that translation, else the original."""
    return letter_localized(letter, letter_translation(letter, language))


def _index_key(letter_id: int) -> str:
    return f"letter:{letter_id}:translations"


def letter_translation_index(letter: Letter) -> dict[str, int]:
    """The letter's translations as {language: version written from}, from the cache when
    it can: the letter page reads it on every view, to negotiate and to list languages."""
    key = _index_key(letter.pk)
    index = cache_get(key)
    if index is None:
        index = dict(letter.translations.values_list("language", "based_on_version"))
        cache_set(key, index, INDEX_CACHE_SECONDS)
    return index


def letter_translation_index_forget(letter_id: int) -> None:
    """Drop the cached index once the change to a translation is committed."""

    def forget() -> None:
        cache_delete(_index_key(letter_id))

    transaction.on_commit(forget, robust=True)


def letter_languages(letter: Letter) -> list[str]:
    """The original's language first, then the translations' in code order."""
    return [letter.language, *sorted(letter_translation_index(letter))]


def letters_languages(letters: Iterable[Letter]) -> dict[int, list[str]]:
    """letter_languages for many letters in one query."""
    letters = list(letters)
    result = {letter.pk: [letter.language] for letter in letters}
    rows = (
        LetterTranslation.objects.filter(letter__in=[letter.pk for letter in letters])
        .order_by("letter_id", "language")
        .values_list("letter_id", "language")
    )
    for letter_id, language in rows:
        result[letter_id].append(language)
    return result


@dataclass(frozen=True)
class LanguageLink:
    """A language of the letter. `url` always shows that language, even to a reader whose
    browser prefers another (the switcher needs it); `canonical` is the address search
    engines should keep, which for the original is the letter's own."""

    code: str
    name: str
    url: str
    canonical: str
    current: bool
    outdated: bool = False


def language_links(letter: Letter, index: dict[str, int], current: str) -> list[LanguageLink]:
    """One link per language of the letter (`index` as letter_translation_index gives
    it), the original first, for the switcher and the hreflang alternates."""
    versions = {letter.language: letter.version, **dict(sorted(index.items()))}
    return [
        LanguageLink(
            code=code,
            name=language_name_local(code),
            url=reverse("letter_detail_language", kwargs={"slug": letter.slug, "language": code}),
            canonical=letter_language_url(letter, code),
            current=current == code,
            outdated=based_on_version < letter.version,
        )
        for code, based_on_version in versions.items()
    ]


def render_in_language(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    language: str | None,
    status: int = 200,
) -> HttpResponse:
    """Render a page about context["letter"] in `language` (falling back to the original):
    the letter's text in that translation, interface strings in it where the site has it,
    and a Content-Language header saying which it is."""
    shown = letter_in_language(context["letter"], language)
    with page_language(shown.page_language):
        response = render(request, template, {**context, "letter": shown}, status=status)
    response["Content-Language"] = shown.page_language
    return response


def mark_negotiated(response: HttpResponse) -> HttpResponse:
    """The answer depends on Accept-Language; shared caches must keep one per language."""
    patch_vary_headers(response, ("Accept-Language",))
    return response
