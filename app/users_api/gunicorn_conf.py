"""gunicorn settings for the container: ``gunicorn -c python:users_api.gunicorn_conf users_api.wsgi:app``.

Workers and threads come from GUNICORN_WORKERS and GUNICORN_THREADS; PORT sets
the port (default 5000). SIGTERM makes gunicorn stop accepting, finish
in-flight requests for up to ``graceful_timeout`` seconds, then exit.
"""

from __future__ import annotations

import os
import sys


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        print(f"users_api: {name}={raw!r} is not a positive whole number: set e.g. {name}={default}", file=sys.stderr)
        raise SystemExit(2)
    return int(raw)


bind = f"0.0.0.0:{_positive('PORT', 5000)}"
workers = _positive("GUNICORN_WORKERS", 2)
threads = _positive("GUNICORN_THREADS", 4)
worker_class = "gthread"
graceful_timeout = _positive("GUNICORN_GRACEFUL_TIMEOUT", 25)
timeout = 30
keepalive = 75  # longer than the ALB's 60 s idle timeout, so the ALB closes first
worker_tmp_dir = "/tmp"
# gunicorn 25.1+ opens a control socket (for gunicornc) at $XDG_RUNTIME_DIR/gunicorn.ctl or else
# $HOME/.gunicorn/gunicorn.ctl. In the container HOME is /nonexistent on a read-only root filesystem, so it
# could only fail and log a warning; nothing here uses gunicornc, so none is opened (--no-control-socket).
control_socket_disable = True
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
loglevel = "warning"


def on_starting(server: object) -> None:
    """Fail fast in the master, with one line, when the app's configuration is missing or wrong."""
    from users_api.config import ConfigError, Settings

    try:
        Settings.from_env()
    except ConfigError as exc:
        print(f"users_api: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
