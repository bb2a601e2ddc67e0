"""Log lines: plain text by default, JSON lines with LOG_FORMAT=json, each naming its request id."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from whatsapp_hub.ops import config, context
from whatsapp_hub.ops.logs import JsonFormatter, RequestIdFilter

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import logging
import django
django.setup()
from whatsapp_hub.ops import context
with context.bound("req-logs-1"):
    logging.getLogger("hub.orders").warning("order %s shipped", 42, extra={"order_id": 42, "tags": ["a"]})
logging.getLogger("hub.orders").error("outside any request")
"""


def _record(message: str = "order %s shipped", *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("hub.orders", logging.WARNING, __file__, 10, message, args, exc_info)
    record.created = 1767225600.123456  # 2026-01-01T00:00:00.123456Z
    record.__dict__.update(extra)
    RequestIdFilter().filter(record)
    return record


def test_a_json_line_holds_the_time_level_logger_message_request_id_and_extras():
    with context.bound("req-9"):
        record = _record("order %s shipped", 42, order_id=42, customer={"id": 7}, when=Path("/tmp"))

    assert json.loads(JsonFormatter().format(record)) == {
        "time": "2026-01-01T00:00:00.123+00:00",
        "level": "WARNING",
        "logger": "hub.orders",
        "message": "order 42 shipped",
        "request_id": "req-9",
        "order_id": 42,
        "customer": {"id": 7},
        "when": "/tmp",  # what JSON cannot hold is written as its str()
    }


def test_a_json_line_outside_a_request_has_a_null_request_id_and_keeps_the_exception():
    try:
        raise ValueError("bad payload")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())

    line = json.loads(JsonFormatter().format(record))

    assert (line["message"], line["request_id"]) == ("failed", None)
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].endswith("ValueError: bad payload")
    assert "\n" not in JsonFormatter().format(record)  # one line per record


def _log_with(log_format: str | None, tmp_path) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name != "LOG_FORMAT"}
    environment.update(DJANGO_SETTINGS_MODULE="whatsapp_hub.settings", LOCAL_KEYS_FILE=str(tmp_path / "keys.json"))
    if log_format is not None:
        environment["LOG_FORMAT"] = log_format
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_log_format_json_writes_json_lines(tmp_path):
    done = _log_with("json", tmp_path)

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [{key: value for key, value in line.items() if key != "time"} for line in lines] == [
        {
            "level": "WARNING",
            "logger": "hub.orders",
            "message": "order 42 shipped",
            "request_id": "req-logs-1",
            "order_id": 42,
            "tags": ["a"],
        },
        {"level": "ERROR", "logger": "hub.orders", "message": "outside any request", "request_id": None},
    ]


def test_plain_text_is_the_default_and_names_the_request_id(tmp_path):
    done = _log_with(None, tmp_path)

    assert done.returncode == 0, done.stderr
    lines = [line.split(" ", 2)[2] for line in done.stderr.splitlines()]  # without the date and time
    assert lines == ["WARNING hub.orders [req-logs-1] order 42 shipped", "ERROR hub.orders [-] outside any request"]


def test_an_unknown_log_format_stops_start_up():
    with pytest.raises(ImproperlyConfigured, match=r"^LOG_FORMAT must be plain or json, not 'xml'\.$"):
        config.log_format("xml")
