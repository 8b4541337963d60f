"""One error shape for every failure: JSON with a stable code and a human message.

Clients branch on ``error.code``; ``error.message`` is for people. No traceback
and no exception text ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.wsgi import LimitedStream

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
        return _too_large_response(max_avatar_bytes)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
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


def _too_large_response(avatar_limit: int) -> Response:
    """Werkzeug's bare 413, told apart: the whole body past its limit, or too many form parts.

    With the form-memory limit off (see create_app), Werkzeug raises RequestEntityTooLarge for two
    reasons only: a body past MAX_CONTENT_LENGTH (announced by Content-Length, or a chunked body that
    ran into the limit: its LimitedStream is exhausted) or more than MAX_FORM_PARTS parts.
    """
    limit = request.max_content_length
    length = request.content_length
    if limit is not None and (length > limit if length is not None else _stream_exhausted()):
        return error_response(
            413,
            "payload_too_large",
            f"the request body is larger than {limit} bytes: the avatar may be at most {avatar_limit} bytes"
            " (MAX_AVATAR_BYTES); send a smaller image",
        )
    parts = current_app.config["MAX_FORM_PARTS"]
    return error_response(
        413,
        "too_many_parts",
        f"the form has more than {parts} parts: send the fields name, email and avatar only",
    )


def _stream_exhausted() -> bool:
    stream = request.stream
    return isinstance(stream, LimitedStream) and stream.is_exhausted
