"""The delivery PDF's content and layout: the letter, its named signatories, then its public
signatures, read in keyset-paged chunks and written page by page."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import BinaryIO

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django_countries import countries

from letters.markdown import render_markdown
from letters.models import Letter
from petition.models import Signature

from .pdfwriter import A4, Font, PdfWriter, default_fonts

CHUNK_SIZE = 2000
MARGIN = 56.0
FOOTER_Y = 30.0


@dataclass(frozen=True)
class Block:
    """One block of the letter's text: a heading, a paragraph, a list item or a quote."""

    kind: str  # "h", "p", "li", "quote", "pre"
    text: str
    marker: str = ""
    depth: int = 0


class _BlockParser(HTMLParser):
    """Flattens the letter's sanitized HTML into blocks of plain text."""

    BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "li", "pre", "dt", "dd", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.text: list[str] = []
        self.kind = "p"
        self.marker = ""
        self.lists: list[list] = []  # [tag, counter]
        self.quote = 0

    def flush(self) -> None:
        text = "".join(self.text)
        if self.kind != "pre":
            text = " ".join(text.split())
        if text.strip():
            kind = "quote" if self.quote and self.kind == "p" else self.kind
            self.blocks.append(Block(kind, text, self.marker, max(0, len(self.lists) - 1)))
        self.text, self.kind, self.marker = [], "p", ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("ul", "ol"):
            self.flush()
            self.lists.append([tag, 0])
        elif tag == "blockquote":
            self.flush()
            self.quote += 1
        elif tag in self.BLOCKS:
            if tag == "p" and self.kind == "li" and not "".join(self.text).strip():
                return  # a loose list item's paragraph belongs to the item
            self.flush()
            if tag == "li" and self.lists:
                self.lists[-1][1] += 1
                kind, count = self.lists[-1]
                self.kind, self.marker = "li", (f"{count}." if kind == "ol" else "•")
            elif tag.startswith("h"):
                self.kind = "h"
            elif tag == "pre":
                self.kind = "pre"
        elif tag == "br":
            self.text.append("\n")
        elif tag in ("td", "th") and self.text:
            self.text.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol"):
            self.flush()
            if self.lists:
                self.lists.pop()
        elif tag == "blockquote":
            self.flush()
            self.quote = max(0, self.quote - 1)
        elif tag in self.BLOCKS and not (tag == "p" and self.kind == "li"):
            self.flush()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def letter_blocks(body: str) -> list[Block]:
    """The letter's Markdown as blocks of plain text (links keep their words)."""
    parser = _BlockParser()
    parser.feed(render_markdown(body))
    parser.close()
    parser.flush()
    return parser.blocks


class Layout:
    """Lines set from the top of an A4 page down; a full page goes to the writer at once."""

    def __init__(self, pdf: PdfWriter, regular: Font, bold: Font, footer: str) -> None:
        self.pdf, self.regular, self.bold, self.footer = pdf, regular, bold, footer
        self.width = A4[0] - 2 * MARGIN
        self.ops: list[bytes] = []
        self.page = 0
        self.y = 0.0

    def _new_page(self) -> None:
        if self.ops:
            self._finish_page()
        self.page += 1
        self.y = A4[1] - MARGIN
        self.ops = []

    def _finish_page(self) -> None:
        footer = f"{self.footer} · {self.page}"
        self._text(self.regular, 8, MARGIN, FOOTER_Y, footer, grey=True)
        self.pdf.add_page(b"\n".join(self.ops))
        self.ops = []

    def _text(self, font: Font, size: float, x: float, y: float, text: str, *, grey=False) -> None:
        colour = b"0.35 g " if grey else b"0 g "
        self.ops.append(
            b"BT "
            + colour
            + f"/{font.resource} {size:g} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm ".encode()
            + font.encode(text)
            + b" Tj ET"
        )

    def wrap(self, text: str, font: Font, size: float, width: float) -> list[str]:
        """Greedy word wrap; a word wider than the line is cut where it must be."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            if font.width(paragraph, size) <= width:  # most lines: a name, a short place
                lines.append(paragraph)
                continue
            line = ""
            for word in paragraph.split(" "):
                candidate = f"{line} {word}" if line else word
                if font.width(candidate, size) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                while font.width(word, size) > width and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and font.width(word[:cut], size) > width:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                line = word
            lines.append(line)
        return lines

    def space(self, height: float) -> None:
        if self.page and self.y - height > MARGIN:
            self.y -= height
        else:
            self._new_page()

    def paragraph(
        self,
        text: str,
        *,
        size: float = 10.5,
        bold: bool = False,
        indent: float = 0,
        marker: str = "",
        after: float = 4,
        keep_with_next: float = 0,
    ) -> None:
        font = self.bold if bold else self.regular
        leading = size * 1.35
        lines = self.wrap(text, font, size, self.width - indent)
        for number, line in enumerate(lines):
            needed = leading + (keep_with_next if number == len(lines) - 1 else 0)
            if not self.page or self.y - needed < MARGIN:
                self._new_page()
            self.y -= leading
            if number == 0 and marker:
                self._text(font, size, MARGIN + indent - 14, self.y, marker)
            self._text(font, size, MARGIN + indent, self.y, line)
        self.y -= after

    def close(self) -> int:
        if self.ops:
            self._finish_page()
        return self.page


@dataclass(frozen=True)
class Counts:
    verified: int
    listed: int


def public_signatures(letter: Letter) -> Iterator[list[tuple]]:
    """The letter's publicly listed signatures in signing order, a chunk at a time, paged
    on the id so the millionth row costs what the first does and memory stays flat."""
    rows = (
        Signature.objects.publicly_listed()
        .filter(letter=letter)
        .order_by("pk")
        .values_list("pk", "name", "title", "organization", "city", "country")
    )
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last)[:CHUNK_SIZE])
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def anonymous_verified_signatures(letter: Letter) -> Iterator[list[tuple]]:
    """Verified affiliations whose signers withheld their name and let them count
    (petition.models.anonymous_verified_q), in signing order, a chunk at a time: only how
    each affiliation was verified, never a name or any other detail."""
    rows = (
        Signature.objects.anonymous_verified()
        .filter(letter=letter)
        .order_by("pk")
        .values_list("pk", "affiliation_verification", "affiliation_domain")
    )
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last)[:CHUNK_SIZE])
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def anonymous_verified_line(verification: str, domain: str) -> str:
    """The same words as the public list's mark (petition/affiliation/_mark.html)."""
    if verification == "email":
        how = _("verified via %(domain)s email") % {"domain": domain}
    elif domain:
        how = _("checked by a moderator (%(domain)s)") % {"domain": domain}
    else:
        how = _("checked by a moderator")
    return f"{_('Name withheld')} · {how}"


