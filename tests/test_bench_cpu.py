"""The benchmark's CPU accounting (bench/processes.py) and how the docs show CPU per
verified signature (docs/hooks.py). The figures themselves come from `make bench`."""

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


processes = _load("bench_processes", ROOT / "bench" / "processes.py")


@pytest.mark.parametrize(
    ("title", "database"),
    [
        ("postgres: 15/main: postgres undersigned_bench 127.0.0.1(5432) idle", "undersigned_bench"),
        ("postgres: postgres test_h5 127.0.0.1(40112) SELECT", "test_h5"),
        ("postgres: 15/main: checkpointer", None),
        ("postgres: walwriter", None),
        ("postgres: 15/main: autovacuum worker undersigned_bench", "undersigned_bench"),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", None),
    ],
)
def test_postgres_processes_are_told_apart_by_the_database_they_serve(
    title: str, database: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "proc" / "77").mkdir(parents=True)
    (tmp_path / "proc" / "77" / "cmdline").write_bytes(title.replace(" ", "\0").encode())
    real_path = processes.Path
    monkeypatch.setattr(
        processes, "Path", lambda p: real_path(str(tmp_path) + p) if p.startswith("/proc") else p
    )
    assert processes.postgres_database("77") == database


def test_cpu_seconds_count_processes_that_started_in_between_from_zero() -> None:
    snapshot = processes.CpuSnapshot
    before = snapshot(1.0, {(1, 10): ("gunicorn", "gunicorn", 5.0)}, ["gunicorn", "worker"], 0, 0)
    after = snapshot(
        3.0,
        {(1, 10): ("gunicorn", "gunicorn", 7.5), (2, 20): ("worker", "celery", 1.25)},
        ["gunicorn", "worker"],
        0,
        0,
    )
    assert processes.cpu_seconds(before, after) == {"gunicorn": 2.5, "worker": 1.25}


def test_benchmark_page_shows_cpu_per_verified_signature(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    results.write_text(
        json.dumps(
            {
                "cpu_per_verified_signature": {
                    "signatures_counted": 5000,
                    "window_seconds": 75.0,
                    "cpu_seconds": 90.0,
                    "ms": 18.0,
                    "by_process_ms": {"gunicorn": 12.0, "worker": 4.0, "postgresql": 2.0},
                    "per_core_second": 55.6,
                },
                "database_per_verified_signature": {
                    "commits": 6.5,
                    "rows_inserted": 4.0,
                    "rows_updated": 5.25,
                    "rows_deleted": 0.0,
                },
            }
        ),
        encoding="utf-8",
    )
    text = _load("docs_hooks_cpu", ROOT / "docs" / "hooks.py").bench_markdown(results)
    assert "**18.0 ms per signature**" in text
    assert "55.6 signatures per core-second" in text
    assert "| gunicorn | 12.0 ms |" in text
    assert "6.5 commits, 4.0 rows inserted, 5.2 updated, 0.0 deleted" in text
