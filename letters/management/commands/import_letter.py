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
    team_email,
)


class Command(TerminalSafeCommand):
    help = (
        "Create or update a letter from a Markdown file with a YAML front-matter header, "
        "and the translations its `translations:` key lists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Path to the letter's .md file")
        parser.add_argument(
            "--owner",
            action="append",
            default=[],
            metavar="EMAIL",
            help="Make this address an owner (repeatable): an account with it at once, any "
            "other address by an emailed invitation.",
        )
        parser.add_argument(
            "--admin-owns",
            action="store_true",
            help="If nobody owns the letter yet, make the first superuser its owner.",
        )

    def handle(
        self, *args: Any, file: Path, owner: list[str], admin_owns: bool, **options: Any
    ) -> None:
        bad = [email for email in owner if team_email(email) is None]
        if bad:
            raise CommandError(f"--owner {bad[0]!r} is not an email address. Nothing was changed.")
        try:
            text = read_letter_file(file)
        except LetterFileError as exc:
            raise CommandError(str(exc)) from None
        try:
            bundle = parse_letter_bundle(text, directory=file.parent)
            letter, created, team = letter_import(
                bundle=bundle, owners=owner, admin_owns=admin_owns
            )
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
        for email in team.granted:
            self.stdout.write(f"  {email}: role given on the letter's team.")
        for email in team.invited:
            self.stdout.write(f"  {email}: no account yet; invitation emailed.")
        if not letter.roles.filter(role="owner").exists() and not team.invited:
            self.stdout.write(
                self.style.WARNING(
                    "  Nobody owns this letter: give it an owner with --owner EMAIL (or "
                    "--admin-owns), or from the admin; until then only site staff can moderate it."
                )
            )
