"""The HTTP API. Handlers parse, call the store, and shape JSON; nothing else."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from .avatars import reencode
from .deadline import Deadline
from .errors import ApiError, error_response
from .readiness import CACHE_SECONDS, Readiness
from .store import User, UserStore
from .validation import decode_cursor, encode_cursor, lookup_email, parse_email, parse_limit, parse_name

api = Blueprint("api", __name__)
log = logging.getLogger("users_api")
# Responses that carry users' emails: no shared cache (a CDN, a corporate proxy) may keep them.
PRIVATE = "private, no-store"

EXTENSION_KEY = "users_api"
_STREAM_CHUNK = 64 * 1024
# Each text field's own limit, in UTF-8 bytes: far above any valid name (100 characters) or email
# (254), far below the avatar's. Past it the answer is a 413 naming the field, not the avatar.
TEXT_FIELD_MAX_BYTES = 4096


def _store() -> UserStore:
    store: UserStore = current_app.extensions[EXTENSION_KEY]["store"]
    return store


def _deadline() -> Deadline:
    """This request's budget for its AWS calls (REQUEST_DEADLINE_SECONDS), below the platform's timeouts."""
    return Deadline(current_app.extensions[EXTENSION_KEY]["request_deadline_seconds"])


_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.match(raw):
        raise ApiError(
            400,
            "invalid_parameter",
            "Idempotency-Key must be 1 to 128 letters, digits or . _ : - (e.g. a UUID)",
            field="Idempotency-Key",
        )
    return raw


_URL_SAFE_EMAIL = re.compile(r"^[A-Za-z0-9@._+-]+$")


def _user_url(root: str, email: str) -> str:
    # Nearly every address needs no escaping, and quote() costs more than this check on a page of 100.
    path = email if _URL_SAFE_EMAIL.match(email) else quote(email, safe="@+")
    return f"{root}users/{path}"


def _user_json(user: User, root: str) -> dict[str, Any]:
    """``root`` is the API's absolute base URL, computed once per request (url_for per user is slow)."""
    return {
        "email": user.email,
        "name": user.name,
        "avatar_url": f"{_user_url(root, user.email)}/avatar",
        "created_at": user.created_at,
    }


@api.get("/users")
def list_users() -> Response:
    limit = parse_limit(request.args.get("limit"))
    after = decode_cursor(request.args.get("cursor"))
    page = _store().list_users(limit, after, _deadline())
    root = request.url_root
    response = jsonify([_user_json(user, root) for user in page.users])
    response.headers["Cache-Control"] = PRIVATE
    if page.last_email is not None:
        query = urlencode({"limit": limit, "cursor": encode_cursor({"email": page.last_email})})
        response.headers["Link"] = f'<{root}users?{query}>; rel="next"'
    return response


