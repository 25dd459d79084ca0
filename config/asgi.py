import os

from django.core.asgi import get_asgi_application

from config.preflight import settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
settings_or_exit()

application = get_asgi_application()
