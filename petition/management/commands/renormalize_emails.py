from typing import Any

from django.core.management.base import CommandParser

from core.output import TerminalSafeCommand
from petition.renormalize import signatures_renormalize


class Command(TerminalSafeCommand):
    help = (
        "Recompute the normalized address of every signature and open invitation after the "
        "normalizer changed (run once after upgrading). Reports only, unless --apply. Where "
        "one person now has two signatures on a letter, the earliest verified stays and the "
        "others are invalidated (an audit entry per letter, undoable by moderators)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="Write the changes")

    def handle(self, *args: Any, apply: bool, **options: Any) -> None:
        report = signatures_renormalize(apply=apply)
        verb = "Changed" if apply else "Would change"
        self.stdout.write(
            f"{verb} {report.changed} signatures, {report.invitations_changed} invitations."
        )
        for slug, key, kept, others in report.merged:
            ids = ", ".join(str(pk) for pk in others)
            self.stdout.write(
                f"  {slug}: {key} signed more than once; keeps #{kept}, duplicates #{ids}"
            )
        if report.invitations_skipped:
            ids = ", ".join(str(pk) for pk in report.invitations_skipped)
            self.stdout.write(
                f"  Invitations left as they were (another is open to the same person): {ids}"
            )
        if report.unreadable:
            ids = ", ".join(str(pk) for pk in report.unreadable)
            self.stdout.write(
                f"  Signatures whose address no longer parses (left as they were): {ids}"
            )
        if not apply and (report.changed or report.invitations_changed):
            self.stdout.write("Nothing was written; run again with --apply.")
