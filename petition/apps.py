from django.apps import AppConfig


class PetitionConfig(AppConfig):
    name = "petition"

    def ready(self) -> None:
        from . import health  # noqa: F401  (connects the worker heartbeat to Celery's signal)
        from .outbox import outbox_register_with_mail

        outbox_register_with_mail()
