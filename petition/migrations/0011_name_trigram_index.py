"""Near-duplicate names on PostgreSQL: the pg_trgm extension and a trigram GIN index on
name_key. Elsewhere (SQLite) this does nothing, and the anomaly scan compares names its
portable way. Where the extension cannot be created (a role without the right), the
migration goes on without it, and so does the scan."""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)


def trigram_index_create(apps: object, schema_editor: object) -> None:
    connection = schema_editor.connection  # type: ignore[attr-defined]
    if connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # type: ignore[attr-defined]
    except Exception:
        logger.warning("pg_trgm not available; near-duplicate names use the portable check")
        return
    schema_editor.execute(  # type: ignore[attr-defined]
        "CREATE INDEX IF NOT EXISTS signature_name_trgm_idx "
        "ON petition_signature USING gin (name_key gin_trgm_ops)"
    )


def trigram_index_drop(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":  # type: ignore[attr-defined]
        schema_editor.execute("DROP INDEX IF EXISTS signature_name_trgm_idx")  # type: ignore[attr-defined]


class Migration(migrations.Migration):
    dependencies = [("petition", "0010_signature_public_comment")]

    operations = [migrations.RunPython(trigram_index_create, trigram_index_drop, elidable=True)]
