from django.apps import AppConfig


class PetitionConfig(AppConfig):
    name = "petition"

    def ready(self) -> None:
        from core.ratelimit import rate_overrides_register
        from letters.versions import material_version_published

        from . import health  # noqa: F401  (connects the worker heartbeat to Celery's signal)
        from .moderation.defences import defence_overrides
        from .outbox import outbox_register_renderer
        from .reconfirm.services import reconfirm_on_material_version

        outbox_register_renderer()
        # Rate limits set from the site override the environment's defaults.
        rate_overrides_register(defence_overrides)
        # Publishing a version that changes what signers agreed to asks them to reconfirm.
        material_version_published.connect(
            reconfirm_on_material_version, dispatch_uid="petition.reconfirm"
        )
