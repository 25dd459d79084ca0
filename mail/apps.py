from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = _("Mail")

    def ready(self) -> None:
        from . import tracking  # noqa: F401  (connects to anymail's tracking signal)
