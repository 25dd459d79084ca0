"""`python manage.py log_keygen`: a new Ed25519 key for signing the trust log."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trustlog.keys import site_name
from trustlog.note import NoteError, signer_generate


class Command(BaseCommand):
    help = (
        "Generate the trust log's signing key. Put the PRIVATE+KEY line in LOG_SIGNING_KEY "
        "(the environment, never the repository); publish the verifier key line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", help="The key's name (default: the host of SITE_URL).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signer = signer_generate(options["name"] or site_name())
        except NoteError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"LOG_SIGNING_KEY={signer.line()}")
        self.stdout.write(f"# verifier key (public, served at /log/key): {signer.verifier.line()}")
