"""A letter with a million verified signatures: bulk load, tally, reads, export, reconcile."""

import io
import os
import random
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

SLUG = "big-letter"
COPY_COLUMNS = (
    "letter_id", "name", "email", "email_normalized", "title", "organization", "city",
    "country", "comment", "show_name", "status", "created_at", "verified_at", "ip_address",
    "emails_sent", "shadow_reason", "counted", "email_domain", "ip_key", "name_key",
    "moderation", "flags", "show_comment", "comment_hidden", "show_affiliation_anonymously",
    "version", "language", "affiliation_domain", "affiliation_verification", "keep_name",
)  # fmt: skip
COUNTRIES = [
    "FR", "DE", "ES", "IT", "NL", "BE", "PL", "PT", "SE", "DK", "FI", "IE", "GB", "US", "CA",
    "BR", "MX", "NG", "IN", "JP",
]  # fmt: skip
CITIES = ["Lyon", "Berlin", "Madrid", "Turin", "Utrecht", "Ghent", "Kraków", "Porto", ""]
LETTER_FILE = """---
title: "A letter with a great many signatures"
slug: big-letter
recipient: "Everyone who reads benchmarks"
goal: 2000000
status: open
fields: [title, organization, city, country]
---
This letter exists so that the benchmark suite can measure pages, counts, the public
list and the CSV export of a letter that a million people have signed.
"""

ManageFn = Callable[..., subprocess.CompletedProcess[str]]


def write_letter_file(directory: Path) -> Path:
    path = directory / "big-letter.md"
    path.write_text(LETTER_FILE, encoding="utf-8")
    return path


def check_columns(conn: psycopg.Connection) -> None:
    """Fail clearly if the table gained a required column this loader does not fill."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = "
        "'petition_signature' AND is_nullable = 'NO' AND column_default IS NULL"
    ).fetchall()
    missing = {name for (name,) in rows} - {"id", *COPY_COLUMNS}
    if missing:
        raise RuntimeError(
            f"petition_signature has required columns the bulk loader does not fill: "
            f"{sorted(missing)}; add them to COPY_COLUMNS in bench/bigletter.py"
        )


def _rows(letter_id: int, count: int, start: int, stop: int, rng: random.Random) -> str:
    """Tab-separated COPY text for signatures start..stop of count, spread over 30 days."""
    now = datetime.now(UTC)
    first = now - timedelta(days=30)
    span = (now - first).total_seconds() - 3600
    buffer = io.StringIO()
    write = buffer.write
    for i in range(start, stop):
        created = first + timedelta(seconds=span * i / count + rng.random())
        verified = created + timedelta(seconds=30 + rng.random() * 1800)
        shown = "t" if rng.random() < 0.8 else "f"
        country = COUNTRIES[rng.randrange(len(COUNTRIES))]
        city = CITIES[rng.randrange(len(CITIES))]
        address = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        address_key = f"{0xFFFF0A000000 | (i & 0xFFFFFF):032x}"
        write(
            f"{letter_id}\tSigner {i:07d}\tsigner{i}@example.org\tsigner{i}@example.org\t"
            f"\t\t{city}\t{country}\t\t{shown}\tverified\t{created.isoformat()}\t"
            f"{verified.isoformat()}\t{address}\t1\t\tf\texample.org\t{address_key}\t"
            f"signer {i:07d}\t\t\tf\tf\tf\t1\ten\t\t\tf\n"
        )
    return buffer.getvalue()


def bulk_load(conn: psycopg.Connection, letter_id: int, count: int) -> dict[str, float]:
    """COPY `count` verified, not yet counted signatures into the letter; returns timings."""
    check_columns(conn)
    rng = random.Random(20241126)  # noqa: S311 (made-up rows, not secrets)
    started = time.perf_counter()
    chunk = 50_000
    with (
        conn.transaction(),
        conn.cursor() as cursor,
        cursor.copy(f"COPY petition_signature ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for start in range(0, count, chunk):
            copy.write(_rows(letter_id, count, start, min(count, start + chunk), rng))
    copied = time.perf_counter()
    conn.execute("ANALYZE petition_signature")
    return {
        "rows": count,
        "copy_seconds": round(copied - started, 1),
        "analyze_seconds": round(time.perf_counter() - copied, 1),
    }


def timed_shell(manage: ManageFn, code: str, timeout: float) -> dict[str, object]:
    """Run Python in `manage.py shell`, which prints one `BENCH <seconds> <result>` line."""
    started = time.perf_counter()
    done = manage("shell", "-c", code, timeout=timeout)
    wall = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            _, seconds, result = line.split(" ", 2)
            return {"seconds": round(float(seconds), 1), "result": result, "wall_seconds":
                    round(wall, 1)}  # fmt: skip
    raise RuntimeError(f"no result from manage.py shell: {done.stdout[-500:]} {done.stderr[-500:]}")


TALLY_CODE = """
import time
from petition.counting import tally_apply
started = time.perf_counter()
moved = tally_apply(batch_size=20000, max_batches=1000)
print("BENCH", time.perf_counter() - started, moved)
"""

RECONCILE_CODE = """
import time
from petition.counting import tally_reconcile
started = time.perf_counter()
repaired = tally_reconcile()
print("BENCH", time.perf_counter() - started, repaired)
"""

# The moderation queue on the big letter: median of a few runs of each read a moderator
# makes (first page, a page half a million rows deep, filters, searches) and the
# invalidation preview counts, in milliseconds.
MODERATION_CODE = """
import json, statistics, time
from letters.models import Letter
from petition.moderation.services import InvalidationCriteria, invalidation_preview
from petition.selectors import moderation_queue
letter = Letter.objects.get(slug="big-letter")
deep = letter.signatures.order_by("-pk").values_list("pk", flat=True)[500000:500001]
deep = deep[0] if deep else None
def ms(fn, n=5):
    fn()
    runs = []
    for _ in range(n):
        t = time.perf_counter(); fn(); runs.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(runs), 1)
