"""docker-compose.yml stays true to the Makefile, the settings and the URLs it relies on."""

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "worker-bulk", "beat")
WORKERS = ("worker", "worker-bulk")
CORE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "SITE_URL",
    "DJANGO_DEBUG",
)
INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def with_defaults(value: str) -> str:
    """The value Compose gives a string when none of the variables it names are set."""

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return match["arg"] if match["op"] in ("-", ":-") else ""

    return INTERPOLATION.sub(replace, value)


def raw_environment(name: str) -> dict[str, str]:
    """A service's environment as written, before Compose fills in variables."""
    env = service(name).get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def environment(name: str) -> dict[str, str]:
    return {key: with_defaults(value) for key, value in raw_environment(name).items()}


def command_words(name: str) -> list[str]:
    command = service(name)["command"]
    words = command if isinstance(command, list) else shlex.split(command)
    return shlex.split(" ".join(with_defaults(str(word)) for word in words))


def container_ports(name: str) -> set[int]:
    """Ports a service listens on, as its `expose` and the target side of its `ports` say."""
    ports = {int(str(port).split("/")[0]) for port in service(name).get("expose", [])}
    for mapping in service(name).get("ports", []):
        target = mapping["target"] if isinstance(mapping, dict) else str(mapping).split(":")[-1]
        ports.add(int(str(target).split("/")[0]))
    return ports