def signature_line(name: str, title: str, organization: str, city: str, country: str) -> str:
    affiliation = ", ".join(part for part in (title, organization) if part)
    place = ", ".join(
        part for part in (city, str(countries.name(country)) if country else "") if part
    )
    return " — ".join(part for part in (name, affiliation, place) if part)


def letter_pdf_write(
    *,
    letter: Letter,
    out: BinaryIO,
    counts: Counts,
    progress: Callable[[int], None] = lambda done: None,
    fonts: tuple[Font, Font] | None = None,
    now: datetime | None = None,
) -> int:
    """Write the delivery PDF of the letter to `out`; returns its page count. `progress` is
    called with the number of public signatures written after each chunk."""
    regular, bold = fonts or default_fonts()
    now = now or timezone.now()
    with translation.override(letter.language):
        pdf = PdfWriter(out, (regular, bold), title=letter.title)
        page = Layout(pdf, regular, bold, footer=letter.title[:90])
        page.paragraph(letter.title, size=18, bold=True, after=6)
        if letter.recipient:
            page.paragraph(_("To: %(recipient)s") % {"recipient": letter.recipient}, size=11)
        page.paragraph(
            _("%(verified)s verified signatures, %(listed)s of them listed by name · %(date)s")
            % {
                "verified": formats.number_format(counts.verified, force_grouping=True),
                "listed": formats.number_format(counts.listed, force_grouping=True),
                "date": formats.date_format(timezone.localtime(now), "DATE_FORMAT"),
            },
            size=9,
            after=14,
        )
        for block in letter_blocks(letter.body):
            if block.kind == "h":
                page.paragraph(block.text, size=12.5, bold=True, after=4, keep_with_next=30)
            elif block.kind == "li":
                page.paragraph(block.text, indent=18 + 14 * block.depth, marker=block.marker)
            elif block.kind == "quote":
                page.paragraph(block.text, indent=18, after=6)
            else:
                page.paragraph(block.text, after=7)

        named = list(letter.named_signatories.all())
        if named:
            page.space(10)
            page.paragraph(_("Initial signatories"), size=13, bold=True, keep_with_next=30)
            for person in named:
                text = person.name
                if person.affiliation:
                    text += " — " + person.affiliation
                    if person.affiliation_verification:
                        text += " " + _("(affiliation verified)")
                page.paragraph(text, after=2)

        page.space(10)
        page.paragraph(_("Public signatures"), size=13, bold=True, keep_with_next=30)
        page.paragraph(
            _(
                "%(listed)s signers chose to show their name; the other verified signatures "
                "count without one."
            )
            % {"listed": formats.number_format(counts.listed, force_grouping=True)},
            size=9,
            after=6,
        )
        done = 0
        for chunk in public_signatures(letter):
            for _pk, *fields in chunk:
                done += 1
                page.paragraph(f"{done}. " + signature_line(*fields), size=9, after=0.5)
            progress(done)

        withheld = 0
        for chunk in anonymous_verified_signatures(letter):
            if not withheld:
                page.space(10)
                page.paragraph(
                    _("Verified affiliations, names withheld"),
                    size=13,
                    bold=True,
                    keep_with_next=30,
                )
                page.paragraph(
                    _(
                        "These signers hid their name but let their verified affiliation count; "
                        "each is one of the verified signatures above."
                    ),
                    size=9,
                    after=6,
                )
            for _pk, verification, domain in chunk:
                withheld += 1
                line = anonymous_verified_line(verification, domain)
                page.paragraph(f"{withheld}. {line}", size=9, after=0.5)
        pages = page.close()
        pdf.close()
    return pages
