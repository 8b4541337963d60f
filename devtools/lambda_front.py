"""``make local SERVER=lambda``: a local API Gateway HTTP API in front of the real Lambda handler.

Each HTTP request becomes an API Gateway HTTP API payload 2.0 event (binary
bodies base64-encoded, as API Gateway sends them), is handed to
``users_api.lambda_handler.handler`` in this process, and the handler's
result becomes the HTTP response. The real limits apply: a body over API
Gateway's 10 MB or an event over Lambda's 6 MB invoke payload answers 413, and
a handler that runs past the function's timeout answers 503, as API Gateway
would. The same curl commands and Locust runs then exercise the exact Lambda
code path on a laptop.
"""

from __future__ import annotations

import argparse
import base64
import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as HandlerTimeout
from types import FrameType
from typing import Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
LAMBDA_MAX_EVENT_BYTES = 6 * 1024 * 1024
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _is_text(content_type: str) -> bool:
    return content_type.lower().startswith(TEXT_TYPES)


def event_from_request(request: Request, body: bytes) -> dict[str, Any]:
    """The payload 2.0 event API Gateway's HTTP API would send for ``request`` on the $default stage."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "cookie":
            continue  # API Gateway moves cookies to the event's own list
        if key == "transfer-encoding":
            continue  # framing: API Gateway hands the function the whole body (apig-wsgi sets CONTENT_LENGTH)
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", str(request.environ.get("SERVER_PORT", "80")))
    # rawPath as sent, still percent-encoded (apig-wsgi decodes it once, as for API Gateway's own events)
    raw_path = str(request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.path)
    raw_path = raw_path.split("?", 1)[0]
    now = time.time()
    encode = bool(body) and not _is_text(request.content_type or "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": encode,
    }
    cookie_header = request.headers.get("Cookie")
    if cookie_header:
        event["cookies"] = [part.strip() for part in cookie_header.split(";") if part.strip()]
    if body:
        event["body"] = base64.b64encode(body).decode() if encode else body.decode("utf-8", "replace")
    return event


def response_from_result(result: dict[str, Any]) -> Response:
    """An HTTP response from the handler's payload 2.0 result."""
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    response = Response(body, status=int(result.get("statusCode", 200)))
    response.headers.clear()
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in HOP_BY_HOP:
            response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or ():
        response.headers.add("Set-Cookie", cookie)
    return response


def _gateway_error(status: int, message: str) -> Response:
    """API Gateway's own error shape: it answers before (or instead of) the function."""
    return Response(json.dumps({"message": message}), status=status, mimetype="application/json")


class LambdaFront:
    """A WSGI app: HTTP in, payload 2.0 event to the handler, HTTP out."""

    def __init__(self, handler: Handler, timeout_seconds: float) -> None:
        self._handler = handler
        self._timeout = timeout_seconds
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lambda")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY_BYTES:
            return _gateway_error(413, "Request Entity Too Large")(environ, start_response)
        try:
            body = request.get_data(cache=False)
        except (ClientDisconnected, OSError, ValueError):  # fewer bytes than Content-Length, a broken chunk
            return _gateway_error(400, "Bad Request")(environ, start_response)
        event = event_from_request(request, body)
        if len(json.dumps(event)) > LAMBDA_MAX_EVENT_BYTES:
            return _gateway_error(413, "Request Entity Too Large")(environ, start_response)
        future = self._pool.submit(self._handler, event, None)
        try:
            result = future.result(timeout=self._timeout)
        except HandlerTimeout:
            return _gateway_error(503, "Service Unavailable")(environ, start_response)
        except Exception:
            return _gateway_error(500, "Internal Server Error")(environ, start_response)
        return response_from_result(result)(environ, start_response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lambda_front", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--timeout", type=float, default=15.0, help="the function's timeout in seconds")
    args = parser.parse_args(argv)
    from users_api.lambda_handler import handler  # INIT: the app is built once, as in a Lambda environment

    server = make_server(args.host, args.port, LambdaFront(handler, args.timeout), threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
