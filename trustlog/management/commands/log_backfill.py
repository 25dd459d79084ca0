"""`python manage.py log_backfill`: start the logs of letters counted before the trust log."""

from typing import Any

from django.core.management.base import BaseCommand

from trustlog.services import log_backfill, log_checkpoints_issue


class Command(BaseCommand):
    help = (
        "Append an add entry for every signature counted before this site had the trust "
        "log, for each public letter without a log yet, then sign checkpoints. Run once "
        "after upgrading; safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        appended = log_backfill()
        signed = log_checkpoints_issue()
        self.stdout.write(f"{appended} entries appended, {signed} checkpoints signed.")