out = {
    "first_page_ms": ms(lambda: moderation_queue(letter=letter)),
    "deep_page_ms": ms(lambda: moderation_queue(letter=letter, before=deep)),
    "flagged_ms": ms(lambda: moderation_queue(letter=letter, state="flagged")),
    "awaiting_ms": ms(lambda: moderation_queue(letter=letter, state="awaiting")),
    "domain_search_ms": ms(lambda: moderation_queue(letter=letter, search="@example.org")),
    "name_search_ms": ms(lambda: moderation_queue(letter=letter, search="signer 0999"), n=3),
    "preview_cidr_ms": ms(lambda: invalidation_preview(
        letter=letter, criteria=InvalidationCriteria(cidr="10.1.0.0/16").cleaned()), n=3),
    "preview_domain_ms": ms(lambda: invalidation_preview(
        letter=letter, criteria=InvalidationCriteria(domain="example.org").cleaned()), n=3),
}
started = time.perf_counter()
print("BENCH", time.perf_counter() - started, json.dumps(out))
"""


def export_csv(
    command: list[str], *, env: dict[str, str], cwd: Path, output: Path, log: Path, timeout: float
) -> dict[str, object]:
    """Run the export command; wall seconds, data rows written, and the peak RSS the kernel
    recorded for the process (wait4's ru_maxrss: no sampling, nothing missed)."""
    started = time.perf_counter()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    result: dict[str, object] = {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "exit_code": process.returncode,
    }
    if process.returncode != 0:
        result["error"] = log.read_text(errors="replace").strip()[-500:]
    elif output.exists():
        with output.open("rb") as handle:
            lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
        result["rows"] = max(0, lines - 1)
        result["file_mb"] = round(output.stat().st_size / 1e6, 1)
    return result
