"""gunicorn settings for the container: ``gunicorn -c python:users_api.gunicorn_conf users_api.wsgi:app``.

Workers come from GUNICORN_WORKERS, connections per worker from
GUNICORN_WORKER_CONNECTIONS; PORT sets the port (default 5000). SIGTERM makes
gunicorn stop accepting, finish in-flight requests for up to
``graceful_timeout`` seconds, then exit.

Why gevent workers, not gthread (gunicorn 27.0.1's ``workers/gthread.py``): a
gthread worker hands each accepted connection to a pool thread, which waits
at most 5 s for its *first* bytes and then parses the request with a blocking
socket and no read timeout; a client that sends part of its headers or body
and stops holds that thread for as long as it likes, so ``threads`` such
clients (8 with 2 x 4) froze the app, ``/livez`` included, and so did 8
requests waiting on a hung AWS call. A gevent worker (``workers/ggevent.py``,
``base_async.py``) serves each connection in a greenlet: a stalled client or
a slow AWS call (botocore's sockets are patched) waits without holding anything
others need, up to ``worker_connections`` per worker. Header reads are bounded
by ``keepalive`` (its ``timeout_ctx``); bodies have no read timeout there either,
so the bound on stalled clients is ``worker_connections`` per worker.
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
# Kept for the command line's --threads (gunicorn ignores it for gevent workers).
threads = _positive("GUNICORN_THREADS", 4)
worker_class = "gevent"
worker_connections = _positive("GUNICORN_WORKER_CONNECTIONS", 1000)
graceful_timeout = _positive("GUNICORN_GRACEFUL_TIMEOUT", 25)
timeout = 30
keepalive = 75  # longer than the ALB's 60 s idle timeout, so the ALB closes first
worker_tmp_dir = "/tmp"
# gunicorn 25.1+ opens a control socket (for gunicornc) at $XDG_RUNTIME_DIR/gunicorn.ctl or else
# $HOME/.gunicorn/gunicorn.ctl. In the container HOME is /nonexistent on a read-only root filesystem, so it
# could only fail and log a warning; nothing here uses gunicornc, so none is opened (--no-control-socket).
control_socket_disable = True
# gunicorn itself trusts X-Forwarded-Proto (secure_scheme_headers) from 127.0.0.1 by default, whatever
# TRUSTED_PROXIES says: under `make local` (TRUSTED_PROXIES=0) any local client could make the app build https://
# URLs. The app's ProxyFix is the one place that decides, from TRUSTED_PROXIES (a hop count: an ALB's or API
# Gateway's address is not known in advance), so gunicorn trusts no peer's forwarding headers.
forwarded_allow_ips = ""
accesslog = None  # the app logs one JSON line per request itself
errorlog = "-"
loglevel = "warning"


def post_worker_init(worker: object) -> None:
    """gunicorn's own error answers (bad framing, a request line or headers past its limits) in the API's JSON shape.

    gunicorn 27.0.1 answers those itself, before the app sees the request: ``Worker.handle_error``
    (workers/base.py) picks the status (400, 414, 431, ...) and calls ``util.write_error``, which writes an HTML
    page with no request id. That one function is replaced in each worker, so clients get the same JSON error
    shape, an ``X-Request-Id`` and ``nosniff`` from every layer. The message never echoes what the client sent.
    """
    from gunicorn import util  # type: ignore[import-untyped]

    util.write_error = _write_json_error


def _write_json_error(sock: object, status_int: int, reason: str, mesg: str) -> None:
    import json
    import re
    import uuid

    from gunicorn import util

    code = re.sub(r"[^a-z0-9]+", "_", reason.lower()).strip("_") or "bad_request"
    message = _SERVER_ERROR_MESSAGES.get(status_int, f"{reason}: the request could not be read")
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-Id: {uuid.uuid4().hex}\r\nX-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


_SERVER_ERROR_MESSAGES = {
    400: "the request's line, headers or framing are malformed: send a well-formed HTTP/1.1 request",
    414: "the request line is longer than the server accepts (4094 bytes): shorten the URL",
    431: "the request's headers are too many or too large: send fewer or shorter headers",
}


def on_starting(server: object) -> None:
    """Fail fast in the master, with one line, when the app's configuration is missing or wrong."""
    from users_api.config import ConfigError, Settings  # the standard library only: safe before gevent patches

    try:
        Settings.from_env()
    except ConfigError as exc:
        print(f"users_api: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
