"""The trust log's costs: CPU per appended signature, and `verify_log` on a 1,000,000-entry log.

    python bench/trustlog.py [--entries N]    # one JSON line; `make bench` records it too

1. Append, through the site's own code: a throwaway SQLite database is migrated, a letter
   gets BENCH_TRUSTLOG_SIGNATURES confirmed signatures, and `log_signatures_record` (what
   the tally calls in its batch) appends them in batches of 1,000; the process CPU time
   per signature is the figure (target: under 1 ms).
2. Verify: a log of N entries (1,000,000 by default) is built in memory with the same
   functions (entry JSON, leaf hashes, tiles), signed, and served over HTTP from this
   process; the auditor's check (`trustlog.verify.log_verify`, as `verify_log` runs it:
   checkpoint signature, every entry bundle, root, every hash tile) is timed from start to
   end (target: under 30 s).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPEND_SIGNATURES = int(os.environ.get("BENCH_TRUSTLOG_SIGNATURES", "") or 5000)
ORIGIN = "bench.example/letters/fair-terms"


def measure_in_subprocess(entries: int = 1_000_000) -> dict[str, object]:
    """Run this file in its own interpreter (it sets up Django on a throwaway database)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--entries", str(entries)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench/trustlog.py failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _django(database: Path) -> None:
    # This file is bench/trustlog.py: the package of the same name is found only once the
    # project's root comes first on the path.
    sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY="bench-trustlog-" + "x" * 40,
        DATABASE_URL=f"sqlite:///{database}",
        LOG_LEVEL="WARNING",
    )
    for name in ("REDIS_URL", "EMAIL_URL", "LOG_SIGNING_KEY"):
        os.environ.pop(name, None)
    import django

    django.setup()


def measure_append(count: int) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from letters.models import Letter
    from petition.models import Signature
    from trustlog import services

    call_command("migrate", verbosity=0)
    letter = Letter.objects.create(
        slug="fair-terms",
        title="Bench",
        body="x",
        status=Letter.Status.OPEN,
        published_at=timezone.now(),
    )
    now = timezone.now()
    Signature.objects.bulk_create(
        Signature(
            letter=letter, name=f"S {i}", email=f"s{i}@example.org", email_normalized=f"s{i}@example.org",
            status=Signature.Status.VERIFIED, verified_at=now,
        )
        for i in range(count)
    )  # fmt: skip
    ids = list(Signature.objects.filter(letter=letter).order_by("pk").values_list("pk", flat=True))
    services.log_checkpoint_soon = lambda: None  # the append alone is measured
    started_cpu, started = time.process_time(), time.perf_counter()
    for start in range(0, len(ids), 1000):
        with transaction.atomic():
            services.log_signatures_record(added=ids[start : start + 1000], removed=[])
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    return {
        "signatures": count,
        "cpu_ms_per_signature": round(1000 * cpu / count, 4),
        "wall_ms_per_signature": round(1000 * wall / count, 4),
    }


def build_log(entries: int) -> tuple[dict[str, bytes], float]:
    """A signed log of `entries` entries as the site would serve it, path -> body."""
    from trustlog import merkle
    from trustlog.note import Checkpoint, note_sign, signer_generate
    from trustlog.services import entry_encode

    started = time.process_time()
    files: dict[str, bytes] = {}
    tiles: dict[merkle.TileKey, bytearray] = {}
    size = 0
    bundle: list[bytes] = []
    for i in range(entries):
        # One remove for every tenth signature, as withdrawals and invalidations would.
        removing = i % 10 == 9
        signature = f"{(i - 1 if removing else i):024x}"
        entry = entry_encode(
            event="remove" if removing else "add", signature=signature, version=1,
            at="2026-03-01T09:30:12Z", commitment="pZ1uYl3Hq2xWcJt0o9YbRkq5yL1o8m2sQ3eX5bD0aBc=",
        )  # fmt: skip
        bundle.append(entry)
        size = merkle.tiles_append(tiles, size, [merkle.leaf_hash(entry)])
        if len(bundle) == merkle.TILE_WIDTH or i == entries - 1:
            files[merkle.tile_path("entries", i // merkle.TILE_WIDTH, len(bundle))] = (
                merkle.bundle_encode(bundle)
            )
            bundle = []
    for level, index, width in merkle.tiles_for_size(size):
        files[merkle.tile_path(level, index, width)] = bytes(
            tiles[(level, index)][: width * merkle.HASH_SIZE]
        )
    signer = signer_generate("bench.example")
    root = merkle.tree_root(merkle.tile_reader(tiles), size)
    text = Checkpoint(origin=ORIGIN, size=size, root=root).text()
    files["checkpoint"] = note_sign(text, signer.renamed(ORIGIN)).encode()
    files["key"] = signer.verifier.line().encode()
    return files, time.process_time() - started


def serve(files: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        disable_nagle_algorithm = (
            True  # headers and body leave at once, as a real server sends them
        )

        def do_GET(self) -> None:
            body = files.get(self.path.removeprefix("/letters/fair-terms/log/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default 5 drops parallel connections for a second

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure_verify(entries: int) -> dict[str, float]:
    from trustlog.note import verifier_parse
    from trustlog.verify import http_fetcher, log_verify

    files, build_cpu = build_log(entries)
    server = serve(files)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/letters/fair-terms/log"
        started_cpu, started = time.process_time(), time.perf_counter()
        report = log_verify(
            http_fetcher(base), origin=ORIGIN, verifier=verifier_parse(files["key"].decode())
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    finally:
        server.shutdown()
        server.server_close()
    assert report.checkpoint.size == entries and report.adds + report.removes == entries
    return {
        "entries": entries,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "count": report.count,
        "tiles_checked": report.tiles_checked,
        "megabytes": round(sum(len(v) for v in files.values()) / 1e6, 1),
        "build_cpu_us_per_entry": round(1e6 * build_cpu / entries, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--signatures", type=int, default=APPEND_SIGNATURES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-trustlog-") as scratch:
        _django(Path(scratch) / "bench.sqlite3")
        results = {
            "append": measure_append(args.signatures),
            "verify": measure_verify(args.entries),
        }
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
