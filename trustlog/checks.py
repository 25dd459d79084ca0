"""System checks: a malformed LOG_SIGNING_KEY stops `migrate` and `check` with a message.

A missing key is no error here, so `check --deploy` stays clean on a site that has not
set one yet: production then refuses to serve or sign checkpoints (a 404 naming the
setting, one error in the worker's log) until LOG_SIGNING_KEY is set, rather than signing
with a made-up key.
"""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.checks import register as register_check

from .note import NoteError, signer_parse


def signing_key_check(
    app_configs: Iterable[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    key = settings.LOG_SIGNING_KEY
    if not key:
        return []
    try:
        signer_parse(key)
    except NoteError as error:
        return [
            Error(
                f"LOG_SIGNING_KEY is malformed: {error}.",
                hint="Generate a key with `python manage.py log_keygen` and copy its "
                "PRIVATE+KEY+... line whole.",
                id="trustlog.E001",
            )
        ]
    return []


def register() -> None:
    register_check(signing_key_check)
