"""`python manage.py log_key`: print the verifier key of this site's trust log."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trustlog.keys import SigningKeyMissing, letter_origin, site_verifier


class Command(BaseCommand):
    help = "Print the verifier key line of the trust log (as served at /log/key)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--letter", help="A letter's slug: the key under its log's origin.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            verifier = site_verifier()
        except SigningKeyMissing as error:
            raise CommandError(str(error)) from None
        if options["letter"]:
            verifier = verifier.renamed(letter_origin(options["letter"]))
        self.stdout.write(verifier.line())