@api.post("/user")
def create_user() -> tuple[Response, int, dict[str, str]]:
    idempotency_key = _idempotency_key()
    if request.mimetype != "multipart/form-data":
        raise ApiError(
            415,
            "multipart_required",
            "send the user as multipart/form-data with fields name, email and avatar (curl -F)",
        )
    if not request.mimetype_params.get("boundary"):
        raise ApiError(
            400,
            "malformed_multipart",
            "the Content-Type multipart/form-data has no boundary parameter: let the client build it (curl -F)",
        )
    form, files = _parsed_form()
    if not form and not files and (request.content_length or request.headers.get("Transfer-Encoding")):
        raise ApiError(
            400,
            "malformed_multipart",
            "the body holds no part delimited by the boundary declared in Content-Type:"
            " let the client build it (curl -F)",
        )
    for field in ("name", "email", "avatar"):
        if len(form.getlist(field)) + len(files.getlist(field)) > 1:
            raise ApiError(
                400, "duplicate_field", f"the form field {field!r} was sent more than once: send it once", field=field
            )
    if "avatar" in form and "avatar" not in files:
        raise ApiError(
            400,
            "invalid_field",
            "the avatar was sent as text: send it as a file part (curl -F avatar=@photo.jpg, not avatar=<photo.jpg)",
            field="avatar",
        )
    for field, value in form.items(multi=True):
        if len(value) > TEXT_FIELD_MAX_BYTES or len(value.encode()) > TEXT_FIELD_MAX_BYTES:
            raise ApiError(
                413,
                "field_too_large",
                f"the form field {field[:64]!r} is larger than {TEXT_FIELD_MAX_BYTES} bytes",
                field=field[:64],
            )
    name = parse_name(form.get("name"))
    email = parse_email(form.get("email"))
    upload = files.get("avatar")
    if upload is None:
        raise ApiError(400, "missing_field", "the form field 'avatar' (a file) is required", field="avatar")
    limit = current_app.extensions[EXTENSION_KEY]["max_avatar_bytes"]
    raw = _read_at_most(upload.stream, limit)
    if raw is None:
        raise ApiError(
            413,
            "avatar_too_large",
            f"the avatar is larger than {limit} bytes (MAX_AVATAR_BYTES): send a smaller image",
            field="avatar",
        )
    user = _store().create_user(name, email, reencode(raw), _deadline(), idempotency_key)
    root = request.url_root
    return jsonify(_user_json(user, root)), 201, {"Location": _user_url(root, user.email), "Cache-Control": PRIVATE}


def _parsed_form() -> tuple[Any, Any]:
    """The form and its files; a body whose framing the server cannot read (a bad chunk size) is a 400.

    errors.py names the limit a 413 from parsing hit. Anything else raised while the server's body reader
    runs (gunicorn raises its own InvalidChunkSize, an Exception of its own) would have been a 500.
    """
    try:
        return request.form, request.files
    except HTTPException:
        raise
    except Exception as exc:
        log.info("unreadable request body", extra={"error": type(exc).__name__})
        raise ApiError(
            400,
            "malformed_body",
            "the request body could not be read: its chunked encoding or length is malformed; resend it",
        ) from None


def _read_at_most(stream: Any, limit: int) -> bytes | None:
    """The upload's bytes, or None as soon as it is known to exceed ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(_STREAM_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@api.get("/users/<path:email>")
def get_user(email: str) -> Response:
    user = _store().get_user(lookup_email(email), _deadline())
    response = jsonify(_user_json(user, request.url_root))
    response.headers["Cache-Control"] = PRIVATE
    return response


@api.delete("/users/<path:email>")
def delete_user(email: str) -> tuple[str, int]:
    _store().delete_user(lookup_email(email), _deadline())
    return "", 204


@api.get("/users/<path:email>/avatar")
def get_avatar(email: str) -> WerkzeugResponse:
    ttl = current_app.extensions[EXTENSION_KEY]["avatar_url_ttl_seconds"]
    response = redirect(_store().avatar_download_url(lookup_email(email), ttl, _deadline()), code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/livez")
def livez() -> Response:
    return jsonify(status="ok")


@api.get("/readyz")
def readyz() -> Response:
    readiness: Readiness = current_app.extensions[EXTENSION_KEY]["readiness"]
    checks = readiness.check()
    if all(checks.values()):
        return jsonify(status="ready", checks=_words(checks))
    down = ", ".join(name for name, ok in checks.items() if not ok)
    return error_response(
        503,
        "not_ready",
        f"not reachable: {down}",
        headers={"Retry-After": str(int(CACHE_SECONDS))},
        checks=_words(checks),
    )


def _words(checks: dict[str, bool]) -> dict[str, str]:
    return {name: "ok" if ok else "unreachable" for name, ok in checks.items()}


@api.get("/openapi.json")
def openapi() -> Response:
    document: bytes = current_app.extensions[EXTENSION_KEY]["openapi"]
    return Response(document, mimetype="application/json")
