"""A PDF written page by page to a file, in constant memory.

reportlab's canvas keeps every page of a document in memory until it saves, which for a
letter with a million signatures means tens of thousands of pages held at once. This
writer sends each page to the file as soon as it is full and remembers only where each
object starts. It uses reportlab for what reportlab is good at here: reading TrueType
fonts and measuring text.

Text is set in DejaVu Sans when Debian's fonts-dejavu-core is installed, embedded whole
(so every name, in any script the font covers, is drawn and can be searched and copied),
and in the PDF standard Helvetica otherwise, which covers Latin-1 only.
"""

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFontFile

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
A4 = (595.28, 841.89)


def dejavu_files(directory: Path = DEJAVU_DIR) -> tuple[Path, Path] | None:
    """Regular and bold DejaVu Sans, if installed."""
    regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
    return (regular, bold) if regular.is_file() and bold.is_file() else None


def _pdf_string(raw: bytes) -> bytes:
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


class Font(Protocol):
    """A font as a PDF resource: measures text and encodes it for the Tj operator."""

    resource: str

    def width(self, text: str, size: float) -> float: ...

    def encode(self, text: str) -> bytes: ...

    def write(self, pdf: "PdfWriter") -> int:
        """Write the font's objects; returns the id of the font dictionary."""
        ...


@dataclass
class StandardFont:
    """One of the PDF standard fonts (nothing embedded), with WinAnsi encoding; characters
    outside it are drawn as "?"."""

    resource: str
    base: str  # Helvetica, Helvetica-Bold

    def width(self, text: str, size: float) -> float:
        return stringWidth(self._safe(text), self.base, size)

    @staticmethod
    def _safe(text: str) -> str:
        return text.encode("cp1252", "replace").decode("cp1252")

    def encode(self, text: str) -> bytes:
        return _pdf_string(text.encode("cp1252", "replace"))

    def write(self, pdf: "PdfWriter") -> int:
        return pdf.add_object(
            f"<< /Type /Font /Subtype /Type1 /BaseFont /{self.base} "
            "/Encoding /WinAnsiEncoding >>".encode()
        )


@dataclass
class TrueTypeFont:
    """A TrueType font embedded whole as a CID font (Identity-H), with a ToUnicode map so
    that text can be extracted from the PDF."""

    resource: str
    path: Path
    ttf: TTFontFile = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ttf = TTFontFile(str(self.path))
        self._glyph = self.ttf.charToGlyph
        self._widths = self.ttf.charWidths
        self._default = self.ttf.defaultWidth

    def width(self, text: str, size: float) -> float:
        widths, default = self._widths, self._default
        return sum(widths.get(ord(ch), default) for ch in text) * size / 1000

    def encode(self, text: str) -> bytes:
        glyph = self._glyph
        return b"<" + "".join(f"{glyph.get(ord(ch), 0):04x}" for ch in text).encode() + b">"

    @cached_property
    def _widths_array(self) -> str:
        by_glyph = sorted(
            {g: self._widths.get(c, self._default) for c, g in self._glyph.items()}.items()
        )
        # "first [w w w ...]" per run of consecutive glyphs.
        runs: list[tuple[int, list[str]]] = []
        for g, w in by_glyph:
            if runs and g == runs[-1][0] + len(runs[-1][1]):
                runs[-1][1].append(f"{w:.0f}")
            else:
                runs.append((g, [f"{w:.0f}"]))
        return " ".join(f"{first} [{' '.join(widths)}]" for first, widths in runs)

    @cached_property
    def _to_unicode(self) -> bytes:
        pairs = sorted((g, c) for c, g in self._glyph.items() if g and c < 0x10000)
        seen: dict[int, int] = {}
        for g, c in pairs:
            seen.setdefault(g, c)
        lines = [
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
            "1 begincodespacerange <0000> <ffff> endcodespacerange",
        ]
        # Runs of consecutive glyphs for consecutive characters become one range entry
        # (within one high byte, as CMaps require): far fewer lines for readers to parse.
        ranges: list[list[int]] = []
        for g, c in sorted(seen.items()):
            last = ranges[-1] if ranges else None
            if (
                last
                and g == last[1] + 1
                and c == last[2] + (g - last[0])
                and g >> 8 == last[0] >> 8
            ):
                last[1] = g
            else:
                ranges.append([g, g, c])
        for start in range(0, len(ranges), 100):
            chunk = ranges[start : start + 100]
            lines.append(f"{len(chunk)} beginbfrange")
            lines.extend(f"<{a:04x}> <{b:04x}> <{c:04x}>" for a, b, c in chunk)
            lines.append("endbfrange")
        lines.append("endcmap CMapName currentdict /CMap defineresource pop end end")
        return "\n".join(lines).encode()

    def write(self, pdf: "PdfWriter") -> int:
        ttf = self.ttf
        name = ttf.name.decode() if isinstance(ttf.name, bytes) else str(ttf.name)
        data = self.path.read_bytes()
        file_id = pdf.add_stream(data, extra=f"/Length1 {len(data)}")
        bbox = " ".join(f"{v:.0f}" for v in ttf.bbox)
        descriptor = pdf.add_object(
            f"<< /Type /FontDescriptor /FontName /{name} /Flags {ttf.flags} /FontBBox [{bbox}] "
            f"/ItalicAngle {ttf.italicAngle:.0f} /Ascent {ttf.ascent:.0f} "
            f"/Descent {ttf.descent:.0f} /CapHeight {ttf.capHeight:.0f} /StemV {ttf.stemV} "
            f"/FontFile2 {file_id} 0 R >>".encode()
        )
        cid = pdf.add_object(
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo "
            "<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            f"/FontDescriptor {descriptor} 0 R /DW {self._default:.0f} "
            f"/W [{self._widths_array}] /CIDToGIDMap /Identity >>".encode()
        )
        to_unicode = pdf.add_stream(self._to_unicode)
        return pdf.add_object(
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
            f"/DescendantFonts [{cid} 0 R] /ToUnicode {to_unicode} 0 R >>".encode()
        )


