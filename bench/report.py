"""The benchmark's outputs: targets, the summary table, latest.json and latest.png."""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # where the figure is in the results, dotted
    unit: str
    goal: str  # as the reader sees it
    check: str  # ">=", "<", "==" or "true"
    limit: float = 0.0


# Each moderation page of the big letter, as bench/bigletter.py names it, and what it shows.
MODERATION_VIEWS = {
    "queue_first_page": "queue, first page",
    "queue_deep_page": "queue, page half the letter deep",
    "queue_pending": "queue, pending",
    "queue_verified": "queue, verified",
    "queue_awaiting": "queue, awaiting approval",
    "queue_held": "queue, held",
    "queue_flagged": "queue, flagged",
    "queue_hidden": "queue, hidden",
    "queue_rejected": "queue, rejected",
    "queue_invalidated": "queue, invalidated",
    "queue_shadow": "queue, shadow-banned",
    "search_domain": "queue, search by domain",
    "search_domain_deep_page": "queue, search by domain, deep page",
    "search_name_recent": "queue, search by name (recent)",
    "search_name_one_old": "queue, search by name (one, old)",
    "search_name_none": "queue, search by name (none)",
    "invalidate_form": "invalidation form",
    "preview_domain": "invalidation preview, domain of all",
    "preview_domain_absent": "invalidation preview, domain of none",
    "preview_cidr": "invalidation preview, a /16",
    "preview_name_pattern": "invalidation preview, name pattern",
    "audit_log": "audit log",
}
MODERATION_TARGETS = [
    *(
        Target(f"1M moderation: {label}, p50", f"big_letter.moderation_queue.{name}.p50_ms",
               "ms", "< 50 ms", "<", 50)
        for name, label in MODERATION_VIEWS.items()
    ),
    Target("1M all matching, 100,000 signatures", "big_letter.moderation_queue.all_matching_job.seconds",
           "s", "< 60 s", "<", 60),
    Target("1M all matching, progress shown while it ran",
           "big_letter.moderation_queue.all_matching_job.progress_reported", "", "yes", "true"),
]  # fmt: skip

TARGETS = [
    Target("signing, accepted per second", "signing.per_second", "/s", ">= 300/s", ">=", 300),
    Target("signing p99 latency", "signing.p99_ms", "ms", "< 300 ms", "<", 300),
    Target(
        "signed, emailed and confirmed, per second",
        "confirming.end_to_end_per_second",
        "/s",
        ">= 180/s",
        ">=",
        180,
    ),
    Target("email delay, median", "email.delay_p50_s", "s", "< 10 s", "<", 10),
    Target("emails lost", "email.lost", "", "0", "==", 0),
    Target("emails duplicated", "email.duplicated", "", "0", "==", 0),
    Target("count exact after load", "count_convergence.exact", "", "yes", "true"),
    Target("count exact within", "count_convergence.seconds", "s", "< 10 s", "<", 10),
    Target(
        "count.json throughput",
        "read_path.count_json.requests_per_second",
        "req/s",
        ">= 2000 req/s",
        ">=",
        2000,
    ),
    Target(
        "count.json / static file rate",
        "read_path.count_to_trivial_ratio",
        "",
        ">= 0.5",
        ">=",
        0.5,
    ),
    Target("1M letter page p50", "big_letter.reads.letter_page.p50_ms", "ms", "< 50 ms", "<", 50),
    Target("1M count.json p50", "big_letter.reads.count_json.p50_ms", "ms", "< 50 ms", "<", 50),
    Target("1M CSV export peak RSS", "big_letter.export.peak_rss_mb", "MB", "< 150 MB", "<", 150),
    *MODERATION_TARGETS,
    Target(
        "Markdown worst accepted text, render",
        "markdown_worst.max_accepted_render_ms",
        "ms",
        "< 100 ms",
        "<",
        100,
    ),
    Target(
        "trust log append, CPU per signature",
        "trustlog.append.cpu_ms_per_signature",
        "ms",
        "< 1 ms",
        "<",
        1,
    ),
    Target("verify_log, 1M-entry log", "trustlog.verify.seconds", "s", "< 30 s", "<", 30),
]


