"""gunicorn's gevent worker with a read timeout on request bodies.

gunicorn 27.0.1's gevent worker (``workers/ggevent.py``: ``handle`` puts the client socket in blocking mode, no
timeout) bounds only the wait for a request's headers (``base_async.py``: ``timeout_ctx``, ``keepalive`` seconds
around ``next(parser)``); while the app reads the body there is no bound at all, so a client that sends part of a
body and stops held its greenlet (and its spooled upload) for as long as it kept the connection open. gunicorn has
no setting for it. Here each request's socket gets ``GUNICORN_BODY_READ_TIMEOUT`` seconds (default 20) as its
timeout while the request is handled: a read (or write) that waits longer raises ``TimeoutError`` in the app's
body read, which answers 408 ``body_timeout`` (errors.py) and closes the connection. Between requests the
socket is blocking again, so an idle keep-alive connection still lasts ``keepalive`` (75 s, past an ALB's 60).

Imported by gunicorn's master when it resolves ``worker_class``, as it would ``gunicorn.workers.ggevent``; it
imports nothing of the app.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from gunicorn.workers.ggevent import GeventWorker  # type: ignore[import-untyped]

DEFAULT_BODY_READ_TIMEOUT_SECONDS = 20


def body_read_timeout() -> float:
    raw = os.environ.get("GUNICORN_BODY_READ_TIMEOUT", "").strip()
    return float(raw) if raw else DEFAULT_BODY_READ_TIMEOUT_SECONDS


class BodyTimeoutGeventWorker(GeventWorker):  # type: ignore[misc]
    """``GeventWorker`` whose request sockets time out after ``GUNICORN_BODY_READ_TIMEOUT`` idle seconds."""

    body_timeout = body_read_timeout()  # gunicorn_conf checked the value in the master

    def handle_request(self, listener_name: Any, req: Any, sock: socket.socket, addr: Any) -> Any:
        sock.settimeout(self.body_timeout)
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            sock.settimeout(None)  # back to blocking: the next request's headers wait up to keepalive, as before
