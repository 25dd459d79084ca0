"""Percentiles and per-second series from the load generator's request records."""

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Request:
    what: str  # page, sign, confirm_page, confirm
    start: float  # epoch seconds
    ms: float
    outcome: str  # "ok" or the kind of error

    @property
    def end(self) -> float:
        return self.start + self.ms / 1000


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rounded(value: float, digits: int = 1) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def read_requests(path: Path) -> list[Request]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Request(row[0], float(row[1]), float(row[2]), row[3])
            for row in csv.reader(handle)
            if len(row) == 4
        ]


def summarize(requests: Iterable[Request], seconds: float) -> dict[str, object]:
    """Successes per second over `seconds`, latency percentiles, and errors by kind."""
    requests = list(requests)
    ok = [r.ms for r in requests if r.outcome == "ok"]
    errors = Counter(r.outcome for r in requests if r.outcome != "ok")
    all_ms = [r.ms for r in requests]
    return {
        "requests": len(requests),
        "ok": len(ok),
        "per_second": round(len(ok) / seconds, 1) if seconds > 0 else None,
        "p50_ms": rounded(percentile(ok, 50)),
        "p90_ms": rounded(percentile(ok, 90)),
        "p99_ms": rounded(percentile(ok, 99)),
        "max_ms": rounded(max(all_ms)) if all_ms else None,
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors.most_common()),
    }


def per_second(requests: Iterable[Request], t0: float, seconds: int) -> list[dict[str, object]]:
    """For each second after t0: successes that completed in it, errors, p50/p99 latency."""
    buckets: dict[int, list[Request]] = defaultdict(list)
    for request in requests:
        second = math.floor(request.end - t0)
        if 0 <= second < seconds:
            buckets[second].append(request)
    series = []
    for second in range(seconds):
        bucket = buckets.get(second, [])
        ok = [r.ms for r in bucket if r.outcome == "ok"]
        series.append(
            {
                "t": second,
                "ok": len(ok),
                "errors": len(bucket) - len(ok),
                "p50_ms": rounded(percentile(ok, 50)),
                "p99_ms": rounded(percentile(ok, 99)),
            }
        )
    return series


def counts_per_second(times: Iterable[float], t0: float, seconds: int) -> list[int]:
    counts = [0] * seconds
    for when in times:
        second = math.floor(when - t0)
        if 0 <= second < seconds:
            counts[second] += 1
    return counts
