"""One error shape for every failure: JSON with a stable code and a human message.

Clients branch on ``error.code``; ``error.message`` is for people. No traceback
and no exception text ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed, RequestEntityTooLarge

log = logging.getLogger("users_api")

RETRY_AFTER_SECONDS = 5
# A 405 that is a route mix-up, not a wrong verb: the message names the route the client meant.
_METHOD_HINTS = {
    ("POST", "/users"): "POST /users is not a route: create a user with POST /user (singular), "
    "a multipart form with name, email and avatar",
}


class ApiError(Exception):
    """An error the API answers on purpose."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


class DependencyUnavailable(ApiError):
    """DynamoDB or S3 cannot be reached or refuses for now: 503 with Retry-After."""

    def __init__(self, dependency: str, *, ambiguous: bool = False) -> None:
        self.ambiguous = ambiguous  # no answer came: the call may have taken effect
        super().__init__(
            503,
            "dependency_unavailable",
            f"{dependency} is unavailable right now; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """``{"error": {...}}``, plus any ``extra`` top-level members (readiness adds its checks)."""
    body: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify(error=body, **extra)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _code_for(exc: HTTPException) -> str:
    name = exc.name if exc.name else "error"
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def register_error_handlers(app: Flask, max_avatar_bytes: int) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        return _too_large_response(exc, max_avatar_bytes)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if isinstance(exc, ClientDisconnected) and isinstance(exc.__context__, TimeoutError):
            # Werkzeug 3.1's LimitedStream turns the socket's timeout (the container's worker times out a stalled
            # body read: gevent_worker.py) into ClientDisconnected, raised while handling it.
            timed_out = error_response(
                408,
                "body_timeout",
                "the request body stopped arriving: send the whole body without pausing, then retry",
            )
            timed_out.headers["Connection"] = "close"
            return timed_out
        # Built from the exception's own response so headers such as Allow survive.
        response = exc.get_response()
        status = response.status_code
        message = exc.description or exc.name or "error"
        if isinstance(exc, MethodNotAllowed):
            message = _METHOD_HINTS.get((request.method, request.path), message)
        body = error_response(status, _code_for(exc), message)
        body.headers.update({k: v for k, v in response.headers.items() if k.lower() not in _BODY_HEADERS})
        return body

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.error("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")


_BODY_HEADERS = frozenset({"content-type", "content-length"})


def _too_large_response(exc: RequestEntityTooLarge, avatar_limit: int) -> Response:
    """Werkzeug's bare 413, told apart by the limit that raised it, so the answer names that limit."""
    limit = _LIMIT_RAISED_IN.get(_raised_in(exc), "body")
    if limit == "parts":
        parts = current_app.config["MAX_FORM_PARTS"]
        return error_response(
            413, "too_many_parts", f"the form has more than {parts} parts: send the fields name, email and avatar only"
        )
    if limit == "part":
        part_limit = current_app.config["MAX_FORM_MEMORY_SIZE"]
        return error_response(
            413,
            "part_too_large",
            f"a form part's text or headers are larger than {part_limit} bytes: send the fields name, email and"
            " avatar only, the avatar as a file (curl -F avatar=@photo.jpg)",
        )
    return error_response(
        413,
        "payload_too_large",
        f"the request body is larger than {request.max_content_length} bytes (the avatar may be at most"
        f" {avatar_limit} bytes, MAX_AVATAR_BYTES): send a smaller image",
    )


# Where Werkzeug 3.1.9 raises a bare RequestEntityTooLarge, and which limit that is: wsgi.get_input_stream
# (Content-Length past MAX_CONTENT_LENGTH), wsgi.LimitedStream.on_exhausted (a chunked body reaching it),
# sansio/multipart.py MultipartDecoder.next_event (more than MAX_FORM_PARTS parts), and
# MultipartDecoder.receive_data or formparser.MultiPartParser.parse (one part past MAX_FORM_MEMORY_SIZE).
# tests/integration/test_real_photos.py provokes each, so a Werkzeug upgrade that moves one fails there.
_LIMIT_RAISED_IN = {
    "get_input_stream": "body",
    "on_exhausted": "body",
    "next_event": "parts",
    "receive_data": "part",
    "parse": "part",
}


def _raised_in(exc: BaseException) -> str:
    """The name of the function that raised ``exc`` (the innermost frame of its traceback)."""
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_code.co_name if frame is not None else ""
