"""Logs: one JSON line per request, and never a secret or a request body, even at DEBUG."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import BUCKET, TABLE
from tests.support import signup_form
from users_api import create_app

CANARY = "CANARY-d1c3f00d-never-log-me"
BODY_MARKER = "Body Marker Name"


@pytest.fixture
def debug_app(mocked_aws: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Flask:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("DYNAMODB_TABLE", TABLE)
    monkeypatch.setenv("S3_BUCKET", BUCKET)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)  # the root logger too: nothing may slip through any logger
    return create_app()


def test_secrets_and_bodies_never_reach_the_logs_at_debug(
    debug_app: Flask, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    client = debug_app.test_client()
    for expected in (201, 409):
        form = signup_form(name=BODY_MARKER)
        assert client.post("/user", data=form, content_type="multipart/form-data").status_code == expected
    client.get("/users")
    client.get("/readyz")
    client.get("/users/test-user@example.com/avatar")

    out, err = capfd.readouterr()
    everything = out + err + "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert CANARY not in everything
    assert BODY_MARKER not in everything
    request_lines = [json.loads(line) for line in out.splitlines() if '"message": "request"' in line]
    assert len(request_lines) == 5, "one line per request"


def test_a_request_line_holds_the_fields_operators_search_on(
    client: FlaskClient, capfd: pytest.CaptureFixture[str]
) -> None:
    client.get("/users", headers={"X-Request-Id": "req-42"})

    line = json.loads(capfd.readouterr().out.strip().splitlines()[-1])

    assert line["message"] == "request"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["request_id"]) == ("GET", "/users", 200, "req-42")
    assert isinstance(line["duration_ms"], float)
    assert isinstance(line["cold_start"], bool)
