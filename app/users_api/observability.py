"""JSON logs (one line per request), request ids, Server-Timing and the cold-start header.

Only the fields named here are logged: never the environment, credentials or
request bodies. AWS SDK loggers are held at WARNING whatever LOG_LEVEL says,
because at DEBUG botocore logs request bodies and signed headers.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import uuid

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("users_api")

COLD_START_HEADER = "X-Cold-Start"
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stdout as it is when a record is emitted, not as it was at start-up."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(level: str) -> None:
    handler = _StdoutHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class ColdStart:
    """Answers True exactly once per process: for the first request it serves.

    Checked by pid, so each forked gunicorn worker (and each Lambda execution
    environment) reports its own first request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served_pid: int | None = None

    def first_request(self) -> bool:
        pid = os.getpid()
        if self._served_pid == pid:
            return False
        with self._lock:
            if self._served_pid == pid:
                return False
            self._served_pid = pid
            return True


def _request_id() -> str:
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if _REQUEST_ID.match(supplied):
        return supplied
    context = request.environ.get("apig_wsgi.request_context")
    if isinstance(context, dict) and isinstance(context.get("requestId"), str):
        return str(context["requestId"])
    return uuid.uuid4().hex


def install_request_hooks(app: Flask) -> None:
    cold_start = ColdStart()

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.cold_start = cold_start.first_request()
        g.request_id = _request_id()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.get("started")
        if started is None:  # failed before our hook ran (e.g. routing): time from here
            started, g.cold_start, g.request_id = time.perf_counter(), cold_start.first_request(), _request_id()
        duration_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={duration_ms:.2f}"
        response.headers[COLD_START_HEADER] = "true" if g.cold_start else "false"
        response.headers[REQUEST_ID_HEADER] = g.request_id
        response.headers["X-Content-Type-Options"] = "nosniff"
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                "request_id": g.request_id,
                "cold_start": g.cold_start,
            },
        )
        return response
