"""The OpenAPI document: valid OpenAPI 3.1, in step with the app's routes, and served by the app itself."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from importlib.resources import files
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

OPERATION_KEYS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
# Flask adds these to every rule by itself; they are not part of the API's contract.
IMPLICIT_METHODS = frozenset({"HEAD", "OPTIONS"})
COMMON_RESPONSE_HEADERS = ("Server-Timing", "X-Cold-Start", "X-Request-Id")
STABLE_ERROR_CODES = (
    "invalid_field",
    "missing_field",
    "invalid_parameter",
    "multipart_required",
    "unsupported_avatar",
    "avatar_too_large",
    "payload_too_large",
    "email_taken",
    "concurrent_change",
    "user_not_found",
    "avatar_not_found",
    "dependency_unavailable",
    "not_ready",
    "missing_token",
    "invalid_token",
    "invalid_request",
    "insufficient_scope",
    "issuer_unavailable",
    "method_not_allowed",
    "not_found",
    "internal_error",
)
# <path:email>, <int(min=1):n>, <name>  ->  {email}, {n}, {name}
_FLASK_PARAMETER = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def _load_document() -> dict[str, Any]:
    text = files("users_api").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


DOCUMENT = _load_document()
OPERATIONS = [(path, method) for path, item in DOCUMENT["paths"].items() for method in item if method in OPERATION_KEYS]
RESPONSES = [
    (path, method, status) for path, method in OPERATIONS for status in DOCUMENT["paths"][path][method]["responses"]
]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s (``#/...``) until a real object."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _documented_operations() -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, method in OPERATIONS}


def _served_operations(app: Flask) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("docs."):
            continue
        path = _FLASK_PARAMETER.sub(r"{\1}", rule.rule)
        operations |= {(path, method) for method in (rule.methods or set()) - IMPLICIT_METHODS}
    return operations


def test_the_document_is_a_valid_openapi_3_1_document() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    validate(DOCUMENT)


def test_the_document_names_the_api_and_the_package_version() -> None:
    assert DOCUMENT["info"]["title"] == "Users API"
    assert DOCUMENT["info"]["version"] == "0.1.0" == version("users-api")


def test_the_documented_operations_are_exactly_the_routes_the_app_serves(app: Flask) -> None:
    served = _served_operations(app)
    documented = _documented_operations()

    assert served - documented == set(), "routes the app serves but the document does not describe"
    assert documented - served == set(), "operations the document describes but the app does not serve"


def test_the_swagger_ui_pages_are_not_api_paths() -> None:
    assert [path for path in DOCUMENT["paths"] if path == "/docs" or path.startswith("/docs/")] == []


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation_has_an_id_a_summary_and_a_description(path: str, method: str) -> None:
    operation = DOCUMENT["paths"][path][method]

    assert operation.get("operationId")
    assert operation.get("summary")
    assert operation.get("description")


def test_operation_ids_are_unique() -> None:
    ids = [DOCUMENT["paths"][path][method]["operationId"] for path, method in OPERATIONS]

    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("path", "method", "status"), RESPONSES)
def test_every_response_documents_the_headers_every_response_carries(path: str, method: str, status: str) -> None:
    response = _resolve(DOCUMENT["paths"][path][method]["responses"][status])

    assert set(COMMON_RESPONSE_HEADERS) <= set(response.get("headers", {}))


@pytest.mark.parametrize(
    ("path", "method", "status"), [(path, method, status) for path, method, status in RESPONSES if status == "503"]
)
def test_every_503_response_documents_retry_after(path: str, method: str, status: str) -> None:
    response = _resolve(DOCUMENT["paths"][path][method]["responses"][status])

    assert "Retry-After" in response["headers"]


@pytest.mark.parametrize("code", STABLE_ERROR_CODES)
def test_every_stable_error_code_is_documented(code: str) -> None:
    code_schema = DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]

    assert f"`{code}`" in DOCUMENT["info"]["description"]
    assert f"`{code}`" in code_schema["description"]


def test_exactly_the_operations_the_app_protects_declare_the_bearer_scheme(app: Flask) -> None:
    """users_api/auth.py protects endpoints by name; the document must say which operations those are."""
    from users_api.auth import WRITE_ENDPOINTS

    protected = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in WRITE_ENDPOINTS:
            path = _FLASK_PARAMETER.sub(r"{\1}", rule.rule)
            protected |= {(path, method.lower()) for method in (rule.methods or set()) - IMPLICIT_METHODS}
    declared = {(path, method) for path, method in OPERATIONS if "security" in DOCUMENT["paths"][path][method]}

    assert declared == protected == {("/user", "post"), ("/users/{email}", "delete")}
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        **DOCUMENT["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for path, method in declared:
        operation = DOCUMENT["paths"][path][method]
        assert operation["security"] == [{}, {"bearerAuth": ["users:write"]}]  # {}: auth is off by default
        assert {"401", "403"} <= set(operation["responses"])


def test_the_app_serves_this_document_at_openapi_json(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == DOCUMENT
