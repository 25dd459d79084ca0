"""The documented backup and restore, proved on PostgreSQL: scripts/backup-loop dumps a
database holding signatures, counts and queued email; scripts/restore-backup loads it into
a new, empty database; the copy has the same signatures, counts and outbox."""

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from mail.models import OutboundEmail
from petition.models import Signature
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]

TABLES = {
    "signatures": "SELECT count(*), count(*) FILTER (WHERE status = 'verified') FROM petition_signature",
    "counts": "SELECT coalesce(sum(count), 0) FROM petition_lettercount WHERE dimension = 'total'",
    "outbox": "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FROM petition_outboundemail",
    "letters": "SELECT count(*), string_agg(slug, ',' ORDER BY slug) FROM letters_letter",
}


def libpq_env(database: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "PGHOST": db["HOST"] or "127.0.0.1",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"] or "postgres",
        "PGPASSWORD": db["PASSWORD"] or "",
        "PGDATABASE": database,
    }


def figures(database: str) -> dict[str, tuple | None]:
    env = libpq_env(database)
    with psycopg.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"],
        password=env["PGPASSWORD"] or None, dbname=database,
    ) as conn:  # fmt: skip
        return {name: conn.execute(sql).fetchone() for name, sql in TABLES.items()}


def test_a_backup_restores_into_a_new_database_with_the_same_signatures_counts_and_outbox(
    tmp_path: Path, tally
) -> None:
    if connection.vendor != "postgresql":
        pytest.fail("the backup test needs PostgreSQL (DATABASE_URL)")
    letter = LetterFactory(slug="kept-safe")
    SignatureFactory.create_batch(5, letter=letter, verified=True)
    pending = SignatureFactory.create_batch(3, letter=letter)
    tally()
    for signature in pending:
        OutboundEmail.objects.create(signature=signature, kind=OutboundEmail.Kind.VERIFY)
    assert Signature.objects.count() == 8
    source = connection.settings_dict["NAME"]
    before = figures(source)
    assert before["counts"] == (5,)
    assert before["outbox"] == (3, 3)

    backups = tmp_path / "backups"
    for _ in range(3):  # three runs, keeping two: the oldest is removed
        subprocess.run(
            ["sh", str(ROOT / "scripts" / "backup-loop")],
            env={**libpq_env(source), "BACKUP_DIR": str(backups), "BACKUP_KEEP": "2",
                 "BACKUP_ONCE": "1"},
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(["sleep", "1.1"], check=True)  # a new timestamp for each
    dumps = sorted(backups.glob("undersigned-*.dump"))
    assert len(dumps) == 2
    assert not list(backups.glob("*.partial"))

    target = f"restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host=libpq_env(source)["PGHOST"], port=libpq_env(source)["PGPORT"],
        user=libpq_env(source)["PGUSER"], dbname="postgres", autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute(f'CREATE DATABASE "{target}"')
        try:
            restored = subprocess.run(
                ["sh", str(ROOT / "scripts" / "restore-backup"), str(dumps[-1])],
                env=libpq_env(target), capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert restored.returncode == 0, restored.stderr
            assert figures(target) == before
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_restore_refuses_a_missing_file() -> None:
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "restore-backup"), "/nonexistent.dump"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "usage" in result.stderr
