"""The Lambda adapter with real API Gateway event shapes (HTTP API 2.0 and REST 1.0)."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from urllib3 import encode_multipart_formdata

from tests.conftest import BUCKET, TABLE
from tests.support import image_bytes

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
HOST = "abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def handler(mocked_aws: None, monkeypatch: pytest.MonkeyPatch) -> Handler:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("DYNAMODB_TABLE", TABLE)
    monkeypatch.setenv("S3_BUCKET", BUCKET)
    monkeypatch.setenv("PUBLIC_URL", f"https://{HOST}")  # what the lambda backend sets: the API's endpoint
    sys.modules.pop("users_api.lambda_handler", None)  # INIT runs per execution environment
    module = importlib.import_module("users_api.lambda_handler")
    lambda_handler: Handler = module.handler
    return lambda_handler


def http_api_event(
    method: str, path: str, query: str = "", body: bytes = b"", headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the $default stage sends it."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": HOST, "x-forwarded-proto": "https", "x-forwarded-port": "443", **(headers or {})},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "curl/8",
            },
            "requestId": "Ab1cDefGhIjK=",
            "stage": "$default",
            "domainName": HOST,
        },
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
    }


def rest_api_event(method: str, path: str) -> dict[str, Any]:
    """An API Gateway REST API payload 1.0 (proxy integration) event."""
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
        "multiValueHeaders": None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {"requestId": "rest-request-1", "stage": "prod", "httpMethod": method},
        "body": None,
        "isBase64Encoded": False,
    }


def signup_event(email: str = "lambda@example.com") -> dict[str, Any]:
    body, content_type = encode_multipart_formdata(
        {"name": "Lambda User", "email": email, "avatar": ("face.png", image_bytes("PNG"), "image/png")}
    )
    return http_api_event("POST", "/user", body=body, headers={"content-type": content_type})


def test_a_base64_multipart_signup_creates_the_user(handler: Handler) -> None:
    result = handler(signup_event(), None)

    assert result["statusCode"] == 201, result
    user = json.loads(result["body"])
    assert user["email"] == "lambda@example.com"
    assert user["avatar_url"] == f"https://{HOST}/users/lambda@example.com/avatar"


def test_listing_users_through_http_api_2(handler: Handler) -> None:
    handler(signup_event(), None)

    result = handler(http_api_event("GET", "/users", query="limit=10"), None)

    assert result["statusCode"] == 200
    assert [user["email"] for user in json.loads(result["body"])] == ["lambda@example.com"]
    headers = {key.lower(): value for key, value in result["headers"].items()}
    assert headers["x-request-id"] == "Ab1cDefGhIjK=", "the API Gateway request id ties logs to requests"


def test_the_avatar_redirect_through_http_api_2(handler: Handler) -> None:
    handler(signup_event(), None)

    result = handler(http_api_event("GET", "/users/lambda@example.com/avatar"), None)

    assert result["statusCode"] == 302
    headers = {key.lower(): value for key, value in result["headers"].items()}
    assert "X-Amz-Signature=" in headers["location"]


def test_rest_api_1_events_are_served_too(handler: Handler) -> None:
    result = handler(rest_api_event("GET", "/users"), None)

    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == []


def test_the_first_invocation_is_the_cold_start(handler: Handler) -> None:
    first = handler(http_api_event("GET", "/livez"), None)
    second = handler(http_api_event("GET", "/livez"), None)

    def cold(result: dict[str, Any]) -> str:
        return str({key.lower(): value for key, value in result["headers"].items()}["x-cold-start"])

    assert (cold(first), cold(second)) == ("true", "false")
