"""Where one verified signature's work goes, in one process: the sign POST, the worker's
email, the confirmation page, the confirmation POST and the tally, each profiled apart.

Runs the real views through Django's test client against PostgreSQL (DATABASE_URL) and
Redis (REDIS_URL), with the letter `--slug` (give it many signatures first to see what
grows with it). For each step it prints the SQL statements and their count, the rows
PostgreSQL read for it by table and index (pg_stat_user_indexes and _tables, flushed
after every step), the CPU time, and the functions that took the most of it (cProfile).
Emails go to Django's in-memory backend; the tasks the requests queue go to the broker,
as in production, and nothing consumes them.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../11 DJANGO_SECRET_KEY=... \\
        .venv/bin/python bench/profile_signature.py --signatures 50

Not part of `make bench`: it is the microscope for what `make bench` measures.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_HTTPS", "0")
os.environ.setdefault("EMAIL_URL", "smtp://127.0.0.1:1")  # replaced by locmem below
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("TRUSTED_PROXIES", "127.0.0.1/32")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

STEPS = ("sign", "email", "confirm_page", "confirm", "tally")
CONFIRM_LINK = re.compile(r"https?://\S+/confirm/\S+/")
NUMBERS = re.compile(r"\d+|'[^']*'")


def stats_snapshot(stats: psycopg.Connection, cluster: psycopg.Connection) -> dict[str, int]:
    """Rows read so far, by table (seq scans) and by index (index scans), and by the whole
    database (read over `cluster`, a connection to another database, so that reading the
    statistics' own catalogs does not count)."""
    stats.execute("SELECT pg_stat_clear_snapshot()")
    out: dict[str, int] = {}
    for name, seq_read, idx_fetch in stats.execute(
        "SELECT relname, seq_tup_read, coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables"
    ):
        out[f"seq {name}"] = seq_read
        out[f"fetch {name}"] = idx_fetch
    for name, read in stats.execute("SELECT indexrelname, idx_tup_read FROM pg_stat_user_indexes"):
        out[f"index {name}"] = read
    # These reads of the catalogs are published now, before the database's figures are read.
    stats.execute("SELECT pg_stat_force_next_flush()")
    cluster.execute("SELECT pg_stat_clear_snapshot()")
    row = cluster.execute(
        "SELECT tup_fetched, tup_returned FROM pg_stat_database WHERE datname = %s",
        (connection.settings_dict["NAME"],),
    ).fetchone()
    out["database tup_fetched"], out["database tup_returned"] = row or (0, 0)
    return out


def flush_stats() -> None:
    """Make this process's backend publish its counters now (PostgreSQL 15+)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")


class Step:
    def __init__(self, name: str, *, profiled: bool) -> None:
        self.name = name
        # CPU time, not wall time: waits on PostgreSQL and Redis are not this process's work.
        self.profile = cProfile.Profile(time.process_time) if profiled else None
        self.cpu = 0.0
        self.runs = 0
        self.queries: Counter[str] = Counter()
        self.query_total = 0
        self.rows: Counter[str] = Counter()


def run_step(
    step: Step, db: tuple[psycopg.Connection, psycopg.Connection], work: Callable[[], Any]
) -> Any:
    flush_stats()
    before = stats_snapshot(*db)
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        cpu0 = time.process_time()
        if step.profile:
            step.profile.enable()
        try:
            result = work()
        finally:
            if step.profile:
                step.profile.disable()
            step.cpu += time.process_time() - cpu0
    flush_stats()
    after = stats_snapshot(*db)
    step.runs += 1
    # The two flushes' own statements are not the step's.
    sqls = [
        q["sql"] for q in captured.captured_queries if "pg_stat_force_next_flush" not in q["sql"]
    ]
    step.query_total += len(sqls)
    for sql in sqls:
        step.queries[NUMBERS.sub("?", sql)[:220]] += 1
    for key, value in after.items():
        step.rows[key] += value - before.get(key, 0) - SNAPSHOT_COST.get(key, 0)
    return result


# What reading the statistics costs the database's own figures (the catalogs the stats
# views read), measured once and taken off every step's.
SNAPSHOT_COST: Counter[str] = Counter()


def snapshot_cost_measure(db: tuple[psycopg.Connection, psycopg.Connection]) -> None:
    costs = []
    for _ in range(3):
        flush_stats()
        before = stats_snapshot(*db)
        flush_stats()
        after = stats_snapshot(*db)
        costs.append(
            {k: v - before.get(k, 0) for k, v in after.items() if k.startswith("database")}
        )
    SNAPSHOT_COST.update({k: min(cost[k] for cost in costs) for k in costs[0]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--slug", default="fair-terms")
    parser.add_argument("--signatures", type=int, default=30)
    parser.add_argument("--top", type=int, default=25, help="functions shown per step")
    parser.add_argument("--sort", default="tottime", help="cProfile sort key")
    parser.add_argument("--steps", default=",".join(STEPS), help="steps whose detail is shown")
    parser.add_argument(
        "--dump", type=Path, help="also write each step's profile to DIR/<step>.prof"
    )
    args = parser.parse_args()

    from letters.models import Letter
    from mail.outbox import outbox_drain
    from petition.counting import tally_apply

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    letter = Letter.objects.get(slug=args.slug)
    url = os.environ["DATABASE_URL"]
    db = (
        psycopg.connect(url, autocommit=True),
        psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True),
    )
    client = Client(REMOTE_ADDR="127.0.0.1")
    rng = random.Random(17)  # noqa: S311 (made-up form data)
    host = {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"}
    counted = letter.signatures.filter(counted=True).count()
    print(f"letter {letter.slug}: {counted} counted signatures; {args.signatures} to sign")

    def one(steps: dict[str, Step]) -> None:
        data = {
            "name": f"Bench Signer {rng.randrange(1_000_000)}",
            "email": f"{uuid.uuid4().hex}@example.org",
            "country": rng.choice(["FR", "DE", "NL", "US"]),
            "show_name": "on",
            "consent": "on",
        }
        address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        response = run_step(
            steps["sign"],
            db,
            # Form-encoded, as a browser (and the bench's load generator) posts it.
            lambda: client.post(
                f"/letters/{args.slug}/sign/",
                urlencode(data),
                content_type="application/x-www-form-urlencoded",
                HTTP_X_FORWARDED_FOR=address,
                **host,
            ),
        )
        assert response.status_code == 302, response.status_code
        mail.outbox = []
        sent = run_step(steps["email"], db, lambda: outbox_drain(linger_seconds=0, bulk=False))
        assert sent == 1 and mail.outbox, sent
        link = CONFIRM_LINK.search(mail.outbox[0].body)
        assert link, mail.outbox[0].body
        path = link.group(0).split("testserver", 1)[1]
        page = run_step(steps["confirm_page"], db, lambda: client.get(path))
        assert page.status_code == 200 and b'<form method="post"' in page.content
        done = run_step(steps["confirm"], db, lambda: client.post(path, **host))
        assert done.status_code == 200 and b"your signature counts" in done.content.lower()

    def run(*, profiled: bool) -> dict[str, Step]:
        steps = {name: Step(name, profiled=profiled) for name in STEPS}
        for _ in range(args.signatures):
            one(steps)
        time.sleep(1.1)  # the tally takes what the last second verified
        run_step(steps["tally"], db, lambda: tally_apply())
        return steps

    one({name: Step(name, profiled=False) for name in STEPS})  # warm up; not measured
    snapshot_cost_measure(db)
    # CPU and database figures from a run without the profiler, which slows what it times;
    # then the same again, profiled, for where the time goes.
    measured = run(profiled=False)
    profiled = run(profiled=True)

    shown = set(args.steps.split(","))
    per = args.signatures
    summary = []
    for name, step in measured.items():
        summary.append(
            f"{name:13} {1000 * step.cpu / per:6.2f} ms CPU  {step.query_total / per:5.1f} queries"
            f"  {step.rows['database tup_fetched'] / per:8.1f} rows fetched"
            f"  {step.rows['database tup_returned'] / per:8.1f} rows returned  (per signature)"
        )
        if name not in shown:
            continue
        print(f"\n==== {name}: per signature {1000 * step.cpu / per:.2f} ms CPU, "
              f"{step.query_total / per:.1f} queries")  # fmt: skip
        print("-- statements (count per signature):")
        for sql, n in step.queries.most_common():
            print(f"  {n / per:5.2f}  {sql}")
        print("-- rows read per signature (seq: by seq scan; index: entries; fetch: heap rows):")
        for key, n in sorted(step.rows.items(), key=lambda kv: -kv[1]):
            if n / per >= 0.5:
                print(f"  {n / per:9.1f}  {key}")
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            profiled[name].profile.dump_stats(args.dump / f"{name}.prof")
        out = io.StringIO()
        pstats.Stats(profiled[name].profile, stream=out).strip_dirs().sort_stats(
            args.sort
        ).print_stats(args.top)
        print("-- profile (CPU seconds, over the profiled run; the profiler inflates them):")
        print("\n".join(out.getvalue().splitlines()[4:]))
    total = sum(step.cpu for step in measured.values())
    print("\n==== summary (run without the profiler)")
    print("\n".join(summary))
    print(f"{'all':13} {1000 * total / per:6.2f} ms CPU")
    for conn in db:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
