"""Read-path measurements: wrk for throughput, sequential timed GETs for latency."""

import http.client
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from stats import percentile


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    ms: float


def http_get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 30) -> Answer:
    """One GET on a fresh connection, timed from connect to the last byte."""
    parts = urlsplit(url)
    start = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers=headers or {})  # fmt: skip
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    ms = (time.perf_counter() - start) * 1000
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body, ms)


def timed_gets(url: str, count: int = 50) -> dict[str, object]:
    """`count` sequential GETs after one warm-up; p50/p99/max in ms and any non-200."""
    warm = http_get(url)
    times, statuses = [], {}
    for _ in range(count):
        answer = http_get(url)
        times.append(answer.ms)
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    return {
        "url": urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else ""),
        "status": warm.status,
        "requests": count,
        "first_ms": round(warm.ms, 1),
        "p50_ms": round(percentile(times, 50), 1),
        "p99_ms": round(percentile(times, 99), 1),
        "max_ms": round(max(times), 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "bytes": len(warm.body),
    }


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
LATENCY_LINE = re.compile(
    r"^\s*Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)"
)
PERCENTILE_LINE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$")


def parse_wrk(output: str) -> dict[str, object]:
    """The figures of wrk's report: requests/s, latency avg/stdev/max and percentiles (ms),
    socket errors and responses that were not 2xx or 3xx."""
    result: dict[str, object] = {}
    percentiles: dict[str, float] = {}
    for line in output.splitlines():
        if match := re.match(r"^Requests/sec:\s+([\d.]+)", line):
            result["requests_per_second"] = float(match.group(1))
        elif match := LATENCY_LINE.match(line):
            values = [float(match.group(i)) * UNITS[match.group(i + 1)] for i in (1, 3, 5)]
            result["latency_avg_ms"], result["latency_stdev_ms"], result["latency_max_ms"] = (
                round(v, 3) for v in values
            )
        elif match := PERCENTILE_LINE.match(line):
            percentiles[f"p{match.group(1)}_ms"] = round(
                float(match.group(2)) * UNITS[match.group(3)], 3
            )
        elif match := re.match(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", line):
            result["requests"] = int(match.group(1))
        elif match := re.match(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", line):
            result["non_2xx_3xx"] = int(match.group(1))
        elif match := re.match(
            r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", line
        ):
            result["socket_errors"] = dict(
                zip(("connect", "read", "write", "timeout"), map(int, match.groups()), strict=True)
            )
    result.update(percentiles)
    result.setdefault("non_2xx_3xx", 0)
    return result


def wrk(url: str, *, threads: int, connections: int, seconds: int) -> dict[str, object]:
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s",
        url,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = parse_wrk(run.stdout)
    result["command"] = " ".join(command)
    # wrk shares the cores it measures; what it used is part of the picture.
    result["wrk_cpu_seconds"] = round(
        after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2
    )
    if run.returncode != 0 or "requests_per_second" not in result:
        result["error"] = (run.stderr or run.stdout).strip()[-500:] or f"exit {run.returncode}"
    return result


def wrk_available() -> bool:
    return shutil.which("wrk") is not None
