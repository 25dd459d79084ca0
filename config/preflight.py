"""Refuse to start with a configuration error in one clear line, not a traceback: the
operator reading a container's log needs the sentence, not Django's stack."""

import sys

# gunicorn stops (instead of restarting workers forever) when a worker exits with 3.
CONFIGURATION_ERROR_EXIT = 3


def settings_or_exit() -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018  (reading one setting loads them all)
    except ImproperlyConfigured as error:
        print(f"Undersigned cannot start: {error}", file=sys.stderr, flush=True)
        raise SystemExit(CONFIGURATION_ERROR_EXIT) from None
