from django.apps import AppConfig


class TrustlogConfig(AppConfig):
    name = "trustlog"
    verbose_name = "Trust log"

    def ready(self) -> None:
        from petition.counting import signatures_tallied

        from . import checks, services

        signatures_tallied.connect(services.log_on_tally, dispatch_uid="trustlog.append")
        checks.register()