def makefile_recipe(target: str) -> str:
    """The recipe lines of one Makefile target, joined."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    # The rule line, not a target-specific variable (`worker: QUEUES ?= signing`).
    start = next(i for i, line in enumerate(lines) if re.match(rf"{target}\s*:(?!=)[^=]*$", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return "\n".join(recipe)


def test_compose_defines_web_worker_beat_postgres_redis_and_a_mail_catcher() -> None:
    services = {"web", "worker", "worker-bulk", "beat", "postgres", "redis", "mailpit"}
    assert services <= set(compose()["services"])


def test_web_runs_gunicorn_on_config_wsgi() -> None:
    command = " ".join(command_words("web"))
    assert "gunicorn config.wsgi " in command


def test_a_one_shot_migrate_runs_before_web_workers_and_beat() -> None:
    migrate = " ".join(command_words("migrate"))
    assert "manage.py migrate --noinput" in migrate
    assert "manage.py ensure_admin" in migrate
    assert service("migrate")["restart"] == "no"
    assert "migrate" not in " ".join(command_words("web"))
    for name in APP_SERVICES:
        depends_on = service(name)["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name


def test_migrate_runs_the_app_image_with_the_app_environment() -> None:
    assert service("migrate")["build"] == service("web")["build"]
    env = environment("migrate")
    for name, value in environment("web").items():
        assert env[name] == value, name
    assert {"DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"} <= set(env)


def test_web_execs_gunicorn_so_signals_reach_it() -> None:
    assert command_words("web")[0] == "gunicorn"
    assert makefile_recipe("serve").splitlines()[-1].startswith("exec ")


def test_image_collects_the_static_files_web_does_not_collect_at_start() -> None:
    # With DJANGO_DEBUG off, pages need the collected manifest; web runs as a user that
    # cannot write into the image, so the build has to collect them.
    assert "collectstatic" not in " ".join(command_words("web"))
    assert "manage.py collectstatic" in (ROOT / "Dockerfile").read_text()


def test_worker_runs_the_celery_worker_of_the_config_app() -> None:
    for name in WORKERS:
        assert command_words(name)[:4] == ["celery", "-A", "config", "worker"], name


def worker_queues(words: list[str]) -> set[str]:
    """The queues a `celery worker` command line consumes (all declared ones without -Q)."""
    for flag in ("-Q", "--queues"):
        if flag in words:
            return set(words[words.index(flag) + 1].split(","))
        prefix = f"{flag}="
        for word in words:
            if word.startswith(prefix):
                return set(word.removeprefix(prefix).split(","))
    return set(settings.CELERY_TASK_QUEUES)


def routed_queues() -> set[str]:
    routes = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return routes | {settings.CELERY_TASK_DEFAULT_QUEUE}


def compose_workers() -> dict[str, set[str]]:
    return {
        name: worker_queues(command_words(name))
        for name in compose()["services"]
        if command_words_or_empty(name)[:4] == ["celery", "-A", "config", "worker"]
    }


def command_words_or_empty(name: str) -> list[str]:
    return command_words(name) if "command" in service(name) else []


def test_every_queue_settings_route_to_has_a_compose_worker() -> None:
    consumed = set().union(*compose_workers().values())
    assert routed_queues() <= consumed, f"no compose worker takes {routed_queues() - consumed}"


def test_routed_queues_are_declared_queues() -> None:
    assert routed_queues() <= set(settings.CELERY_TASK_QUEUES)


def test_the_signing_worker_takes_no_slow_queue() -> None:
    # A PDF or a bulk job on the signing worker could again hold up verification emails.
    workers = compose_workers()
    assert workers["worker"] == {"signing"}
    for name, queues in workers.items():
        if "signing" in queues:
            assert queues == {"signing"}, name


def test_makefile_workers_take_the_same_queues_as_compose() -> None:
    signing = makefile_recipe("worker").replace("$(QUEUES)", "signing")
    assert worker_queues(shlex.split(signing)) == compose_workers()["worker"]
    bulk = makefile_recipe("worker-bulk")
    assert worker_queues(shlex.split(bulk)) == compose_workers()["worker-bulk"]
    assert "worker: QUEUES ?= signing" in (ROOT / "Makefile").read_text()


def test_beat_runs_the_celery_beat_of_the_config_app() -> None:
    assert command_words("beat")[:4] == ["celery", "-A", "config", "beat"]


def test_makefile_serve_runs_the_same_gunicorn_app_as_compose_web() -> None:
    words = command_words("web")
    app = words[words.index("gunicorn") + 1]
    assert app == "config.wsgi"
    assert f"gunicorn {app} " in makefile_recipe("serve")


def test_makefile_worker_runs_the_same_celery_command_as_compose_worker() -> None:
    assert " ".join(command_words("worker")[:4]) in makefile_recipe("worker")
    assert " ".join(command_words("worker-bulk")[:4]) in makefile_recipe("worker-bulk")


def test_makefile_beat_runs_the_same_celery_command_as_compose_beat() -> None:
    assert " ".join(command_words("beat")[:4]) in makefile_recipe("beat")


def test_app_services_set_only_variables_that_settings_read() -> None:
    settings_text = (ROOT / "config" / "settings.py").read_text()
    for name in APP_SERVICES:
        unread = [key for key in environment(name) if f'"{key}"' not in settings_text]
        assert not unread, f"{name} sets variables config/settings.py never reads: {unread}"


def test_web_and_worker_set_the_core_variables() -> None:
    for name in ("web", *WORKERS):
        missing = [key for key in CORE_VARIABLES if not raw_environment(name).get(key)]
        assert not missing, f"{name} does not set {missing}"


def test_web_worker_and_beat_share_one_image_and_one_environment() -> None:
    assert {str(service(name).get("build")) for name in APP_SERVICES} == {"."}
    assert environment("worker") == environment("web")
    assert environment("worker-bulk") == environment("web")
    assert environment("beat") == environment("web")


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    match = INTERPOLATION.fullmatch(raw_environment("web")["DJANGO_SECRET_KEY"])
    assert match is not None, "DJANGO_SECRET_KEY should come from the environment"
    assert match["name"] == "DJANGO_SECRET_KEY"
    assert match["op"] == ":?"


def test_app_services_run_with_debug_off() -> None:
    for name in APP_SERVICES:
        assert environment(name)["DJANGO_DEBUG"].lower() in {"0", "false", "off", "no"}


def test_database_url_points_at_the_postgres_service() -> None:
    url = urlsplit(environment("web")["DATABASE_URL"])
    assert url.scheme in {"postgres", "postgresql"}
    assert url.hostname == "postgres"
    assert url.port in (None, 5432)


def test_database_url_credentials_match_the_postgres_service() -> None:
    url = urlsplit(environment("web")["DATABASE_URL"])
    postgres = environment("postgres")
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


def test_redis_url_points_at_the_redis_service() -> None:
    url = urlsplit(environment("web")["REDIS_URL"])
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert url.port in (None, 6379)


def test_email_url_has_no_default_so_production_mail_never_goes_to_the_catcher() -> None:
    for name in APP_SERVICES:
        assert environment(name)["EMAIL_URL"] == "", name
        assert "mailpit" not in raw_environment(name)["EMAIL_URL"], name


def test_the_mail_catcher_runs_only_in_the_dev_profile_on_the_port_the_docs_name() -> None:
    assert service("mailpit")["profiles"] == ["dev"]
    assert 1025 in container_ports("mailpit")
    assert "EMAIL_URL=smtp://mailpit:1025" in (ROOT / "docker-compose.yml").read_text()
    for name in APP_SERVICES:
        assert "mailpit" not in service(name)["depends_on"], name


def test_caddy_profile_proxies_site_url_to_web_with_tls_storage() -> None:
    caddy = service("caddy")
    assert caddy["profiles"] == ["caddy"]
    words = command_words("caddy")
    assert words[:2] == ["caddy", "reverse-proxy"]
    assert words[words.index("--to") + 1] == "web:8000"
    assert "SITE_URL" in " ".join(caddy["command"])
    assert {443, 80} <= container_ports("caddy")
    assert "caddy-data:/data" in caddy["volumes"]


def test_backup_service_runs_the_tested_backup_script_against_postgres() -> None:
    backup = service("backup")
    assert command_words("backup") == ["sh", "/scripts/backup-loop"]
    assert "./scripts/backup-loop:/scripts/backup-loop:ro" in backup["volumes"]
    assert (ROOT / "scripts" / "backup-loop").exists()
    assert (ROOT / "scripts" / "restore-backup").exists()
    env = environment("backup")
    postgres = environment("postgres")
    assert env["PGHOST"] == "postgres"
    assert (env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"]) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert int(env["BACKUP_KEEP"]) >= 1
    assert "backups:/backups" in backup["volumes"]


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (
        ".env",
        "media",
        "vendor",
        ".venv",
        ".git",
        "db.sqlite3*",
        "site",
        "test-artifacts",
    ):
        assert entry in ignored, entry


def test_app_services_wait_for_healthy_postgres_and_redis() -> None:
    for name in APP_SERVICES:
        depends_on = service(name)["depends_on"]
        for dependency in ("postgres", "redis"):
            assert depends_on[dependency]["condition"] == "service_healthy", (name, dependency)


def test_postgres_is_checked_with_pg_isready_and_redis_with_ping() -> None:
    assert "pg_isready" in " ".join(service("postgres")["healthcheck"]["test"])
    assert "ping" in " ".join(service("redis")["healthcheck"]["test"])


def test_gunicorn_binds_the_port_web_publishes_and_sets_as_port() -> None:
    words = command_words("web")
    bind = words[words.index("--bind") + 1]
    port = int(bind.rsplit(":", 1)[1])
    assert port == int(environment("web")["PORT"])
    assert port in container_ports("web")


def test_web_healthcheck_requests_the_health_endpoint_on_gunicorns_port() -> None:
    words = command_words("web")
    port = words[words.index("--bind") + 1].rsplit(":", 1)[1]
    check = " ".join(service("web")["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/health/" in check
    assert 'path("health/"' in (ROOT / "config" / "urls.py").read_text()


def test_default_site_url_is_the_published_web_port_on_an_allowed_host() -> None:
    site = urlsplit(environment("web")["SITE_URL"])
    published = {
        str(mapping).split(":")[-2] if not isinstance(mapping, dict) else str(mapping["published"])
        for mapping in service("web")["ports"]
    }
    assert str(site.port or 80) in published
    assert site.hostname in environment("web")["DJANGO_ALLOWED_HOSTS"].split(",")


def test_only_postgres_media_backups_and_certificates_keep_data_in_volumes() -> None:
    with_volumes = {name for name, spec in compose()["services"].items() if spec.get("volumes")}
    assert with_volumes == {"postgres", "web", *WORKERS, "backup", "caddy"}


def test_web_and_worker_share_the_media_volume_at_media_root() -> None:
    # The workers write delivery PDFs that web hands out: all must see the same files.
    media_root = environment("web")["MEDIA_ROOT"]
    for name in ("web", *WORKERS):
        assert service(name)["volumes"] == [f"media:{media_root}"], name
    assert "media" in compose()["volumes"]