def dig(results: dict[str, Any], path: str) -> Any:
    value: Any = results
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def judge(target: Target, value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if target.check == "true":
        return bool(value)
    if target.check == ">=":
        return value >= target.limit
    if target.check == "<":
        return value < target.limit
    return value == target.limit


def big_label(results: dict[str, Any]) -> str:
    """How the big letter is named in the table: "1M" by default, else its real size."""
    rows = dig(results, "big_letter.rows") or dig(results, "settings.big_rows") or 0
    if not rows:
        return "big letter"
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    return f"{rows // 1000}k" if rows >= 1000 and rows % 1000 == 0 else str(rows)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    label = big_label(results)
    for target in TARGETS:
        value = dig(results, target.path)
        rows.append(
            {
                "name": target.name.replace("1M ", f"{label} ", 1),
                "value": value,
                "unit": target.unit,
                "target": target.goal,
                "met": judge(target, value),
            }
        )
    return rows


def _show(value: Any, unit: str) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value} {unit}".strip() if unit not in {"", "/s"} else f"{value}{unit}"


def summary_table(results: dict[str, Any]) -> str:
    rows = [("figure", "result", "target", "")]
    for row in results.get("targets", []):
        verdict = {True: "ok", False: "MISSED", None: "-"}[row["met"]]
        rows.append((row["name"], _show(row["value"], row["unit"]), row["target"], verdict))
    extra = _extra_rows(results)
    widths = [max(len(r[i]) for r in rows + extra) for i in range(4)]
    line = "+".join("-" * (w + 2) for w in widths)

    def fmt(row: tuple[str, ...]) -> str:
        return "|".join(f" {cell:<{w}} " for cell, w in zip(row, widths, strict=True))

    out = [fmt(rows[0]), line, *(fmt(r) for r in rows[1:])]
    if extra:
        out += [line, *(fmt(r) for r in extra)]
    return "\n".join(out)


