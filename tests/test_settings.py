"""The configuration contract: environment in, behaviour out."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SITE_URL"))
    }
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_a_secret_refuses_to_start_with_a_clear_message() -> None:
    result = run_django("print('started')", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_embedded_default_uses_sqlite_inline_tasks_and_console_email() -> None:
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.SITE_URL)",
        DJANGO_DEBUG="1",
        PORT="9001",
    )
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.mail.backends.console.EmailBackend",
        "http://127.0.0.1:9001",
    ]


def test_production_environment_selects_postgres_redis_and_smtp() -> None:
    result = run_django(
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, "
        "s.CACHES['default']['BACKEND'], s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.ALLOWED_HOSTS)",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 60,
        DATABASE_URL="postgres://u:p@db.internal:5432/undersigned",
        REDIS_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp://mail.internal:2525",
        DJANGO_ALLOWED_HOSTS="letters.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "False",
        "redis://cache.internal:6379/0",
        "django.core.cache.backends.redis.RedisCache",
        # Django's SMTP backend, signing with DKIM when a key is set (mail/backends.py).
        "mail.backends.SmtpBackend",
        "mail.internal",
        "2525",
        "['letters.example.org']",
    ]


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="kq8V3-5hV_rk2mJ0zq7nqH1wq4n0P3yL9xTn6cQ2uW8sR1eZ5aB7dF0gH3jK6mN9",
        DJANGO_ALLOWED_HOSTS="letters.example.org",
        SITE_URL="https://letters.example.org",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.org:587",
    )
    env.pop("DJANGO_HTTPS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SITE_URL"))
    }
    return {**env, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 60, **extra}


def test_production_without_email_url_refuses_to_start_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "EMAIL_URL is not set" in lines[0]
    assert "Traceback" not in result.stderr


def test_gunicorn_stops_with_the_same_line_instead_of_restarting_workers() -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Undersigned cannot start: EMAIL_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr
