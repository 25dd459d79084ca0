"""Log formatting and filtering for the web and worker processes."""

import json
import logging
from datetime import UTC, datetime

# Periodic tasks that run every few seconds: their "succeeded" line is noise unless they
# did something (a non-zero, non-empty result).
QUIET_WHEN_IDLE = frozenset(
    {
        "petition.tasks.tally_counts",
        "mail.tasks.outbox_requeue_stale",
        "mail.tasks.drain_outbox",
        "mail.tasks.drain_outbox_bulk",
        "petition.tasks.anomalies_flag",
        "petition.tasks.ip_addresses_erase",
        "petition.tasks.retention_apply",
        "petition.tasks.tally_reconcile",
    }
)


class IdlePeriodicTaskFilter(logging.Filter):
    """Drops Celery's "Task … succeeded" line for a periodic task that changed nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = record.args
        if not isinstance(data, dict) or data.get("name") not in QUIET_WHEN_IDLE:
            return True
        result = data.get("return_value")
        if isinstance(result, str):
            result = result.strip("'\"")
        return result not in (0, None, "0", "None", "", "{}", {}, "[]", [])


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
