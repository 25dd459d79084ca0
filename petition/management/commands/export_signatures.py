from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.output import TerminalSafeCommand
from letters.models import Letter
from petition.exports import signatures_csv


class Command(TerminalSafeCommand):
    help = "Write a letter's counted signatures as CSV (streamed, constant memory)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--output", type=Path, help="File to write (default: standard output)")
        parser.add_argument(
            "--include-email", action="store_true", help="Add the email column (personal data)"
        )

    def handle(
        self, *args: Any, slug: str, output: Path | None, include_email: bool, **options: Any
    ) -> None:
        letter = Letter.objects.filter(slug=slug).first()
        if letter is None:
            raise CommandError(f"No letter with slug {slug!r}.")
        target = output.open("w", encoding="utf-8", newline="") if output else self.stdout
        rows = 0
        try:
            for line in signatures_csv(letter, include_email=include_email):
                target.write(line)
                rows += 1
        finally:
            if output:
                target.close()
        if output:
            self.stderr.write(f"Wrote {rows - 1} signatures to {output}.")
