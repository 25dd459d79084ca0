"""Celery tasks of the trust log, routed in settings' CELERY_TASK_ROUTES.

Like the tally, they carry no data ("look at the database now") and are acknowledged on
receipt: beat repeats them, and each checkpoint is its own transaction.
"""

from celery import shared_task

from . import services


@shared_task(acks_late=False, ignore_result=True, soft_time_limit=30, time_limit=60)
def log_checkpoint() -> int:
    """Sign a checkpoint for every letter whose log grew since its last one."""
    return services.log_checkpoints_issue()


@shared_task(acks_late=False, ignore_result=True, soft_time_limit=240, time_limit=300)
def log_salts_erase() -> int:
    """Erase the salts of signatures that retention anonymized; entries stay."""
    return services.log_salts_erase()
