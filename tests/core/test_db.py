"""core.db: a connection interrupted mid-query is replaced, not reused."""

import pytest
from django.db import OperationalError, connection

from core.db import interrupted_connections_close
from letters.models import Letter

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="psycopg's interrupted wait is PostgreSQL's"
    ),
]


def interrupt_mid_query() -> None:
    """Leave Django's connection as a Celery soft time limit does when it strikes while
    psycopg waits for an answer: a query sent, its answer never read."""
    connection.ensure_connection()
    connection.connection.pgconn.send_query(b"SELECT pg_sleep(0.2)")


def test_a_connection_interrupted_mid_query_fails_every_next_query_until_closed():
    interrupt_mid_query()
    with pytest.raises(OperationalError, match="another command is already in progress"):
        Letter.objects.count()
    connection.close()


def test_closing_interrupted_connections_lets_the_next_query_run():
    interrupt_mid_query()
    interrupted_connections_close()
    assert Letter.objects.count() == 0
