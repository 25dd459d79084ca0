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
# core.normalize.name_key reads these digits as the letters they look like.
NAME_KEY_DIGITS = str.maketrans("01", "ol")
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
            f"{f'signer {i:07d}'.translate(NAME_KEY_DIGITS)}\t\t\tf\tf\tf\t1\ten\t\t\tf\n"
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

# The moderation pages of the big letter, fetched through Django's test Client as a
# logged-in moderator (middleware, permissions, the page's every query and its template):
# p50 and p99 of each view a moderator opens (the queue's first and a deep page, each state
# filter, searches, the invalidation preview with its breakdowns), then an "all matching"
# action on the 100,000 rows a name search shows, run through the same form, service and
# task as the page (the task run here as the worker would, the job's progress read off its
# page while it runs), and its undo, so the letter ends as it began.
MODERATION_CODE = """
import json, re, statistics, threading, time
from urllib.parse import urlsplit
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from accounts.models import User
from petition import tasks
from letters.models import AuditEntry, Letter, LetterRole
from petition.moderation.forms import STATE_LABELS
from petition.models import Signature

letter = Letter.objects.get(slug="big-letter")
moderator, _ = User.objects.get_or_create(email="bench-moderator@example.org")
LetterRole.objects.get_or_create(letter=letter, user=moderator, defaults={"role": "moderator"})
host = urlsplit(settings.SITE_URL).netloc
def logged_in():
    client = Client(HTTP_HOST=host)
    client.force_login(moderator)
    return client
client = logged_in()
rows = letter.signatures.count()
deep = letter.signatures.order_by("-pk").values_list("pk", flat=True)[rows // 2:rows // 2 + 1]
deep = deep[0] if deep else 1
queue = reverse("moderation_queue", args=[letter.slug])
invalidate = reverse("moderation_invalidate", args=[letter.slug])

def timed(fetch, runs=30, budget=8.0):
    response = fetch()
    samples = []
    started = time.perf_counter()
    while len(samples) < runs and (len(samples) < 5 or time.perf_counter() - started < budget):
        t = time.perf_counter()
        response = fetch()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {
        "status": response.status_code,
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))], 1),
        "runs": len(samples),
    }

views = {
    "queue_first_page": lambda: client.get(queue),
    "queue_deep_page": lambda: client.get(queue, {"before": deep}),
    **{f"queue_{state}": (lambda state=state: client.get(queue, {"state": state}))
       for state in STATE_LABELS if state != "all"},
    "search_domain": lambda: client.get(queue, {"q": "@example.org"}),
    "search_domain_deep_page": lambda: client.get(queue, {"q": "@example.org", "before": deep}),
    "search_name_recent": lambda: client.get(queue, {"q": "signer 0999"}),
    "search_name_one_old": lambda: client.get(queue, {"q": "signer 0012345"}),
    "search_name_none": lambda: client.get(queue, {"q": "nobody by this name"}),
    "invalidate_form": lambda: client.get(invalidate),
    "preview_domain": lambda: client.post(invalidate, {"domain": "example.org", "preview": "1"}),
    "preview_domain_absent": lambda: client.post(
        invalidate, {"domain": "flood.example", "preview": "1"}),
    "preview_cidr": lambda: client.post(invalidate, {"cidr": "10.1.0.0/16", "preview": "1"}),
    "preview_name_pattern": lambda: client.post(
        invalidate, {"name_pattern": "signer 00*", "preview": "1"}),
    "audit_log": lambda: client.get(reverse("moderation_log", args=[letter.slug])),
}
out = {name: timed(fetch) for name, fetch in views.items()}
# Acting on more than the pages count takes one exact count first (not a page one reads).
out["confirm_invalidation_exact_count"] = timed(lambda: client.post(invalidate, {
    "domain": "example.org", "confirm": "1", "expected": "1", "more": "1"}), runs=3)
t = time.perf_counter()
csv = client.get(reverse("moderation_invalidate_csv", args=[letter.slug]), {"cidr": "10.1.0.0/16"})
lines = sum(chunk.count(b"\\n") for chunk in csv.streaming_content)
out["preview_csv_cidr"] = {"status": csv.status_code, "seconds": round(time.perf_counter() - t, 2),
                           "rows": max(0, lines - 1)}

# "All matching": the queue filtered by a name search showing min(100,000, rows) signatures.
search = "signer 00"
before = AuditEntry.objects.filter(letter=letter).order_by("-pk").values_list("pk", flat=True)
before = before.first() or 0
seen = []
running = threading.Event()
running.set()
def watch():
    watcher = logged_in()
    while running.is_set():
        entry = AuditEntry.objects.filter(letter=letter, pk__gt=before).order_by("-pk").first()
        if entry is not None:
            page = watcher.get(reverse("moderation_entry", args=[letter.slug, entry.pk]))
            shown = re.search(rb'<progress[^>]* value="(\\d+)"', page.content)
            if shown:
                seen.append((round(time.perf_counter() - started, 2), int(shown.group(1))))
        time.sleep(0.5)
    connection.close()
page = client.get(queue, {"q": search}).content.decode()
hidden = dict(re.findall(r'<input type="hidden" name="(\\w+)" value="([^"]*)"', page))
fields = {name: hidden[name] for name in ("state", "q", "expected", "up_to", "more") if name in hidden}
expected = fields.get("expected", "0")
bulk = reverse("moderation_bulk", args=[letter.slug])
watcher = threading.Thread(target=watch)
started = time.perf_counter()
watcher.start()
response = client.post(bulk, fields | {"scope": "matching", "action": "invalidate",
                                       "note": "bench"})
confirm_seconds = None
if response.status_code == 200:
    # The confirmation step: it counts exactly and says how many the job will touch.
    confirm_seconds = round(time.perf_counter() - started, 2)
    form = response.content.decode().partition('class="confirm-matching"')[2]
    fields = dict(re.findall(r'<input type="hidden" name="(\\w+)" value="([^"]*)"',
                             form.partition("</form>")[0]))
    response = client.post(bulk, fields)
entry = AuditEntry.objects.filter(letter=letter, pk__gt=before).order_by("-pk").first()
if entry is not None and entry.state == "running":
    # What the worker would do with the task the page queued (the worker is stopped here;
    # the queued copy finds the job done and does nothing). The tally it nudges is not run.
    tasks.invalidation_run.apply(args=[entry.pk])
seconds = time.perf_counter() - started
running.clear()
watcher.join()
entry = AuditEntry.objects.filter(letter=letter, pk__gt=before).order_by("-pk").first()
job = {
    "filter": search,
    "shown_on_page": int(expected),
    "confirm_step_seconds": confirm_seconds,
    "response": response.status_code,
    "state": entry.state if entry else None,
    "changed": entry.signature_count if entry else 0,
    "seconds": round(seconds, 1),
    # What the job's page showed while it ran: (seconds since the POST, signatures done).
    "progress_shown": seen[:: max(1, len(seen) // 10)],
    "progress_reported": bool(entry) and any(0 < v < entry.signature_count for _, v in seen),
}
t = time.perf_counter()
if entry is not None:
    client.post(reverse("moderation_undo", args=[letter.slug, entry.pk]))
    tasks.audit_undo_run.apply(args=[entry.pk])
    entry.refresh_from_db()
job["undo_seconds"] = round(time.perf_counter() - t, 1)
job["undo_state"] = entry.state if entry else None
job["left_invalidated"] = letter.signatures.filter(moderation="invalidated").count()
# The job and its undo rewrote 200,000 rows: vacuum, so the export and reconcile after
# this read the table as they would have without it.
t = time.perf_counter()
with connection.cursor() as cursor:
    cursor.execute("VACUUM (ANALYZE) petition_signature")
job["vacuum_after_seconds"] = round(time.perf_counter() - t, 1)
out["all_matching_job"] = job
print("BENCH", 0, json.dumps(out))
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
