"""Celery tasks for delivery documents: thin wrappers that take ids."""

from typing import Any

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from django import db
from django.conf import settings

from . import services


class _DocumentBuild(Task):
    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        # Called by the worker's main process when the hard limit killed the build, which
        # then could not mark its document failed itself.
        if isinstance(exc, TimeLimitExceeded) and args:
            try:
                services.delivery_document_stopped(document_id=args[0])
            finally:
                # The main process forks the replacement worker: it must not hold a
                # database connection the child would inherit.
                db.connections.close_all()


# Acknowledged late: a build lost with its worker runs again from the start. Its soft
# limit marks the document failed (see delivery_document_build); the hard one, a minute
# later, only stops a build stuck where Python cannot interrupt it.
@shared_task(
    base=_DocumentBuild,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.DELIVERY_PDF_TIME_LIMIT,
    time_limit=settings.DELIVERY_PDF_TIME_LIMIT + 60,
)
def build_delivery_document(document_id: int) -> None:
    """Build the delivery PDF of one requested document."""
    services.delivery_document_build(document_id=document_id)
