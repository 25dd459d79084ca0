"""`python manage.py verify_log URL`: check a letter's public log on any Undersigned site."""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trustlog.note import NoteError, verifier_parse
from trustlog.verify import (
    ReceiptCheck,
    SavedState,
    VerifyError,
    http_fetcher,
    key_fetch,
    log_address,
    log_verify,
    state_read,
    state_write,
)


class Command(BaseCommand):
    help = (
        "Download a letter's log (checkpoint, tiles, entries) from any Undersigned site, check "
        "the checkpoint's signature, recompute the root from every entry, check consistency "
        "with a checkpoint saved earlier, and print the adds, removes and count. Exits "
        "non-zero on any mismatch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="The letter's address, e.g. https://site/letters/slug/")
        key = parser.add_mutually_exclusive_group()
        key.add_argument("--key", help="The site's verifier key line (name+id+base64).")
        key.add_argument("--key-file", type=Path, help="A file holding the verifier key line.")
        parser.add_argument(
            "--state",
            type=Path,
            help="A state file: the checkpoint saved by an earlier run is checked for "
            "consistency, and this run's checkpoint is saved in it.",
        )
        parser.add_argument("--entry", type=int, help="Check a receipt: your entry number.")
        parser.add_argument("--salt", help="Check a receipt: your salt (hex).")
        parser.add_argument("--email", help="Check a receipt: your normalized email address.")
        parser.add_argument(
            "--skip-tiles", action="store_true", help="Do not compare the served hash tiles."
        )
        parser.add_argument("--timeout", type=float, default=30.0, help="Seconds per request.")

    def handle(self, *args: Any, **options: Any) -> None:
        receipt_options = [options["entry"], options["salt"], options["email"]]
        if any(o is not None for o in receipt_options) and None in receipt_options:
            raise CommandError("A receipt check needs --entry, --salt and --email together.")
        try:
            address = log_address(options["url"])
            fetch = http_fetcher(address.prefix, timeout=options["timeout"])
            verifier = self._verifier(options, address.site)
            previous = state_read(options["state"]) if options["state"] else None
            receipt = (
                ReceiptCheck(options["entry"], options["salt"].strip(), options["email"].strip())
                if options["entry"] is not None
                else None
            )
            report = log_verify(
                fetch,
                origin=address.origin,
                verifier=verifier,
                previous=previous,
                check_tiles=not options["skip_tiles"],
                receipt=receipt,
            )
        except VerifyError as error:
            raise CommandError(f"FAILED: {error}") from None
        checkpoint = report.checkpoint
        out = self.stdout.write
        out(f"Log: {checkpoint.origin}")
        out(f"Checkpoint: {checkpoint.size} entries, signature verified with {report.key}")
        out(f"Root recomputed from every entry: {checkpoint.root.hex()}")
        if report.tiles_checked:
            out(f"Hash tiles served match the entries: {report.tiles_checked}")
        if report.previous_size is not None:
            out(f"Consistent with the checkpoint of {report.previous_size} entries saved earlier.")
        for line in report.receipt_lines:
            out(line)
        out(f"Adds: {report.adds}")
        out(f"Removes: {report.removes}")
        out(self.style.SUCCESS(f"Count: {report.count}"))
        if options["state"]:
            state_write(
                options["state"],
                SavedState(checkpoint.origin, checkpoint.size, checkpoint.root, report.key),
            )
            out(f"Saved this checkpoint to {options['state']}.")

    def _verifier(self, options: dict[str, Any], site: str) -> Any:
        text = options["key"]
        if options["key_file"]:
            try:
                text = options["key_file"].read_text(encoding="utf-8")
            except OSError as error:
                raise CommandError(f"Cannot read the key file: {error}") from None
        if text:
            try:
                return verifier_parse(text)
            except NoteError as error:
                raise CommandError(f"--key is not a verifier key: {error}") from None
        verifier = key_fetch(site)
        sys.stderr.write(
            f"No --key given: using the key the site itself serves ({verifier.line()}). "
            "This proves the log is consistent, not who signed it: compare the key with one "
            "published elsewhere, and keep a --state file.\n"
        )
        return verifier
