"""MkDocs hooks: the pages whose facts live elsewhere are written from their source.

- `api.md`: the `<!-- generated:api -->` marker becomes every operation of the live OpenAPI
  document (Django set up with the embedded default settings, then django-ninja's schema).
- `benchmarks.md`: the `<!-- generated:benchmarks -->` marker becomes the tables of
  `bench/results/latest.json`, or a plain sentence when there is no such file.

Both renderers are plain functions, so tests/test_docs.py calls them too.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_RESULTS = ROOT / "bench" / "results" / "latest.json"
BENCH_PLOT = BENCH_RESULTS.with_suffix(".png")
BENCH_PLOT_PAGE = "bench-latest.png"  # where the site serves it
API_MARKER = "<!-- generated:api -->"
BENCH_MARKER = "<!-- generated:benchmarks -->"
IMPORTS_MARKER = "<!-- generated:imports -->"
# The project's own packages, lowest layer first (docs/architecture.md).
APPS = (
    "core",
    "mail",
    "letters",
    "petition",
    "pages",
    "delivery",
    "accounts",
    "trustlog",
    "config",
)
# The top layer below config: these import none of each other.
SIBLINGS = frozenset({"pages", "delivery", "accounts", "trustlog"})


# --- The API reference ------------------------------------------------------------------


def _django_setup() -> None:
    """Django with the embedded default (no secret, no services needed), once."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document exactly as `/api/v1/openapi.json` serves it."""
    _django_setup()
    from django.urls import reverse

    from petition.api import api

    prefix = reverse(f"{api.urls_namespace}:openapi-json").rsplit("/", 1)[0]
    return api.get_openapi_schema(path_prefix=prefix)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _type(document: dict[str, Any], schema: dict[str, Any]) -> str:
    """A short human reading of a JSON schema: `integer`, `string or null`, `list of X`."""
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema:
        return " or ".join(_type(document, option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(document, schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of string to {_type(document, schema['additionalProperties'])}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def _bounds(schema: dict[str, Any]) -> str:
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            found = _bounds(option)
            if found:
                return found
    parts = []
    if "minimum" in schema:
        parts.append(f"≥ {schema['minimum']}")
    if "maximum" in schema:
        parts.append(f"≤ {schema['maximum']}")
    if "minLength" in schema:
        parts.append(f"at least {schema['minLength']} characters")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _schema_table(document: dict[str, Any], name: str) -> list[str]:
    schema = document["components"]["schemas"][name]
    lines = [f"### `{name}`", ""]
    properties = schema.get("properties", {})
    if not properties:
        return [*lines, f"{_type(document, schema)}", ""]
    required = set(schema.get("required", []))
    lines += ["| field | type | always present |", "|---|---|---|"]
    for field, spec in properties.items():
        present = "yes" if field in required else "no"
        lines.append(f"| `{field}` | {_cell(_type(document, spec))} | {present} |")
    return [*lines, ""]


def _referenced(document: dict[str, Any], node: Any, seen: set[str]) -> set[str]:
    """The schema names `node` refers to, directly or through other schemas."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                _referenced(document, document["components"]["schemas"][name], seen)
        for value in node.values():
            _referenced(document, value, seen)
    elif isinstance(node, list):
        for value in node:
            _referenced(document, value, seen)
    return seen


def api_markdown(document: dict[str, Any] | None = None) -> str:
    """Every operation (method, path, parameters with bounds, answers with status codes),
    then every schema an answer refers to."""
    document = document or openapi_document()
    lines = [
        f"The API is **{document['info']['title']}**, version {document['info']['version']}: "
        f"{document['info'].get('description', '')}",
        "",
    ]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            lines += [f"## `{method.upper()} {path}`", ""]
            if operation.get("summary"):
                lines += [f"**{operation['summary']}.**", ""]
            if operation.get("description"):
                lines += [operation["description"], ""]
            parameters = operation.get("parameters", [])
            if parameters:
                lines += [
                    "| parameter | in | type | required | default | bounds | meaning |",
                    "|---|---|---|---|---|---|---|",
                ]
                for parameter in parameters:
                    schema = parameter.get("schema", {})
                    default = schema.get("default")
                    lines.append(
                        "| `{}` | {} | {} | {} | {} | {} | {} |".format(
                            parameter["name"],
                            parameter["in"],
                            _cell(_type(document, schema)),
                            "yes" if parameter.get("required") else "no",
                            "" if default is None else f"`{default}`",
                            _cell(_bounds(schema)),
                            _cell(parameter.get("description", "")),
                        )
                    )
                lines.append("")
            lines += ["| status | meaning | body |", "|---|---|---|"]
            for status, answer in sorted(operation.get("responses", {}).items()):
                content = answer.get("content", {}).get("application/json", {})
                body = _type(document, content["schema"]) if "schema" in content else "none"
                lines.append(f"| {status} | {_cell(answer.get('description', ''))} | {body} |")
            lines.append("")
    names = sorted(_referenced(document, document["paths"], set()))
    if names:
        lines += ["## Schemas", ""]
        for name in names:
            lines += _schema_table(document, name)
    return "\n".join(lines)


# --- The benchmark tables ---------------------------------------------------------------


def _figure(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value} {unit}".strip()


def _get(results: dict[str, Any], path: str) -> Any:
    value: Any = results
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def bench_markdown(path: Path = BENCH_RESULTS) -> str:
    """The tables of the last benchmark run, or a plain note that there is none."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return (
            f"No benchmark results: `{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}` "
            "does not exist yet. Run `make bench` to make it, then build the docs again."
        )
    except (OSError, ValueError) as error:
        return f"The benchmark results in `{path.name}` cannot be read ({error})."
    if not isinstance(results, dict):
        return f"The benchmark results in `{path.name}` are not a JSON object."

    commit = str(results.get("git_commit") or "unknown")[:7]
    dirty = " (with uncommitted changes)" if results.get("git_dirty") else ""
    date = results.get("date", "")
    with contextlib.suppress(TypeError, ValueError):
        date = datetime.fromisoformat(date).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run of commit `{commit}`{dirty} on {date}, {results.get('cpu_count', '?')} cores, "
        f"Python {results.get('python', '?')}, PostgreSQL {results.get('postgresql', '?')}.",
        "",
    ]
    settings = results.get("settings") or {}
    if settings:
        lines += [
            f"Settings: {settings.get('duration_s', '?')} s of signing by "
            f"{settings.get('signers', '?')} signers and {settings.get('confirmers', '?')} "
            f"confirmers; {settings.get('web_workers', '?')} gunicorn workers of "
            f"{settings.get('web_threads', '?')} thread(s); a Celery worker of "
            f"{settings.get('worker_concurrency', '?')} {settings.get('worker_pool', '')} "
            f"process(es); a big letter of {_figure(settings.get('big_rows'))} signatures.",
            "",
        ]

    targets = results.get("targets") or []
    if targets:
        lines += ["### Targets", "", "| figure | target | measured | met |", "|---|---|---|---|"]
        for row in targets:
            met = {True: "yes", False: "**no**", None: "not measured"}[row.get("met")]
            lines.append(
                f"| {row.get('name', '')} | {row.get('target', '')} | "
                f"{_figure(row.get('value'), row.get('unit', ''))} | {met} |"
            )
        lines.append("")

    lines += ["### Signing and confirming", "", "| figure | value |", "|---|---|"]
    for label, key, unit in [
        ("sign POSTs accepted per second", "signing.per_second", "/s"),
        ("sign POST p50 / p99", None, ""),
        ("errors while signing", "signing.errors", ""),
        ("confirmations per second during signing", "confirming.per_second", "/s"),
        (
            "signed, emailed and confirmed, per second end to end",
            "confirming.end_to_end_per_second",
            "/s",
        ),
        ("time to follow the last links after signing stopped", "confirming.drain.seconds", "s"),
        ("email delay p50 / p99", None, ""),
        ("emails lost / duplicated", None, ""),
        ("count exact after the load", "count_convergence.seconds", "s"),
    ]:
        if key is None:
            pairs = {
                "sign POST p50 / p99": ("signing.p50_ms", "signing.p99_ms", "ms"),
                "email delay p50 / p99": ("email.delay_p50_s", "email.delay_p99_s", "s"),
                "emails lost / duplicated": ("email.lost", "email.duplicated", ""),
            }[label]
            first, second, unit = pairs
            value = (
                f"{_figure(_get(results, first), unit)} / {_figure(_get(results, second), unit)}"
            )
        else:
            value = _figure(_get(results, key), unit)
        lines.append(f"| {label} | {value} |")
    lines.append("")

    per_signature = results.get("cpu_per_verified_signature") or {}
    if per_signature.get("ms") is not None:
        lines += [
            "### CPU per verified signature",
            "",
            f"From the start of signing until the count was exact "
            f"({_figure(per_signature.get('window_seconds'), 's')}), the site's processes used "
            f"{_figure(per_signature.get('cpu_seconds'), 's')} of CPU for "
            f"{_figure(per_signature.get('signatures_counted'))} signatures taken all the way "
            f"to counted: **{_figure(per_signature.get('ms'), 'ms')} per signature**, or "
            f"{_figure(per_signature.get('per_core_second'))} signatures per core-second.",
            "",
            "| process | ms per signature |",
            "|---|---|",
        ]
        lines += [
            f"| {name} | {_figure(value, 'ms')} |"
            for name, value in (per_signature.get("by_process_ms") or {}).items()
        ]
        database = results.get("database_per_verified_signature") or {}
        if database:
            lines += [
                "",
                f"PostgreSQL, per signature: {_figure(database.get('commits'))} commits, "
                f"{_figure(database.get('rows_inserted'))} rows inserted, "
                f"{_figure(database.get('rows_updated'))} updated, "
                f"{_figure(database.get('rows_deleted'))} deleted.",
            ]
        commands = results.get("redis_commands_per_verified_signature")
        if commands is not None:
            lines += ["", f"Redis, per signature: {_figure(commands)} commands."]
        lines.append("")

    cpu = results.get("cpu_during_signing") or {}
    shares = {k: v for k, v in cpu.items() if isinstance(v, int | float) and k != "cores"}
    if shares:
        lines += ["### Cores used while signing", "", "| process | cores |", "|---|---|"]
        lines += [f"| {name.replace('_', ' ')} | {value:.2f} |" for name, value in shares.items()]
        lines.append("")

    read_path = results.get("read_path") or {}
    runs = {k: v for k, v in read_path.items() if isinstance(v, dict)}
    if runs:
        lines += [
            "### Read path (wrk)",
            "",
            "| path | requests/s | p50 | p99 | non-2xx/3xx |",
            "|---|---|---|---|---|",
        ]
        for run in runs.values():
            lines.append(
                f"| `{run.get('path', '')}` | {_figure(run.get('requests_per_second'))} | "
                f"{_figure(run.get('p50_ms'), 'ms')} | {_figure(run.get('p99_ms'), 'ms')} | "
                f"{_figure(run.get('non_2xx_3xx'))} |"
            )
        ratios = [f"{k.replace('_', ' ')} {v}" for k, v in read_path.items() if k.endswith("ratio")]
        if ratios:
            lines += ["", "Against the trivial `robots.txt`: " + "; ".join(ratios) + "."]
        lines.append("")

    big = results.get("big_letter") or {}
    if big:
        lines += [
            f"### A letter with {_figure(big.get('rows'))} signatures",
            "",
            "| figure | value |",
            "|---|---|",
            f"| load by `COPY` | {_figure(_get(big, 'load.copy_seconds'), 's')} |",
            f"| tally that counts them | {_figure(_get(big, 'tally.seconds'), 's')} |",
            f"| reconcile | {_figure(_get(big, 'reconcile.seconds'), 's')} |",
            f"| CSV export | {_figure(_get(big, 'export.seconds'), 's')}, peak "
            f"{_figure(_get(big, 'export.peak_rss_mb'), 'MB')} |",
        ]
        for name, read in (big.get("reads") or {}).items():
            lines.append(
                f"| `{read.get('url', name)}` p50 / p99 | {_figure(read.get('p50_ms'), 'ms')} / "
                f"{_figure(read.get('p99_ms'), 'ms')} |"
            )
        for name, value in (big.get("moderation_queue") or {}).items():
            label = name.removesuffix("_ms").replace("_", " ")
            if isinstance(value, dict) and "p50_ms" in value:
                lines.append(
                    f"| moderation: {label} p50 / p99 | {_figure(value.get('p50_ms'), 'ms')} / "
                    f"{_figure(value.get('p99_ms'), 'ms')} |"
                )
            elif isinstance(value, dict) and "seconds" in value:
                lines.append(f"| moderation: {label} | {_figure(value.get('seconds'), 's')} |")
            elif not isinstance(value, dict):
                lines.append(f"| moderation: {label} | {_figure(value, 'ms')} |")
        lines.append("")

    errors = results.get("errors") or []
    if errors:
        lines += ["### Errors during the run", ""] + [f"- {_cell(e)}" for e in errors] + [""]
    if path.with_suffix(".png").is_file():
        lines += [
            "### Over time",
            "",
            f"![Per second: signatures accepted (blue), emails received (orange), signatures "
            f"confirmed (green); below, the sign POST's p50 and p99 latency]({BENCH_PLOT_PAGE})",
            "",
        ]
    return "\n".join(lines)


# --- The dependency picture -------------------------------------------------------------


def app_imports(root: Path = ROOT) -> dict[tuple[str, str], tuple[int, set[str]]]:
    """(importing app, imported app) -> (import statements, importing modules), from the
    source as it is: every `import`/`from` of another app, function-local ones included,
    migrations left out."""
    import ast

    found: dict[tuple[str, str], tuple[int, set[str]]] = {}
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")) if (root / app).is_dir() else []:
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    target = name.split(".", 1)[0]
                    if target in APPS and target != app:
                        count, modules = found.get((app, target), (0, set()))
                        modules.add(str(path.relative_to(root)))
                        found[(app, target)] = (count + 1, modules)
    return found


def imports_markdown(root: Path = ROOT) -> str:
    """Which app imports which today, and whether the layering allows it."""
    rank = {app: number for number, app in enumerate(APPS)}
    lines = [
        "| app | imports | statements | modules | allowed by the layering |",
        "|---|---|---|---|---|",
    ]
    for (source, target), (count, modules) in sorted(
        app_imports(root).items(), key=lambda item: (rank[item[0][0]], rank[item[0][1]])
    ):
        if source == "config" or target == "core":
            allowed = "yes"
        elif target == "config":
            allowed = "no: `config` is the top"
        elif source in SIBLINGS and target in SIBLINGS:
            allowed = "**no**: same layer"
        elif rank[target] < rank[source]:
            allowed = "yes"
        else:
            allowed = "**no**: upward"
        lines.append(f"| `{source}` | `{target}` | {count} | {len(modules)} | {allowed} |")
    return "\n".join(lines)


# --- MkDocs -----------------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    """The benchmark's plot, served beside the page that shows it."""
    if BENCH_PLOT.is_file():
        from mkdocs.structure.files import File

        files.append(File.generated(config, BENCH_PLOT_PAGE, abs_src_path=str(BENCH_PLOT)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if API_MARKER in markdown:
        markdown = markdown.replace(API_MARKER, api_markdown())
    if IMPORTS_MARKER in markdown:
        markdown = markdown.replace(IMPORTS_MARKER, imports_markdown())
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, bench_markdown())
    return markdown