# Parsing a TrueType file and building its width and Unicode tables takes tens of ms; a
# font never changes while the process runs and is only read, so every PDF shares one.
_true_type_font = lru_cache(maxsize=8)(TrueTypeFont)


def default_fonts(directory: Path = DEJAVU_DIR) -> tuple[Font, Font]:
    """(regular, bold): DejaVu Sans where installed, else Helvetica."""
    files = dejavu_files(directory)
    if files:
        return _true_type_font("F1", files[0]), _true_type_font("F2", files[1])
    return StandardFont("F1", "Helvetica"), StandardFont("F2", "Helvetica-Bold")


class PdfWriter:
    """Objects go to the file as they are made; only their offsets and the page ids stay
    in memory. Objects 1 and 2 (catalogue and page tree) are written last."""

    CATALOG, PAGES = 1, 2

    def __init__(self, out: BinaryIO, fonts: Iterable[Font], *, title: str = "") -> None:
        self.out = out
        self.offsets: dict[int, int] = {}
        self.page_ids: list[int] = []
        self._next_id = 3
        self.title = title
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        font_refs = " ".join(f"/{font.resource} {font.write(self)} 0 R" for font in fonts)
        self.resources = f"<< /Font << {font_refs} >> >>".encode()

    def _write(self, object_id: int, body: bytes) -> None:
        self.offsets[object_id] = self.out.tell()
        self.out.write(f"{object_id} 0 obj\n".encode() + body + b"\nendobj\n")

    def add_object(self, body: bytes) -> int:
        object_id = self._next_id
        self._next_id += 1
        self._write(object_id, body)
        return object_id

    def add_stream(self, data: bytes, *, extra: str = "") -> int:
        packed = zlib.compress(data, 6)
        head = f"<< /Length {len(packed)} /Filter /FlateDecode {extra} >>\nstream\n".encode()
        return self.add_object(head + packed + b"\nendstream")

    def add_page(self, content: bytes, size: tuple[float, float] = A4) -> None:
        contents = self.add_stream(content)
        self.page_ids.append(
            self.add_object(
                f"<< /Type /Page /Parent {self.PAGES} 0 R /MediaBox [0 0 {size[0]} {size[1]}] "
                f"/Resources ".encode()
                + self.resources
                + f" /Contents {contents} 0 R >>".encode()
            )
        )

    def close(self) -> None:
        kids = " ".join(f"{page} 0 R" for page in self.page_ids)
        self._write(
            self.PAGES,
            f"<< /Type /Pages /Count {len(self.page_ids)} /Kids [{kids}] >>".encode(),
        )
        self._write(self.CATALOG, f"<< /Type /Catalog /Pages {self.PAGES} 0 R >>".encode())
        info = self.add_object(
            b"<< /Producer (Undersigned) /Title <feff"
            + self.title.encode("utf-16-be").hex().encode()
            + b"> >>"
        )
        xref = self.out.tell()
        count = self._next_id
        lines = [f"xref\n0 {count}\n", "0000000000 65535 f \n"]
        for object_id in range(1, count):
            lines.append(f"{self.offsets[object_id]:010d} 00000 n \n")
        self.out.write("".join(lines).encode())
        self.out.write(
            f"trailer\n<< /Size {count} /Root {self.CATALOG} 0 R /Info {info} 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n".encode()
        )
