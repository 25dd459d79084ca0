"""`make bench`: the production stack on this machine, under load, measured.

Starts PostgreSQL-backed gunicorn, a Celery worker and beat against a fresh database
(`undersigned_bench`) and Redis DB 13, with an SMTP sink in this process; signs and
confirms with locust, reads with wrk, loads a letter with a million signatures; writes
bench/results/latest.json and latest.png and prints a summary beside the targets.

Settings come from the environment (BENCH_DURATION, BENCH_USERS, BENCH_BIG, ...; see
README.md, "Benchmarks"); every process started here is stopped on the way out, whatever
happens.
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bigletter
import markdown_worst
import psycopg
import readpath
import redis
import report
import stats
from processes import OTHER, CpuSnapshot, Processes, cpu_seconds, cpu_snapshot, cpu_usage
from smtpsink import SmtpSink, free_port

import trustlog as trustlog_bench  # bench/trustlog.py, not the app of the same name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "run.tmp"  # logs and scratch files of the last run (ignored by git)
BIN = Path(sys.executable).parent
DATABASE = "undersigned_bench"
SLUG = "fair-terms"
STARTED = time.monotonic()
# The site's own processes, whose CPU a verified signature costs (bench/processes.py).
SITE_PROCESSES = ("gunicorn", "worker", "beat", "postgresql", "redis")
QUIET_MACHINE_CORES = 0.1  # CPU used by processes outside the benchmark before it warns
# Where the cluster runs without autovacuum (a test machine's setting), the bench looks this
# often for tables autovacuum would vacuum or analyze, and does it (VacuumLikeAutovacuum).
VACUUM_EVERY_SECONDS = 20.0
EARLIER_LETTER = """---
title: "A letter signed before the benchmark"
slug: earlier-letter
status: closed
fields: [title, organization, city, country]
---
Signatures of an earlier letter, so the benchmark's database is that of a site in use.
"""


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Settings:
    duration_s: int
    signers: int
    confirmers: int
    big_rows: int
    earlier_rows: int
    web_workers: int
    web_threads: int
    worker_concurrency: int
    worker_pool: str
    drain_timeout_s: int
    converge_timeout_s: int
    wrk_seconds: int
    wrk_threads: int
    wrk_connections: int
    postgres_url: str
    redis_url: str

    @classmethod
    def from_environment(cls, args: argparse.Namespace) -> "Settings":
        users = args.users or env_int("BENCH_USERS", 50)
        return cls(
            duration_s=args.duration or env_int("BENCH_DURATION", 60),
            signers=users,
            confirmers=env_int("BENCH_CONFIRMERS", users),
            big_rows=0 if args.skip_big else env_int("BENCH_BIG", 1_000_000),
            earlier_rows=env_int("BENCH_EARLIER", 20_000),
            # Tuned on 2 cores shared with everything else (README, "Benchmarks"): the
            # machine is CPU-bound, so 3 sync workers keep both cores busy while one waits
            # on PostgreSQL or Redis; more workers, or gthread, only add switching.
            web_workers=env_int("BENCH_WEB_WORKERS", 3),
            web_threads=env_int("BENCH_WEB_THREADS", 1),
            # One process sends ~100 emails/s with sub-second delay; a second costs CPU
            # that signing needs.
            worker_concurrency=env_int("BENCH_WORKER_CONCURRENCY", 1),
            worker_pool=os.environ.get("BENCH_WORKER_POOL", "prefork"),
            drain_timeout_s=env_int("BENCH_DRAIN_TIMEOUT", 60),
            converge_timeout_s=env_int("BENCH_CONVERGE_TIMEOUT", 60),
            wrk_seconds=env_int("BENCH_WRK_SECONDS", 10),
            wrk_threads=env_int("BENCH_WRK_THREADS", 2),
            wrk_connections=env_int("BENCH_WRK_CONNECTIONS", 32),
            postgres_url=os.environ.get(
                "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
            ),
            # Empty: a Redis server of the run's own (when redis-server is installed), so its
            # CPU is the benchmark's alone; else DB 13 of the one on 127.0.0.1:6379.
            redis_url=os.environ.get("BENCH_REDIS_URL", ""),
        )


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


class Bench:
    """One run: the stack, its settings, and the results as they come in."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes = Processes(logs=WORK / "logs")
        self.sink = SmtpSink(links_path=WORK / "links.txt")
        self.database_url = settings.postgres_url.rsplit("/", 1)[0] + f"/{DATABASE}"
        self.results: dict[str, Any] = {}
        self.errors: list[str] = []
        self.env: dict[str, str] = {}
        self.db: psycopg.Connection | None = None
        self.letter_id = 0
        self.load_ended_at = 0.0

    # --- set-up --------------------------------------------------------------------------
    def database_create(self) -> None:
        with psycopg.connect(self.settings.postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DATABASE}")
        redis.Redis.from_url(self.settings.redis_url).flushdb()

    def environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.settings.redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{self.sink.port}",
            "SITE_URL": self.base_url,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_STATIC_ROOT": str(WORK / "static"),
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "LOG_LEVEL": "WARNING",
            "DJANGO_CONN_MAX_AGE": "60",
        }

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        return done

    def start_stack(self) -> None:
        s = self.settings
        web = [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(s.web_workers), "--backlog", "2048"]  # fmt: skip
        if s.web_threads > 1:
            web += ["--worker-class", "gthread", "--threads", str(s.web_threads)]
        self.processes.start("gunicorn", web, env=self.env, cwd=ROOT)
        self.processes.start(
            "worker",
            [str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "WARNING",
             "--pool", s.worker_pool, "--concurrency", str(s.worker_concurrency),
             "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--hostname", "bench@%h"],
            env=self.env, cwd=ROOT,
        )  # fmt: skip
        self.start_beat()
        beat_retried = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.processes.running["beat"].poll() is not None and not beat_retried:
                # Beat's schedule file (a dbm.dumb shelve on Pythons without gdbm) is
                # occasionally unreadable the moment it is created; a new file fixes it.
                self.processes.stop("beat")
                self.start_beat()
                beat_retried = True
            for name in ("gunicorn", "worker", "beat"):
                process = self.processes.running[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.processes.log_tail(name)}")
            try:
                if readpath.http_get(f"{self.base_url}/health/", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not healthy in 60 s:\n{self.processes.log_tail('gunicorn')}")

    def start_beat(self) -> None:
        schedule = WORK / f"celerybeat-schedule-{time.monotonic_ns()}"
        self.processes.start(
            "beat",
            [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "WARNING",
             "--schedule", str(schedule)],
            env=self.env, cwd=ROOT,
        )  # fmt: skip

    def redis_start(self) -> None:
        """A Redis server for this run alone, unless BENCH_REDIS_URL names one."""
        if self.settings.redis_url:
            return
        if not shutil.which("redis-server"):
            self.settings.redis_url = "redis://127.0.0.1:6379/13"
            return
        port = free_port()
        self.processes.start(
            "redis",
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(WORK)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=WORK,
        )  # fmt: skip
        self.settings.redis_url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=1).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start:\n{self.processes.log_tail('redis')}"
                    ) from None
                time.sleep(0.1)

    def groups(self, *names: str) -> dict[str, int | None]:
        """Process groups whose CPU is measured: these, and Redis if the run has its own."""
        return {
            name: self.processes.pid(name) for name in (*names, "redis") if self.processes.pid(name)
        }

    def set_up(self) -> None:
        self.redis_start()
        say(f"database {DATABASE} (fresh) and Redis {self.settings.redis_url} (flushed)")
        self.database_create()
        self.sink.start()
        self.env = self.environment()
        say("migrate, collectstatic, import_letter demo/fair-terms.md")
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        self.manage("import_letter", "demo/fair-terms.md")
        self.db = psycopg.connect(self.database_url, autocommit=True)
        self.letter_id = self.scalar("SELECT id FROM letters_letter WHERE slug = %s", SLUG)
        self.earlier_letter()
        self.results["autovacuum"] = self.scalar("SHOW autovacuum")
        s = self.settings
        web = f"{s.web_workers} workers" + (
            f" x {s.web_threads} threads (gthread)" if s.web_threads > 1 else " (sync)"
        )
        say(f"starting gunicorn ({web}) on {self.base_url}, Celery worker "
            f"({s.worker_pool} pool, concurrency {s.worker_concurrency}), beat, SMTP sink on :{self.sink.port}")  # fmt: skip
        self.start_stack()

    def earlier_letter(self) -> None:
        """Make the fresh database look like a site in use: another letter's signatures
        (BENCH_EARLIER, withdrawn, so no job of the site touches them), then planner
        statistics. An empty, never analyzed signature table makes PostgreSQL find a
        signature by its id through any index that starts with the letter, reading the
        whole letter each time, and seq-scan once analyzed empty: plans no running site
        has, whose rows read grow with the letter under load."""
        rows = self.settings.earlier_rows
        if rows:
            path = WORK / "earlier-letter.md"
            path.write_text(EARLIER_LETTER, encoding="utf-8")
            self.manage("import_letter", str(path))
            letter_id = self.scalar("SELECT id FROM letters_letter WHERE slug = 'earlier-letter'")
            assert self.db is not None
            bigletter.bulk_load(self.db, letter_id, rows)
            self.db.execute(
                "UPDATE petition_signature SET status = 'withdrawn' WHERE letter_id = %s",
                (letter_id,),
            )
        assert self.db is not None
        self.db.execute("VACUUM (ANALYZE)")

    def scalar(self, sql: str, *params: object) -> Any:
        assert self.db is not None
        row = self.db.execute(sql, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    # --- signing and confirming ------------------------------------------------------------
    def sign(self) -> None:
        s = self.settings
        files = {
            "BENCH_LINKS_FILE": WORK / "links.txt",
            "BENCH_RECORDS_FILE": WORK / "requests.csv",
            "BENCH_PHASE_FILE": WORK / "phase.json",
            "BENCH_STOP_FILE": WORK / "stop",
        }
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
            "BENCH_SLUG": SLUG,
            "BENCH_SIGN_SECONDS": str(s.duration_s),
            "BENCH_CONFIRMERS": str(s.confirmers),
            **{k: str(v) for k, v in files.items()},
        }
        users = s.signers + s.confirmers
        run_time = s.duration_s + s.drain_timeout_s + 60  # a bound, should run.py not stop it
        say(f"signing for {s.duration_s} s: {s.signers} signers, {s.confirmers} confirmers")
        groups = self.groups("gunicorn", "worker", "beat")
        locust = self.processes.start(
            "locust",
            [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "--users", str(users), "--spawn-rate", str(users), "--host", self.base_url,
             "--run-time", f"{run_time}s", "--stop-timeout", "5", "--only-summary",
             "--loglevel", "WARNING", *([] if s.confirmers else ["Signer"])],
            env=env, cwd=WORK,
        )  # fmt: skip
        groups["locust"] = locust.pid
        phase_file = files["BENCH_PHASE_FILE"]
        deadline = time.monotonic() + 30
        while not phase_file.exists():
            if locust.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"locust did not start:\n{self.processes.log_tail('locust')}")
            time.sleep(0.05)
        phase = json.loads(phase_file.read_text())
        before = cpu_snapshot(groups, DATABASE)
        database_before = self.database_activity()
        redis_before = self.redis_commands()
        vacuum = VacuumLikeAutovacuum(self.database_url, enabled=self.results["autovacuum"] != "on")
        vacuum.start()
        try:
            while (left := phase["sign_end"] - time.time()) > 0:
                time.sleep(min(10.0, left))
                say(f"  {len(self.sink.snapshot())} emails received so far")
            after = cpu_snapshot(groups, DATABASE)
            self.results["cpu_during_signing"] = cpu_usage(before, after)
            drained = self.drain(phase)
            # Every link is followed and signing is over: the load has stopped. Watch the
            # public count catch up now, while locust idles, so no time is lost to its exit.
            try:
                self.converge()
            except Exception as exc:
                self.errors.append(f"count_convergence: {exc}")
        finally:
            self.results["vacuum_by_bench"] = vacuum.stop()
        self.cpu_per_signature(before, cpu_snapshot(groups, DATABASE))
        self.database_per_signature(database_before, self.database_activity())
        self.redis_per_signature(redis_before, self.redis_commands())
        files["BENCH_STOP_FILE"].touch()
        try:
            locust.wait(30)
        except subprocess.TimeoutExpired:
            self.errors.append("locust did not stop within 30 s of being asked; stopped it")
        self.processes.stop("locust")
        self.results["locust_exit_code"] = locust.returncode
        self.sign_results(phase, files["BENCH_RECORDS_FILE"], drained)

    def pending(self) -> tuple[int, set[int]]:
        """Signatures of the letter still waiting for confirmation, and its verify emails."""
        assert self.db is not None
        waiting = self.scalar(
            "SELECT count(*) FROM petition_signature WHERE letter_id = %s "
            "AND status = 'pending' AND shadow_reason = ''",
            self.letter_id,
        )
        verify_ids = {
            row[0]
            for row in self.db.execute(
                "SELECT o.id FROM petition_outboundemail o JOIN petition_signature s "
                "ON s.id = o.signature_id WHERE s.letter_id = %s AND o.kind = 'verify'",
                (self.letter_id,),
            )
        }
        return waiting, verify_ids

    def drain(self, phase: dict[str, float]) -> dict[str, Any]:
        """Wait until every verify email has arrived and every link has been followed."""
        say(
            f"signing stopped; following the remaining links (at most {self.settings.drain_timeout_s} s)"
        )
        started = time.monotonic()
        deadline = started + self.settings.drain_timeout_s
        confirming = self.settings.confirmers > 0
        while True:
            waiting, verify_ids = self.pending()
            received = {r.outbox_id for r in self.sink.snapshot()}
            complete = verify_ids <= received and (waiting == 0 or not confirming)
            if complete or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        say(f"  drained in {seconds:.1f} s" if complete else
            f"  drain timed out: {waiting} signatures unconfirmed, "
            f"{len(verify_ids - received)} verify emails not received")  # fmt: skip
        return {"complete": complete, "seconds": round(seconds, 1), "unconfirmed": waiting,
                "ended_at": time.time()}  # fmt: skip

    def sign_results(self, phase: dict[str, float], records: Path, drained: dict[str, Any]) -> None:
        s = self.settings
        requests = stats.read_requests(records)
        t0 = phase["sign_start"]
        window = int(drained["ended_at"] - t0) + 1
        self.load_ended_at = max((r.end for r in requests if r.end <= drained["ended_at"]),
                                 default=0.0)  # fmt: skip
        convergence = self.results.get("count_convergence", {})
        if convergence.get("exact_at") and self.load_ended_at:
            convergence["seconds"] = round(convergence["exact_at"] - self.load_ended_at, 2)
        signs = [r for r in requests if r.what == "sign"]
        confirms = [r for r in requests if r.what == "confirm"]
        confirms_in_phase = [r for r in confirms if r.end <= phase["sign_end"]]
        self.results["signing"] = {
            **stats.summarize(signs, s.duration_s),
            "series": stats.per_second(signs, t0, s.duration_s + 2),
        }
        self.results["letter_page_on_start"] = stats.summarize(
            [r for r in requests if r.what == "page"], s.duration_s
        )
        self.results["confirming"] = {
            **stats.summarize(confirms_in_phase, s.duration_s),
            "ok_total": (confirmed := sum(r.outcome == "ok" for r in confirms)),
            # Signatures taken all the way (signed, emailed, confirmed) per second, from the
            # start of signing until the last link was followed.
            "end_to_end_per_second": round(confirmed / max(1.0, drained["ended_at"] - t0), 1),
            "errors_total": dict(Counter(r.outcome for r in confirms if r.outcome != "ok")),
            "page": stats.summarize([r for r in requests if r.what == "confirm_page"], window),
            "drain": drained,
            "series": stats.per_second(confirms, t0, window),
        }
        self.email_results(t0, window)
        sign = self.results["signing"]
        say(f"  accepted {sign['ok']} signatures ({sign['per_second']}/s), "
            f"p50 {sign['p50_ms']} ms, p99 {sign['p99_ms']} ms, errors {sign['errors']}")  # fmt: skip

    def email_results(self, t0: float, window: int) -> None:
        assert self.db is not None
        rows = self.db.execute(
            "SELECT o.id, o.kind, o.state, extract(epoch FROM o.created_at)::float8 "
            "FROM petition_outboundemail o JOIN petition_signature s ON s.id = o.signature_id "
            "WHERE s.letter_id = %s",
            (self.letter_id,),
        ).fetchall()
        created = {row[0]: row[3] for row in rows}
        state = {row[0]: row[2] for row in rows}
        received = self.sink.snapshot()
        times = Counter(r.outbox_id for r in received)
        first: dict[int, float] = {}
        for r in received:
            if r.outbox_id is not None and r.outbox_id not in first:
                first[r.outbox_id] = r.at
        delays = [first[i] - created[i] for i in first if i in created]
        verify_ids = {row[0] for row in rows if row[1] == "verify"}
        self.results["email"] = {
            "outbox_rows": len(rows),
            "outbox_by_kind": dict(Counter(row[1] for row in rows)),
            "outbox_by_state": dict(Counter(row[2] for row in rows)),
            "received": len(received),
            "received_with_link": sum(r.link is not None for r in received),
            "delay_p50_s": stats.rounded(stats.percentile(delays, 50), 2),
            "delay_p99_s": stats.rounded(stats.percentile(delays, 99), 2),
            "delay_max_s": stats.rounded(max(delays), 2) if delays else None,
            "lost": len(lost := verify_ids - set(first)),
            # "queued": still waiting in the outbox when the drain timed out (late, not gone);
            # "sent": the app marked it sent but it never arrived (a real loss).
            "lost_by_state": dict(Counter(state[i] for i in lost)),
            "duplicated": sum(1 for n in times.values() if n > 1),
            "unknown": sum(1 for r in received if r.outbox_id not in created),
            "received_per_second": stats.counts_per_second((r.at for r in received), t0, window),
        }
        e = self.results["email"]
        say(f"  emails: {e['received']} received, delay p50 {e['delay_p50_s']} s, "
            f"p99 {e['delay_p99_s']} s, lost {e['lost']}"
            f"{' ' + str(e['lost_by_state']) if e['lost'] else ''}, "
            f"duplicated {e['duplicated']}")  # fmt: skip

    def cpu_per_signature(self, before: CpuSnapshot, after: CpuSnapshot) -> None:
        """CPU of every process of the site (web, worker, beat, PostgreSQL, Redis) from the
        start of signing until the count is exact, per signature taken all the way to
        counted: signed, emailed, confirmed and folded into the count by the tally."""
        counted = self.scalar(
            "SELECT count(*) FROM petition_signature WHERE letter_id = %s "
            "AND status = 'verified' AND shadow_reason = '' AND counted",
            self.letter_id,
        )
        used = cpu_seconds(before, after)
        site = {name: used.get(name, 0.0) for name in SITE_PROCESSES}
        total = sum(site.values())
        wall = after.wall - before.wall
        out: dict[str, Any] = {
            "signatures_counted": counted,
            "window_seconds": round(wall, 1),
            "cpu_seconds": round(total, 2),
            "ms": round(1000 * total / counted, 2) if counted else None,
            "by_process_ms": {
                name: round(1000 * seconds / counted, 2) if counted else None
                for name, seconds in site.items()
            },
            # The reciprocal: what one core of this machine takes through the whole pipeline.
            "per_core_second": round(counted / total, 1) if total else None,
            # Not in the figure: the load generator, the SMTP sink, and the kernel's own
            # time (network softirq, mostly), shown here for the same window in cores.
            "outside_cores": {
                name: round(used.get(name, 0.0) / wall, 2) for name in ("locust", "bench", OTHER)
            },
        }
        self.results["cpu_per_verified_signature"] = out
        say(f"CPU per verified signature: {out['ms']} ms "
            f"({', '.join(f'{k} {v}' for k, v in out['by_process_ms'].items())}); "
            f"{out['per_core_second']} signatures per core-second")  # fmt: skip

    def database_activity(self) -> dict[str, int]:
        """The bench database's transaction and row counters (pg_stat_database)."""
        assert self.db is not None
        self.db.execute("SELECT pg_stat_clear_snapshot()")
        row = self.db.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, "
            "tup_fetched FROM pg_stat_database WHERE datname = %s",
            (DATABASE,),
        ).fetchone()
        names = ("commits", "rollbacks", "rows_inserted", "rows_updated", "rows_deleted",
                 "rows_fetched")  # fmt: skip
        return dict(zip(names, row or (0,) * len(names), strict=True))

    def database_per_signature(self, before: dict[str, int], after: dict[str, int]) -> None:
        """What PostgreSQL does per verified signature: the figures that size the primary."""
        counted = (self.results.get("cpu_per_verified_signature") or {}).get("signatures_counted")
        if not counted:
            return
        self.results["database_per_verified_signature"] = out = {
            name: round((after[name] - before[name]) / counted, 2) for name in after
        }
        say(f"PostgreSQL per verified signature: {out}")

    def redis_commands(self) -> int | None:
        """Commands the run's own Redis server has processed (None: a shared server)."""
        if not self.processes.pid("redis"):
            return None
        info = redis.Redis.from_url(self.settings.redis_url).info("stats")
        return int(info["total_commands_processed"])

    def redis_per_signature(self, before: int | None, after: int | None) -> None:
        counted = (self.results.get("cpu_per_verified_signature") or {}).get("signatures_counted")
        if before is None or after is None or not counted:
            return
        per_signature = round((after - before) / counted, 1)
        self.results["redis_commands_per_verified_signature"] = per_signature
        say(f"Redis commands per verified signature: {per_signature}")

    # --- counts ------------------------------------------------------------------------
    def converge(self) -> None:
        truth = self.scalar(
            "SELECT count(*) FROM petition_signature WHERE letter_id = %s "
            "AND status = 'verified' AND shadow_reason = ''",
            self.letter_id,
        )
        url = f"{self.base_url}/api/v1/letters/{SLUG}"
        started = time.monotonic()
        first = shown = None
        while True:
            answer = readpath.http_get(url, timeout=5)
            shown = json.loads(answer.body)["signature_count"] if answer.status == 200 else None
            first = shown if first is None else first
            elapsed = time.monotonic() - started
            if shown == truth or elapsed > self.settings.converge_timeout_s:
                break
            time.sleep(0.2)
        exact = shown == truth
        self.results["count_convergence"] = {
            "verified_in_database": truth,
            "api_count_when_polling_began": first,
            "api_count_final": shown,
            "exact": exact,
            "exact_at": time.time() if exact else None,
            # `seconds` (from the last request of the load) is filled in once the load
            # generator's records are read.
            "seconds": None,
            "seconds_polling": round(elapsed, 2),
        }
        say(f"count: database {truth}, API {first} when polling began, "
            + (f"exact after {elapsed:.1f} s of polling" if exact
               else f"still {shown} after {elapsed:.0f} s"))  # fmt: skip

    # --- read path ---------------------------------------------------------------------
    def read_path(self) -> None:
        s = self.settings
        out: dict[str, Any] = {}
        self.results["read_path"] = out
        if not readpath.wrk_available():
            out["skipped"] = "wrk is not installed (Debian: apt-get install wrk)"
            say(f"read path skipped: {out['skipped']}")
            return
        paths = {
            "count_json": f"/embed/{SLUG}/count.json",
            "robots_txt": "/robots.txt",
            "badge_svg": f"/embed/{SLUG}/badge.svg",
            "widget": f"/embed/{SLUG}/",
        }
        for name, path in paths.items():
            status = readpath.http_get(self.base_url + path).status
            if status != 200:
                out[name] = {"path": path, "skipped": f"answers {status}, not 200"}
                say(f"read path: {path} answers {status}; skipped")
                continue
            say(f"wrk {s.wrk_seconds} s on {path}")
            groups = self.groups("gunicorn", "worker", "beat")
            before = cpu_snapshot(groups, DATABASE)
            out[name] = {"path": path, **readpath.wrk(
                self.base_url + path, threads=s.wrk_threads, connections=s.wrk_connections,
                seconds=s.wrk_seconds,
            )}  # fmt: skip
            out[name]["cpu"] = cpu_usage(
                before,
                cpu_snapshot(groups, DATABASE),
                {"wrk": out[name].pop("wrk_cpu_seconds", 0.0)},
            )
            say(f"  {out[name].get('requests_per_second')} req/s, "
                f"p99 {out[name].get('p99_ms')} ms")  # fmt: skip
        trivial = out.get("robots_txt", {}).get("requests_per_second")
        for name, ratio in (
            ("count_json", "count_to_trivial_ratio"),
            ("badge_svg", "badge_to_trivial_ratio"),
            ("widget", "widget_to_trivial_ratio"),
        ):
            rate = out.get(name, {}).get("requests_per_second")
            if rate and trivial:
                out[ratio] = round(rate / trivial, 2)

    # --- a million signatures ----------------------------------------------------------
    def big_letter(self) -> None:
        rows = self.settings.big_rows
        out: dict[str, Any] = {"rows": rows}
        self.results["big_letter"] = out
        # Nothing else may tally meanwhile: the timing is of one tally over every row.
        self.processes.stop("beat")
        self.processes.stop("worker")
        self.manage("import_letter", str(bigletter.write_letter_file(WORK)))
        letter_id = self.scalar("SELECT id FROM letters_letter WHERE slug = %s", bigletter.SLUG)
        assert self.db is not None
        say(f"big letter: COPY {rows:,} verified signatures")
        out["load"] = bigletter.bulk_load(self.db, letter_id, rows)
        say(f"  copied in {out['load']['copy_seconds']} s; tally (batches of 20000)")
        out["tally"] = bigletter.timed_shell(self.manage, bigletter.TALLY_CODE, timeout=600)
        out["tally"]["counted_rows"] = self.scalar(
            "SELECT count(*) FROM petition_signature WHERE letter_id = %s AND counted", letter_id
        )
        say(f"  tally folded {out['tally']['result']} signatures in {out['tally']['seconds']} s")
        started = time.perf_counter()
        self.db.execute("VACUUM (ANALYZE) petition_signature")
        out["vacuum_seconds"] = round(time.perf_counter() - started, 1)
        out["reads"] = reads = {}
        for name, path in {
            "letter_page": f"/letters/{bigletter.SLUG}/",
            "count_json": f"/embed/{bigletter.SLUG}/count.json",
            "api_detail": f"/api/v1/letters/{bigletter.SLUG}",
            "api_signatures": f"/api/v1/letters/{bigletter.SLUG}/signatures",
        }.items():
            reads[name] = readpath.timed_gets(self.base_url + path, count=50)
            if reads[name]["status"] != 200:
                reads[name]["note"] = f"answers {reads[name]['status']}; not measured"
                for key in ("p50_ms", "p99_ms", "max_ms"):
                    reads[name].pop(key)
            say(f"  GET {path}: status {reads[name]['status']}, p50 "
                f"{reads[name].get('p50_ms')} ms, p99 {reads[name].get('p99_ms')} ms")  # fmt: skip
        self.big_count_check(letter_id, reads)
        moderation = bigletter.timed_shell(self.manage, bigletter.MODERATION_CODE, timeout=600)
        out["moderation_queue"] = json.loads(moderation["result"])
        say(f"  moderation queue (ms): {out['moderation_queue']}")
        say("  export_signatures to CSV")
        csv_path = WORK / "big-letter.csv"
        out["export"] = bigletter.export_csv(
            [sys.executable, "manage.py", "export_signatures", bigletter.SLUG, "--output",
             str(csv_path)],
            env=self.env, cwd=ROOT, output=csv_path, log=WORK / "logs" / "export.log",
            timeout=600,
        )  # fmt: skip
        csv_path.unlink(missing_ok=True)
        say(f"  export: {out['export']}")
        out["reconcile"] = bigletter.timed_shell(self.manage, bigletter.RECONCILE_CODE, timeout=600)
        say(f"  reconcile in {out['reconcile']['seconds']} s, "
            f"repaired {out['reconcile']['result']} rows")  # fmt: skip

    def big_count_check(self, letter_id: int, reads: dict[str, Any]) -> None:
        answer = readpath.http_get(f"{self.base_url}/embed/{bigletter.SLUG}/count.json")
        if answer.status == 200:
            reads["count_json"]["count"] = json.loads(answer.body).get("count")


