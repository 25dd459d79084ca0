"""Celery tasks for delivery documents: thin wrappers that take ids."""

from celery import shared_task

from . import services


# Acknowledged late: a build lost with its worker runs again from the start.
@shared_task(acks_late=True, ignore_result=True)
def build_delivery_document(document_id: int) -> None:
    """Build the delivery PDF of one requested document."""
    services.delivery_document_build(document_id=document_id)
