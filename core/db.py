"""Bounds on what one request may ask of the database."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connections, transaction


@contextmanager
def time_limited(milliseconds: int, *, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction whose statements PostgreSQL cancels past
    `milliseconds` each, so criteria that would read a whole table answer with a message
    instead of holding a web worker until its own timeout kills it. A cancelled statement
    raises a DatabaseError that `timed_out` recognizes. SQLite has no such limit; there the
    block just runs."""
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            # set_config(..., true) lasts until the transaction ends, as SET LOCAL does.
            cursor.execute(
                "SELECT current_setting('statement_timeout'), "
                "set_config('statement_timeout', %s, true)",
                [str(milliseconds)],
            )
            (before, _now) = cursor.fetchone()
        yield
        # Inside an outer transaction this block was a savepoint, which the limit outlives.
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before])


def timed_out(error: DatabaseError) -> bool:
    """Whether the error is PostgreSQL cancelling a statement for its time limit."""
    return getattr(error.__cause__, "sqlstate", None) == "57014"


def interrupted_connections_close() -> None:
    """Close the database connections that are outside a transaction, so the next query
    opens a fresh one.

    Call it where an exception can arrive in the middle of a query: a Celery soft time
    limit is a signal, and its exception, raised while psycopg waits for an answer, leaves
    the connection still waiting for it. Every later query on that connection fails with
    "another command is already in progress", in the handler that meant to record the stop
    and in the worker's next task. A connection inside an atomic block is left to the
    block, whose exit rolls it back or, failing that, closes it."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
