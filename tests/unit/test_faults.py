"""Failure rules: a failed write leaves no orphan avatar, and a dependency that is down is a 503."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from flask import Flask

from tests.conftest import BUCKET
from tests.support import signup_form
from users_api.routes import EXTENSION_KEY
from users_api.store import UserStore


def pending_purpose(key: str) -> str | None:
    """ "create"/"delete" for a pending avatar, None for a final one (read with a client of its own)."""
    tags = boto3.client("s3", region_name="us-east-1").get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    values = {tag["Key"]: tag["Value"] for tag in tags}
    return values.get("pending-for") if values.get("state") == "pending" else None


def store_of(app: Flask) -> UserStore:
    store: UserStore = app.extensions[EXTENSION_KEY]["store"]
    return store


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, "PutItem")


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(client_error("ProvisionedThroughputExceededException"), id="throttled"),
        pytest.param(client_error("ResourceNotFoundException"), id="table-gone"),
        pytest.param(EndpointConnectionError(endpoint_url="http://dynamodb"), id="unreachable"),
    ],
)
def test_a_put_that_fails_after_the_upload_is_a_503_and_leaves_no_orphan(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    uploaded: list[str] = []
    real_put_object = store_of(app)._clients.s3.put_object

    def put_object(**kwargs: Any) -> Any:
        uploaded.append(kwargs["Key"])
        return real_put_object(**kwargs)

    def put_item(**kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(store_of(app)._clients.s3, "put_object", put_object)
    monkeypatch.setattr(store_of(app)._dynamodb, "put_item", put_item)

    response = app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"]["code"] == "dependency_unavailable"
    assert len(uploaded) == 1, "the avatar was uploaded before the put"
    assert bucket_keys() == [], "and deleted again after it failed"


def test_an_unexpected_error_in_the_put_leaves_the_upload_pending_never_final(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The put may have been sent before the bug struck: the object is kept, pending, for the reconciler."""

    def put_item(**kwargs: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(store_of(app)._dynamodb, "put_item", put_item)

    response = app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 500
    assert [pending_purpose(key) for key in bucket_keys()] == ["create"]


def test_an_upload_that_fails_writes_no_user(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def put_object(**kwargs: Any) -> Any:
        raise client_error("SlowDown")

    monkeypatch.setattr(store_of(app)._clients.s3, "put_object", put_object)
    client = app.test_client()

    response = client.post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 503
    assert client.get("/users").get_json() == []


@pytest.mark.parametrize("path", ["/users", "/users/a@example.com", "/users/a@example.com/avatar"])
def test_reads_answer_503_with_retry_after_when_the_table_is_unreachable(
    app: Flask, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    def down(**kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="http://dynamodb")

    monkeypatch.setattr(store_of(app)._dynamodb, "scan", down)
    monkeypatch.setattr(store_of(app)._dynamodb, "get_item", down)

    response = app.test_client().get(path)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "http://dynamodb" not in response.get_data(as_text=True), "no exception text reaches the client"


def test_a_put_retried_after_its_answer_was_lost_still_creates_the_user(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = store_of(app)._dynamodb
    real_put_item = dynamodb.put_item

    def put_item_whose_first_answer_is_lost(**kwargs: Any) -> Any:
        real_put_item(**kwargs)  # DynamoDB applied it, but the answer never arrived ...
        return real_put_item(**kwargs)  # ... so botocore retried, and the condition now fails

    monkeypatch.setattr(dynamodb, "put_item", put_item_whose_first_answer_is_lost)
    client = app.test_client()

    response = client.post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 201
    assert client.get("/users/test-user@example.com/avatar").status_code == 302
    assert len(bucket_keys()) == 1


def test_a_put_that_timed_out_after_writing_is_reported_as_created(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = store_of(app)._dynamodb
    real_put_item = dynamodb.put_item

    def put_item_then_time_out(**kwargs: Any) -> Any:
        real_put_item(**kwargs)
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    monkeypatch.setattr(dynamodb, "put_item", put_item_then_time_out)

    response = app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 201
    assert len(bucket_keys()) == 1, "the user points at its avatar: it must not be rolled back"


def test_an_upload_whose_answer_was_lost_is_removed(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = store_of(app)._clients.s3
    real_put_object = s3.put_object

    def put_object_then_time_out(**kwargs: Any) -> Any:
        real_put_object(**kwargs)
        raise ReadTimeoutError(endpoint_url="http://s3")

    monkeypatch.setattr(s3, "put_object", put_object_then_time_out)

    response = app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data")

    assert response.status_code == 503
    assert bucket_keys() == []


def test_a_user_re_created_during_a_delete_survives_it(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    client.post("/user", data=signup_form(), content_type="multipart/form-data")
    s3 = store_of(app)._clients.s3
    real_put_object_tagging = s3.put_object_tagging

    def mark_while_someone_re_creates(**kwargs: Any) -> Any:
        result = real_put_object_tagging(**kwargs)
        monkeypatch.setattr(s3, "put_object_tagging", real_put_object_tagging)
        store_of(app)._dynamodb.delete_item(TableName="users", Key={"email": {"S": "test-user@example.com"}})
        assert client.post("/user", data=signup_form(), content_type="multipart/form-data").status_code == 201
        return result

    monkeypatch.setattr(s3, "put_object_tagging", mark_while_someone_re_creates)

    response = client.delete("/users/test-user@example.com")

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "concurrent_change"
    assert client.get("/users/test-user@example.com/avatar").status_code == 302
    assert len(bucket_keys()) == 1, "the old avatar (no user points at it) is gone, the new one kept"
