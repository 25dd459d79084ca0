"""An invalidation by email domain takes its subdomains too (`email_domain LIKE
'%.spam.example'`), which no index on the domain answers: on a letter of a million, one
such preview read every signature. On PostgreSQL an index on the reversed domain turns the
suffix into a prefix (`reverse(email_domain) LIKE 'elpmaxe.maps.%'`). Built CONCURRENTLY
(outside a transaction) so signing goes on while it builds on a big table; elsewhere
(SQLite) this does nothing."""

from django.db import migrations

INDEX = "signature_domain_suffix_idx"


def suffix_index_create(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":  # type: ignore[attr-defined]
        return
    schema_editor.execute(  # type: ignore[attr-defined]
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON petition_signature "
        "(letter_id, reverse(email_domain) text_pattern_ops)"
    )


def suffix_index_drop(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":  # type: ignore[attr-defined]
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")  # type: ignore[attr-defined]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("petition", "0014_delete_outboundemail")]

    operations = [migrations.RunPython(suffix_index_create, suffix_index_drop, elidable=True)]