def _extra_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Figures without a target that a reader wants beside the others."""
    rows = []

    label = big_label(results)

    def add(name: str, path: str, unit: str) -> None:
        value = dig(results, path)
        if value is not None:
            rows.append((name.replace("1M ", f"{label} ", 1), _show(value, unit), "", ""))

    add("CPU per verified signature", "cpu_per_verified_signature.ms", "ms")
    for name in ("gunicorn", "worker", "beat", "postgresql", "redis"):
        add(f"  of which {name}", f"cpu_per_verified_signature.by_process_ms.{name}", "ms")
    add("verified signatures per core-second", "cpu_per_verified_signature.per_core_second", "")
    add("  PostgreSQL commits per signature", "database_per_verified_signature.commits", "")
    add("  rows inserted per signature", "database_per_verified_signature.rows_inserted", "")
    add("  rows updated per signature", "database_per_verified_signature.rows_updated", "")
    add("  Redis commands per signature", "redis_commands_per_verified_signature", "")
    add("signing p50 latency", "signing.p50_ms", "ms")
    add("signing errors", "signing.errors", "")
    add("confirmed per second (signing phase)", "confirming.per_second", "/s")
    add("confirmed per second, end to end", "confirming.end_to_end_per_second", "/s")
    add("confirmations (all)", "confirming.ok_total", "")
    add("email delay p99", "email.delay_p99_s", "s")
    add("robots.txt throughput", "read_path.robots_txt.requests_per_second", "req/s")
    add("count.json / robots.txt", "read_path.count_to_trivial_ratio", "")
    add("badge.svg throughput", "read_path.badge_svg.requests_per_second", "req/s")
    add("badge.svg / robots.txt", "read_path.badge_to_trivial_ratio", "")
    add("widget page throughput", "read_path.widget.requests_per_second", "req/s")
    add("widget page / robots.txt", "read_path.widget_to_trivial_ratio", "")
    add("1M tally", "big_letter.tally.seconds", "s")
    add("1M letter page p99", "big_letter.reads.letter_page.p99_ms", "ms")
    add("1M count.json p99", "big_letter.reads.count_json.p99_ms", "ms")
    add("1M API detail p50", "big_letter.reads.api_detail.p50_ms", "ms")
    add("1M signatures page p50", "big_letter.reads.api_signatures.p50_ms", "ms")
    add("1M CSV export", "big_letter.export.seconds", "s")
    for name, label in MODERATION_VIEWS.items():
        add(f"1M moderation: {label}, p99", f"big_letter.moderation_queue.{name}.p99_ms", "ms")
    job = "big_letter.moderation_queue.all_matching_job"
    add("1M all matching: signatures changed", f"{job}.changed", "")
    add("1M all matching: confirmation step", f"{job}.confirm_step_seconds", "s")
    add("1M all matching: undo", f"{job}.undo_seconds", "s")
    add("1M invalidation: exact count before confirming", "big_letter.moderation_queue."
        "confirm_invalidation_exact_count.p50_ms", "ms")  # fmt: skip
    add("1M invalidation preview CSV, a /16", "big_letter.moderation_queue.preview_csv_cidr.seconds",
        "s")  # fmt: skip
    add("1M CSV rows", "big_letter.export.rows", "")
    add("1M reconcile", "big_letter.reconcile.seconds", "s")
    return rows


def write_json(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=False, default=str) + "\n")


def plot(results: dict[str, Any], path: Path) -> None:
    """Two panels over the seconds of the run: throughput, then signing latency."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    signing = dig(results, "signing.series") or []
    confirms = dig(results, "confirming.series") or []
    emails = dig(results, "email.received_per_second") or []
    duration = dig(results, "settings.duration_s") or len(signing)
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    settings = results.get("settings", {})
    figure.suptitle(
        f"Undersigned signing benchmark: {settings.get('signers')} signers, "
        f"{settings.get('confirmers')} confirmers, {duration} s "
        f"({results.get('cpu_count')} cores, {str(results.get('git_commit', ''))[:10]}"
        f"{' with local changes' if results.get('git_dirty') else ''})",
        fontsize=11,
    )
    top.plot([p["t"] for p in signing], [p["ok"] for p in signing], label="signatures accepted (302)",
             color="tab:blue", linewidth=1.8)  # fmt: skip
    top.plot([p["t"] for p in confirms], [p["ok"] for p in confirms], label="signatures confirmed",
             color="tab:green", linewidth=1.2)  # fmt: skip
    top.plot(range(len(emails)), emails, label="emails received", color="tab:orange",
             linewidth=1.0, alpha=0.8)  # fmt: skip
    errors = [p["errors"] for p in signing]
    if any(errors):
        top.plot([p["t"] for p in signing], errors, label="signing errors", color="tab:red")
    top.axhline(300, color="grey", linestyle="--", linewidth=0.8, label="target 300/s")
    top.axvline(duration, color="black", linestyle=":", linewidth=0.8)
    top.set_ylabel("per second")
    top.set_ylim(bottom=0)
    top.legend(loc="upper right", fontsize=8)
    top.grid(alpha=0.3)

    def line(series: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
        points = [(p["t"], p[key]) for p in series if p.get(key) is not None]
        return [t for t, _ in points], [v for _, v in points]

    bottom.plot(*line(signing, "p50_ms"), label="sign p50", color="tab:blue")
    bottom.plot(*line(signing, "p99_ms"), label="sign p99", color="tab:purple")
    bottom.axhline(300, color="grey", linestyle="--", linewidth=0.8, label="target p99 300 ms")
    bottom.axvline(duration, color="black", linestyle=":", linewidth=0.8)
    bottom.set_ylabel("latency of the sign POST (ms)")
    bottom.set_xlabel("seconds since signing started (dotted line: signing stops)")
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper right", fontsize=8)
    bottom.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
