"""The docs site stays true to the code: the environment reference lists exactly what the
settings read, the README stays short and links only to pages that exist, and the
generated pages render from their sources (or say plainly when a source is missing)."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
ENVIRONMENT_PAGE = DOCS / "environment.md"
SETTINGS = ROOT / "config" / "settings.py"

# env.str("NAME", ...), env.int(...), env.db(...), env.email_url(...), env("NAME") ...
SETTINGS_READ = re.compile(r"\benv(?:\.[a-z_]+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")
TABLE_NAME = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`", re.MULTILINE)
# Variables read by Django's own commands rather than by a file of this repository.
READ_BY_DJANGO = {"DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"}
# Where the variables outside the settings are read.
OTHER_READERS = ["Makefile", "docker-compose.yml", "Dockerfile", ".ci/run", "scripts"]


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _settings_variables() -> set[str]:
    return set(SETTINGS_READ.findall(SETTINGS.read_text(encoding="utf-8")))


def _environment_sections() -> tuple[str, str]:
    """The environment page's "Settings" sections, and the rest."""
    text = ENVIRONMENT_PAGE.read_text(encoding="utf-8")
    settings_part, _, other_part = text.partition("## Outside the settings")
    return settings_part, other_part


def _other_readers_text() -> str:
    texts = []
    for name in OTHER_READERS:
        path = ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        texts += [f.read_text(encoding="utf-8", errors="replace") for f in files if f.exists()]
    return "\n".join(texts)


def test_every_variable_the_settings_read_is_in_the_environment_reference():
    settings_part, _ = _environment_sections()
    documented = set(TABLE_NAME.findall(settings_part))
    missing = sorted(_settings_variables() - documented)
    assert not missing, f"add to the Settings tables of docs/environment.md: {missing}"


def test_every_variable_in_the_settings_tables_is_read_by_the_settings():
    settings_part, _ = _environment_sections()
    stale = sorted(set(TABLE_NAME.findall(settings_part)) - _settings_variables())
    assert not stale, f"docs/environment.md documents variables settings.py never reads: {stale}"


def test_every_variable_outside_the_settings_is_read_somewhere():
    _, other_part = _environment_sections()
    # A row may name several variables: `A`, `B`.
    rows = [line for line in other_part.splitlines() if line.startswith("| `")]
    names = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}
    assert names, "the 'Outside the settings' table is empty or unreadable"
    readers = _other_readers_text()
    unread = sorted(n for n in names - READ_BY_DJANGO if not re.search(rf"\b{n}\b", readers))
    assert not unread, f"docs/environment.md documents variables nothing reads: {unread}"


def test_environment_settings_tables_list_each_variable_once():
    settings_part, _ = _environment_sections()
    names = TABLE_NAME.findall(settings_part)
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)


def test_readme_is_at_most_6_kb():
    size = len(README.read_bytes())
    assert size <= 6 * 1024, f"README.md is {size} bytes; move detail into docs/"


def test_readme_states_the_two_commands_the_first_admin_and_the_docs():
    text = README.read_text(encoding="utf-8")
    for needed in (
        "make run",
        "make test",
        "make docs",
        "createsuperuser",
        "DJANGO_SUPERUSER_EMAIL",
        "DJANGO_SUPERUSER_PASSWORD",
    ):
        assert needed in text, f"README.md should mention {needed}"


def test_every_docs_page_the_readme_links_to_exists():
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)]*)?\)", text)
    assert targets, "README.md links to no docs page"
    missing = sorted({t for t in targets if not (ROOT / t).is_file()})
    assert not missing, f"README.md links to missing pages: {missing}"


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r":\s*([\w/-]+\.md)\s*$", config, re.MULTILINE))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert nav - pages == set(), f"nav names missing pages: {sorted(nav - pages)}"
    assert pages - nav == set(), f"pages left out of the nav: {sorted(pages - nav)}"


def test_the_docs_site_loads_no_fonts_from_another_origin():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s+font:\s*false\s*$", config, re.MULTILINE)


@pytest.mark.django_db
def test_api_reference_renders_every_operation_with_its_bounds_and_statuses():
    from petition.api import api

    hooks = _hooks()
    document = api.get_openapi_schema(path_prefix="/api/v1")
    text = hooks.api_markdown(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert f"## `{method.upper()} {path}`" in text
            for status in operation["responses"]:
                assert f"| {status} |" in text
    # The signature page's limit bounds, as the API declares them.
    assert "≥ 1, ≤ 200" in text
    assert "at most 64 characters" in text


def test_api_reference_uses_the_served_document():
    hooks = _hooks()
    document = hooks.openapi_document()
    assert set(document["paths"]) >= {"/api/v1/letters", "/api/v1/letters/{slug}"}


def test_benchmark_page_says_so_plainly_when_there_are_no_results(tmp_path):
    text = _hooks().bench_markdown(tmp_path / "latest.json")
    assert "No benchmark results" in text
    assert "make bench" in text


def test_benchmark_page_says_so_when_the_results_cannot_be_read(tmp_path):
    broken = tmp_path / "latest.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "cannot be read" in _hooks().bench_markdown(broken)


def test_benchmark_page_renders_the_targets_of_a_run(tmp_path):
    results = tmp_path / "latest.json"
    results.write_text(
        '{"git_commit": "abcdef0123", "date": "2026-01-02T03:04:05+00:00", "cpu_count": 2,'
        ' "signing": {"per_second": 97.5, "p50_ms": 515.0, "p99_ms": 629.0},'
        ' "targets": [{"name": "signing, accepted per second", "value": 97.5, "unit": "/s",'
        ' "target": ">= 300/s", "met": false}]}',
        encoding="utf-8",
    )
    text = _hooks().bench_markdown(results)
    assert "`abcdef0`" in text
    assert "| signing, accepted per second | >= 300/s | 97.5 /s | **no** |" in text
    # Figures missing from a partial run read as a dash, never as an error.
    assert "| emails lost / duplicated | — / — |" in text


def test_architecture_table_counts_imports_between_apps(tmp_path):
    for app in ("core", "letters", "petition"):
        (tmp_path / app).mkdir()
    (tmp_path / "core" / "text.py").write_text("import re\n", encoding="utf-8")
    (tmp_path / "letters" / "views.py").write_text(
        "from petition.signing.forms import SignatureForm\n\ndef f():\n    import core.text\n",
        encoding="utf-8",
    )
    (tmp_path / "petition" / "forms.py").write_text("from letters.models import Letter\n")
    text = _hooks().imports_markdown(tmp_path)
    assert "| `letters` | `petition` | 1 | 1 | **no**: upward |" in text
    assert "| `letters` | `core` | 1 | 1 | yes |" in text
    assert "| `petition` | `letters` | 1 | 1 | yes |" in text
