import os
import sys

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if os.path.basename(sys.argv[0]) == "celery":
    # A worker or beat started with a configuration error says why in one line.
    from config.preflight import settings_or_exit

    settings_or_exit()

app = Celery("undersigned")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
