"""Celery tasks for delivery documents: thin wrappers that take ids."""

from celery import shared_task
from django.conf import settings

from . import services


# Acknowledged late: a build lost with its worker runs again from the start. Its soft
# limit marks the document failed (see delivery_document_build); the hard one, a minute
# later, only stops a build stuck where Python cannot interrupt it.
@shared_task(
    acks_late=True,
    ignore_result=True,
    soft_time_limit=settings.DELIVERY_PDF_TIME_LIMIT,
    time_limit=settings.DELIVERY_PDF_TIME_LIMIT + 60,
)
def build_delivery_document(document_id: int) -> None:
    """Build the delivery PDF of one requested document."""
    services.delivery_document_build(document_id=document_id)
