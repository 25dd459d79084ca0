"""Closing times outside the range letters may now have are removed.

A closing time past year 9999 (an import with a negative UTC offset at 9999-12-31)
was stored by PostgreSQL but cannot be read back into Python, so every page listing the
letter failed; the repair has to happen in SQL, before any row is loaded. Such a time
meant "never" in practice, so it becomes no closing time at all; a time before 2000
cannot be meant either and goes the same way.
"""

from django.db import migrations

LATEST = "9000-01-01 00:00:00+00"
EARLIEST = "2000-01-01 00:00:00+00"


def clear_out_of_range(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        table = schema_editor.quote_name("letters_letter")
        cursor.execute(
            f"UPDATE {table} SET closes_at = NULL WHERE closes_at > %s OR closes_at < %s",  # noqa: S608
            [LATEST, EARLIEST],
        )


class Migration(migrations.Migration):
    dependencies = [("letters", "0003_versions_translations_affiliations")]

    operations = [migrations.RunPython(clear_out_of_range, migrations.RunPython.noop)]
