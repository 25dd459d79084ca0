"""The trust log's public answers: C2SP tlog-tiles under /letters/<slug>/log/, the
verifier key at /log/key, and the page that explains how to check a count.

The log endpoints read no cookie and set none, carry an ETag, and are CORS-open
(config/cors.py). Full tiles and bundles never change: a CDN may keep them for a year.
"""

import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from letters.models import Letter

from . import merkle, selectors
from .keys import SigningKeyMissing, letter_origin, site_verifier

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"


def _public_letter(slug: str) -> tuple[int, str] | None:
    return Letter.objects.public().filter(slug=slug).values_list("pk", "slug").first()


def _plain(status: int, message: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type=TEXT)
    response["Cache-Control"] = "no-store" if status >= 500 else SHORT
    return response


def _answer(request: HttpRequest, body: bytes, content_type: str, cache: str) -> HttpResponse:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    asked = {
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("If-None-Match", "").split(",")
    }
    response = (
        HttpResponse(status=304) if etag in asked else HttpResponse(body, content_type=content_type)
    )
    response["ETag"] = etag
    response["Cache-Control"] = cache
    return response


def _no_key() -> HttpResponse:
    # Not a 5xx: nothing failed, this site publishes no signed log (yet). Not cached either,
    # so the checkpoint appears as soon as the operator sets the key.
    response = _plain(
        404,
        _(
            "This site has no log signing key (LOG_SIGNING_KEY), so it cannot sign its "
            "checkpoints. Its operator must set one."
        ),
    )
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def log_checkpoint(request: HttpRequest, slug: str) -> HttpResponse:
    letter = _public_letter(slug)
    if letter is None:
        return _plain(404, _("No public letter has this address."))
    try:
        checkpoint = selectors.checkpoint_latest(*letter)
    except SigningKeyMissing:
        return _no_key()
    return _answer(request, checkpoint.note.encode(), TEXT, SHORT)


def _tile_answer(request: HttpRequest, body: bytes | None, width: int | None) -> HttpResponse:
    if body is None:
        return _plain(404, _("This tile is not part of the published log."))
    return _answer(request, body, BINARY, SHORT if width else IMMUTABLE)


@require_safe
def log_tile(request: HttpRequest, slug: str, level: str, rest: str) -> HttpResponse:
    letter = _public_letter(slug)
    try:
        path = merkle.parse_index(rest)
    except ValueError:
        path = None
    if letter is None or path is None or int(level) > merkle.MAX_LEVEL:
        return _plain(404, _("This tile is not part of the published log."))
    width = path.width or merkle.TILE_WIDTH
    return _tile_answer(
        request, selectors.tile_data(letter[0], int(level), path.index, width), path.width
    )


def log_tile_missing(request: HttpRequest, slug: str) -> HttpResponse:
    return _plain(404, _("This tile is not part of the published log."))


@require_safe
def log_entries(request: HttpRequest, slug: str, rest: str) -> HttpResponse:
    letter = _public_letter(slug)
    try:
        path = merkle.parse_index(rest)
    except ValueError:
        path = None
    if letter is None or path is None:
        return _plain(404, _("This tile is not part of the published log."))
    width = path.width or merkle.TILE_WIDTH
    return _tile_answer(request, selectors.entry_bundle(letter[0], path.index, width), path.width)


@require_safe
def log_key(request: HttpRequest) -> HttpResponse:
    """The site's verifier key, one line: `<host>+<key id>+<base64 of 0x01 || key>`."""
    try:
        line = site_verifier().line()
    except SigningKeyMissing:
        return _no_key()
    return _answer(request, (line + "\n").encode(), TEXT, SHORT)


@require_safe
def letter_log_key(request: HttpRequest, slug: str) -> HttpResponse:
    """The same key under the letter's origin, as the checkpoint's signature names it."""
    letter = _public_letter(slug)
    if letter is None:
        return _plain(404, _("No public letter has this address."))
    try:
        line = site_verifier().renamed(letter_origin(slug)).line()
    except SigningKeyMissing:
        return _no_key()
    return _answer(request, (line + "\n").encode(), TEXT, SHORT)


@require_safe
def log_explain(request: HttpRequest, slug: str) -> HttpResponse:
    """How anyone can check this letter's count, with the commands."""
    letter = get_object_or_404(Letter.objects.public(), slug=slug)
    try:
        checkpoint = selectors.checkpoint_latest(letter.pk, letter.slug)
        key_line = site_verifier().line()
    except SigningKeyMissing:
        checkpoint, key_line = None, ""
    context = {
        "letter": letter,
        "checkpoint": checkpoint,
        "count": checkpoint.adds - checkpoint.removes if checkpoint else None,
        "key_line": key_line,
        "letter_url": f"{settings.SITE_URL}{letter.get_absolute_url()}",
    }
    return render(request, "trustlog/explain.html", context)