class VacuumLikeAutovacuum:
    """Where the cluster's autovacuum is off, do its work on the bench database from a
    thread: every VACUUM_EVERY_SECONDS, VACUUM (ANALYZE) each table past autovacuum's
    default vacuum threshold (50 + 20 % of its rows dead) and ANALYZE each past its analyze
    threshold (50 + 10 % changed). Without it the outbox's index of queued emails fills
    with the entries of sent ones, and plans stay those of the tables before the load. Its
    CPU is PostgreSQL's, counted in the figures, as autovacuum's would be."""

    THRESHOLDS = """
        SELECT relname,
               n_dead_tup > 50 + 0.2 * greatest(n_live_tup, 0) AS vacuum,
               n_mod_since_analyze > 50 + 0.1 * greatest(n_live_tup, 0) AS analyze
        FROM pg_stat_user_tables
    """

    def __init__(self, url: str, *, enabled: bool) -> None:
        self.url = url
        self.enabled = enabled
        self.stopping = threading.Event()
        self.vacuums = 0
        self.analyzes = 0
        self.seconds = 0.0
        self.thread = threading.Thread(target=self._loop, name="vacuum", daemon=True)

    def start(self) -> None:
        if self.enabled:
            self.thread.start()

    def _loop(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.wait(VACUUM_EVERY_SECONDS):
                started = time.monotonic()
                conn.execute("SELECT pg_stat_clear_snapshot()")
                for table, vacuum, analyze in conn.execute(self.THRESHOLDS).fetchall():
                    name = psycopg.sql.Identifier(table)
                    if vacuum:
                        conn.execute(psycopg.sql.SQL("VACUUM (ANALYZE) {}").format(name))
                        self.vacuums += 1
                    elif analyze:
                        conn.execute(psycopg.sql.SQL("ANALYZE {}").format(name))
                        self.analyzes += 1
                self.seconds += time.monotonic() - started

    def stop(self) -> dict[str, Any]:
        if not self.enabled:
            return {"enabled": False, "why": "the cluster's autovacuum is on"}
        self.stopping.set()
        self.thread.join(timeout=120)
        return {"enabled": True, "every_seconds": VACUUM_EVERY_SECONDS, "vacuums": self.vacuums,
                "analyzes": self.analyzes, "seconds": round(self.seconds, 1)}  # fmt: skip


@contextmanager
def phase(bench: Bench, name: str) -> Iterator[None]:
    """Run one part; an error is recorded and reported, and the run goes on to the next."""
    started = time.monotonic()
    try:
        yield
    except Exception as exc:
        bench.processes.stop("locust")  # no load may leak into the next part
        bench.errors.append(f"{name}: {exc}")
        say(f"{name} FAILED: {exc}")
        (WORK / "logs" / f"{name}.traceback").write_text(traceback.format_exc())
    finally:
        bench.results.setdefault("phase_seconds", {})[name] = round(time.monotonic() - started, 1)


def git_commit() -> tuple[str, bool]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return git("rev-parse", "HEAD") or "unknown", bool(git("status", "--porcelain"))


def postgres_version(url: str) -> str:
    try:
        with psycopg.connect(url) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        return "unknown"


def finish(bench: Bench) -> int:
    results = bench.results
    commit, dirty = git_commit()
    ordered: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "git_dirty": dirty,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": postgres_version(bench.settings.postgres_url),
        "settings": {
            **asdict(bench.settings),
            "gunicorn": {
                "workers": bench.settings.web_workers,
                "threads": bench.settings.web_threads,
                "worker_class": "gthread" if bench.settings.web_threads > 1 else "sync",
            },
        },
        **results,
        "errors": bench.errors,
        "elapsed_seconds": round(time.monotonic() - STARTED, 1),
    }
    ordered["targets"] = report.targets(ordered)
    interrupted = "interrupted" in bench.errors
    if not interrupted:  # a run cut short must not replace the last complete one
        RESULTS.mkdir(exist_ok=True)
        report.write_json(ordered, RESULTS / "latest.json")
        try:
            report.plot(ordered, RESULTS / "latest.png")
        except Exception as exc:
            bench.errors.append(f"plot: {exc}")
    print()
    print(report.summary_table(ordered))
    usage = ordered.get("cpu_during_signing")
    if usage:
        parts = ", ".join(
            f"{k} {v}" for k, v in usage.items() if isinstance(v, float) and v and k != "cores"
        )
        print(f"\nCPU cores used while signing (of {usage['cores']}): {parts}")
        if usage["other_processes"] >= QUIET_MACHINE_CORES:
            print(
                f"WARNING: the machine was not quiet: other processes used "
                f"{usage['other_processes']} cores while signing "
                f"({usage['other_processes_busiest']}); the figures are lower than this "
                "machine gives when idle."
            )
    if interrupted:
        print(f"\nInterrupted: bench/results/latest.* kept as they were; logs in {WORK / 'logs'}")
    else:
        print(f"\nWrote bench/results/latest.json and latest.png; logs in {WORK / 'logs'}")
    print(f"Total {ordered['elapsed_seconds']} s.")
    for error in bench.errors:
        print(f"ERROR {error}")
    return 1 if bench.errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--skip-big", action="store_true", help="skip the 1M-signature letter")
    parser.add_argument("--duration", type=int, help="seconds of signing (BENCH_DURATION)")
    parser.add_argument("--users", type=int, help="concurrent signers (BENCH_USERS)")
    args = parser.parse_args()
    settings = Settings.from_environment(args)
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "logs").mkdir(parents=True)
    bench = Bench(settings)

    def stop_on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGINT too: a shell that starts this in the background leaves SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    try:
        with phase(bench, "markdown_worst"):
            bench.results["markdown_worst"] = markdown_worst.measure_in_subprocess()
        with phase(bench, "trustlog"):
            bench.results["trustlog"] = trustlog_bench.measure_in_subprocess()
        bench.set_up()
        steps: list[tuple[str, Callable[[], None]]] = [
            ("signing", bench.sign),
            ("read_path", bench.read_path),
        ]
        if settings.big_rows > 0:
            steps.append(("big_letter", bench.big_letter))
        for name, step in steps:
            with phase(bench, name):
                step()
    except KeyboardInterrupt:
        say("interrupted; stopping everything this run started")
        bench.errors.append("interrupted")
    except Exception as exc:
        bench.errors.append(f"set-up: {exc}")
        say(f"set-up FAILED: {exc}")
    finally:
        bench.processes.stop_all()
        bench.sink.stop()
        if bench.db is not None:
            bench.db.close()
    return finish(bench)


if __name__ == "__main__":
    sys.exit(main())
