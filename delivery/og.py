"""The OpenGraph image of a letter: a 1200x630 PNG with its title and live count.

Served like the embeds (petition/embeds/): cookie-free, open to any origin, built from
the cached count payload. The drawn image is cached under the letter, its count and the
time its public figures last changed, so a warm request costs what count.json costs:
no database query at all.
"""

import io
import unicodedata
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageDraw, ImageFont

from core.cache import cached_twice
from core.http import conditional, public_get, public_headers
from core.progress import goal_percent
from petition.embeds.selectors import count_payload

from .pdfwriter import DEJAVU_DIR, dejavu_files

WIDTH, HEIGHT = 1200, 630
PAD = 72
OG_MAX_AGE = 60
OG_STALE = 600
SHARED_SECONDS = 24 * 3600
LOCAL_SECONDS = 5.0
INK, MUTED, ACCENT, TRACK, PAPER = "#14213d", "#55607a", "#1f4fd1", "#dfe5f3", "#fbfaf7"
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def font(size: int, bold: bool = False, directory: Path = DEJAVU_DIR) -> FontType:
    """DejaVu Sans where installed (it covers most scripts), else Pillow's own font."""
    files = dejavu_files(directory)
    if files:
        return ImageFont.truetype(str(files[1] if bold else files[0]), size)
    return ImageFont.load_default(size)


def _pieces(draw: ImageDraw.ImageDraw, word: str, face: FontType, width: int) -> list[str]:
    """`word` cut into pieces no wider than `width` (a long address or compound has no
    space to break at); never between a character and the marks that combine with it."""
    if draw.textlength(word, font=face) <= width:
        return [word]
    pieces: list[str] = []
    piece = ""
    for char in word:
        joins = unicodedata.combining(char) or char in "\u200c\u200d"
        if piece and not joins and draw.textlength(piece + char, font=face) > width:
            pieces.append(piece)
            piece = char
        else:
            piece += char
    return [*pieces, piece]


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: FontType, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        for piece in _pieces(draw, word, face, width):
            candidate = f"{line} {piece}" if line else piece
            if draw.textlength(candidate, font=face) <= width or not line:
                line = candidate
            else:
                lines.append(line)
                line = piece
    if line:
        lines.append(line)
    return lines


def _title_lines(draw: ImageDraw.ImageDraw, title: str) -> tuple[list[str], FontType, int]:
    """The largest size at which the title fits in four lines; cut with an ellipsis if
    even the smallest does not."""
    width = WIDTH - 2 * PAD
    for size in (64, 56, 48, 42):
        face = font(size, bold=True)
        lines = _wrap(draw, title, face, width)
        if len(lines) <= 4:
            return lines, face, size
    lines = lines[:4]
    last = lines[-1]
    while last and draw.textlength(last + "…", font=face) > width:
        last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
    lines[-1] = last + "…"
    return lines, face, size


def og_png(*, title: str, count: int, goal: int | None, closed: bool, language: str) -> bytes:
    """Draw the image; the words are in the letter's language."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 14), fill=ACCENT)
    with translation.override(language):
        kicker = settings.SITE_NAME + " · " + _("Open letter")
        if closed:
            kicker += " · " + _("Closed")
        draw.text((PAD, 52), kicker, font=font(30), fill=MUTED)

        lines, face, size = _title_lines(draw, title)
        y = 112
        for line in lines:
            draw.text((PAD, y), line, font=face, fill=INK)
            y += int(size * 1.2)

        number = formats.number_format(count, force_grouping=True)
        label = ngettext("signature", "signatures", count)
        count_y = HEIGHT - (150 if goal else 110)
        draw.text((PAD, count_y), number, font=font(54, bold=True), fill=ACCENT)
        number_width = draw.textlength(number, font=font(54, bold=True))
        draw.text((PAD + number_width + 16, count_y + 18), label, font=font(32), fill=INK)
        if goal:
            share = min(1.0, count / goal)
            bar_y = HEIGHT - 70
            draw.rounded_rectangle((PAD, bar_y, WIDTH - PAD, bar_y + 22), radius=11, fill=TRACK)
            if share > 0:
                end = PAD + max(22, int((WIDTH - 2 * PAD) * share))
                draw.rounded_rectangle((PAD, bar_y, end, bar_y + 22), radius=11, fill=ACCENT)
            goal_text = _("%(percent)s%% of the goal of %(goal)s") % {
                "percent": goal_percent(count, goal),
                "goal": formats.number_format(goal, force_grouping=True),
            }
            goal_width = draw.textlength(goal_text, font=font(26))
            draw.text(
                (WIDTH - PAD - goal_width, count_y + 24), goal_text, font=font(26), fill=MUTED
            )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@public_get
def og_image(request: HttpRequest, slug: str) -> HttpResponse:
    """/letters/<slug>/og.png, for link previews; public letters only."""
    payload = count_payload(slug)
    if payload is None:
        return public_headers(
            HttpResponse("No public letter with this slug.", status=404, content_type="text/plain")
        )
    key = f"og:png:{slug}:{payload['count']}:{payload['updated_at']}"
    png = cached_twice(
        key,
        lambda: og_png(
            title=str(payload["title"]),
            count=int(payload["count"]),
            goal=payload["goal"],
            closed=payload["status"] == "closed",
            language=str(payload["language"]),
        ),
        shared_seconds=SHARED_SECONDS,
        local_seconds=LOCAL_SECONDS,
    )
    response = HttpResponse(png, content_type="image/png")
    return conditional(
        request,
        response,
        last_modified=payload["updated_at"],
        max_age=OG_MAX_AGE,
        stale=OG_STALE,
    )
