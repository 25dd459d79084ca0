#!/usr/bin/env python3
"""Compile the interface translations (locale/*/LC_MESSAGES/*.po) into the .mo files
Django reads, with Babel: no GNU gettext needed on the machine.

Only catalogues whose .po is newer than their .mo are compiled, each written to a
temporary file and moved into place, so test runs started at the same time never read
a half-written file. Fuzzy entries are left out, as msgfmt does. Exits non-zero, naming
the file, if a catalogue cannot be read.

Usage: compile_messages.py [--force] [LOCALE_DIR ...]   (default: ./locale)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def compile_catalogue(po_path: Path, *, force: bool = False) -> bool:
    """Write po_path's .mo beside it if it is missing or older; True if written."""
    mo_path = po_path.with_suffix(".mo")
    if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        return False
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, abort_invalid=True)
    handle, temporary = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo.tmp")
    try:
        with os.fdopen(handle, "wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        os.chmod(temporary, 0o644)
        os.replace(temporary, mo_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def compile_all(locale_dirs: list[Path], *, force: bool = False) -> list[Path]:
    """Compile every stale catalogue under the locale directories; the .po files written."""
    written = []
    for locale_dir in locale_dirs:
        for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
            if compile_catalogue(po_path, force=force):
                written.append(po_path)
    return written


def main(argv: list[str]) -> int:
    force = "--force" in argv
    dirs = [Path(arg) for arg in argv if arg != "--force"] or [ROOT / "locale"]
    try:
        written = compile_all(dirs, force=force)
    except Exception as exc:
        print(f"compile_messages: {exc}", file=sys.stderr)
        return 1
    for po_path in written:
        print(f"compiled {po_path.with_suffix('.mo')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
