"""A fault-injecting HTTP proxy between the app and a real moto server: hold, delay, drop or fail chosen AWS calls.

Set the app's ``AWS_ENDPOINT_URL`` to the proxy's URL. Each request is named
by its AWS operation (DynamoDB's ``X-Amz-Target``; S3's method, key and
subresource) and handled by the rule set for that operation:

* ``hold``: forward nothing and answer nothing until ``release()`` (then forward and answer if ``forward_on_release``,
  which is a *late write*: it lands after the caller gave up), or until the caller closes its connection;
* ``delay``: wait ``seconds``, then forward and answer;
* ``drop``: forward (the call is applied) and close the connection without an answer (the answer is lost);
* ``fail``: answer a 500 ``InternalError`` without forwarding (nothing applied).

``arrived(operation)`` is an event set when a call of that operation reaches the proxy, so a test can kill
the app exactly while that call is in flight.
"""

from __future__ import annotations

import http.client
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

S3_SUBRESOURCES = ("tagging", "uploads", "lifecycle", "policy", "encryption", "publicAccessBlock")


def operation_of(method: str, path: str, headers: dict[str, str]) -> str:
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]  # DynamoDB_20120810.PutItem -> PutItem
    split = urlsplit(path)
    query = split.query
    parts = [part for part in split.path.split("/") if part]
    has_key = len(parts) >= 2
    if "tagging" in query.split("&") or query.startswith("tagging"):
        return {"GET": "GetObjectTagging", "PUT": "PutObjectTagging", "DELETE": "DeleteObjectTagging"}.get(
            method, method
        )
    if not has_key:
        return {"GET": "ListObjectsV2", "PUT": "CreateBucket", "HEAD": "HeadBucket"}.get(method, method)
    return {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"}.get(method, method)


@dataclass
class Rule:
    action: str  # hold, delay, drop, fail
    seconds: float = 0.0
    forward_on_release: bool = False
    times: int | None = None  # apply to the first N calls only (None: every call)


@dataclass
class _Held:
    released: threading.Event = field(default_factory=threading.Event)


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        split = urlsplit(upstream)
        self._upstream = (split.hostname or "127.0.0.1", split.port or 80)
        self._rules: dict[str, Rule] = {}
        self._arrived: dict[str, threading.Event] = {}
        self._held: list[_Held] = []
        self._lock = threading.Lock()
        self.seen: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def set(self, operation: str, rule: Rule) -> None:
        with self._lock:
            self._rules[operation] = rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def arrived(self, operation: str) -> threading.Event:
        with self._lock:
            return self._arrived.setdefault(operation, threading.Event())

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for item in held:
            item.released.set()

    def _rule_for(self, operation: str) -> Rule | None:
        with self._lock:
            self.seen.append(operation)
            self._arrived.setdefault(operation, threading.Event()).set()
            rule = self._rules.get(operation)
            if rule is not None and rule.times is not None:
                if rule.times <= 0:
                    return None
                rule.times -= 1
            return rule

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                length = int(headers.get("content-length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                operation = operation_of(self.command, self.path, headers)
                rule = proxy._rule_for(operation)
                forward_headers = {k: v for k, v in self.headers.items() if k.lower() not in {"connection"}}
                if rule is not None and rule.action == "fail":
                    if "x-amz-target" in headers:
                        self._answer(500, [("Content-Type", "application/x-amz-json-1.0")], _DYNAMODB_INTERNAL_ERROR)
                    else:
                        self._answer(500, [("Content-Type", "application/xml")], _S3_INTERNAL_ERROR)
                    return
                if rule is not None and rule.action == "hold":
                    held = _Held()
                    with proxy._lock:
                        proxy._held.append(held)
                    while not held.released.wait(0.1):
                        if self._peer_closed():
                            self.close_connection = True
                            return
                    if rule.forward_on_release:
                        proxy._forward(self.command, self.path, forward_headers, body)
                    self.close_connection = True
                    return
                if rule is not None and rule.action == "delay":
                    threading.Event().wait(rule.seconds)
                status, response_headers, content = proxy._forward(self.command, self.path, forward_headers, body)
                if rule is not None and rule.action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._answer(status, response_headers, content)

            def _peer_closed(self) -> bool:
                try:
                    self.connection.setblocking(False)
                    try:
                        peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
                        return peeked == b""
                    finally:
                        self.connection.setblocking(True)
                except BlockingIOError:
                    return False
                except OSError:
                    return True

            def _answer(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
                self.send_response_only(status)
                for name, value in headers:
                    if name.lower() not in {"transfer-encoding", "connection", "content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        return Handler


# The error bodies each service sends (DynamoDB: JSON with __type; S3: the XML Error document).
_DYNAMODB_INTERNAL_ERROR = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}'
)
_S3_INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
