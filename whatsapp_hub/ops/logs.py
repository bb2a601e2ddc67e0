"""Log lines that name their request, in plain text (the default) or JSON lines (LOG_FORMAT=json).

settings.LOGGING puts RequestIdFilter on the console handler, so every record it writes, Django's, Celery's and
the libraries' included, carries `request_id` (context.current(), "-" outside a request or task).
"""

import json
import logging
from datetime import UTC, datetime

from whatsapp_hub.ops import context

NO_REQUEST = "-"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # Django logs a request's 4xx and 5xx once the middleware has returned: the request names it then.
            request = getattr(record, "request", None)
            record.request_id = context.current() or getattr(request, "request_id", "") or NO_REQUEST
        return True


# The attributes every LogRecord has: anything else on a record came from `extra=` and goes into the JSON line.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id (null outside a request),
    the record's `extra=` fields, and the exception or stack when there is one. Values JSON cannot hold are written
    as their str()."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or context.current() or NO_REQUEST
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == NO_REQUEST else request_id,
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
