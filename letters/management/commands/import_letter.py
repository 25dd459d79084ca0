from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from core.output import TerminalSafeCommand
from letters.importing import (
    LetterFileError,
    letter_import,
    parse_letter_bundle,
    read_letter_file,
)


class Command(TerminalSafeCommand):
    help = (
        "Create or update a letter from a Markdown file with a YAML front-matter header, "
        "and the translations its `translations:` key lists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Path to the letter's .md file")

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            text = read_letter_file(file)
        except LetterFileError as exc:
            raise CommandError(str(exc)) from None
        try:
            bundle = parse_letter_bundle(text, directory=file.parent)
            letter, created = letter_import(bundle=bundle)
        except LetterFileError as exc:
            raise CommandError(f"{file}: {exc} Nothing was changed.") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{k}: {' '.join(v)}"
                for k, v in getattr(exc, "message_dict", {"": exc.messages}).items()
            )
            raise CommandError(f"{file}: {problems}. Nothing was changed.") from None
        verb = "Created" if created else "Updated"
        languages = ", ".join(t.language for t in bundle.translations)
        also = f" with translations: {languages}" if languages else ""
        self.stdout.write(
            self.style.SUCCESS(f"{verb} letter '{letter.slug}' ({letter.status}){also}.")
        )
