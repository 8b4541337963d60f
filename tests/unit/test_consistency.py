"""The "no orphan avatars" invariant under ambiguous answers, late writes and failed deletes (issue 11, items 3-5, 11).

Every scenario ends by comparing the objects under avatars/ with the users in
the table: each user's avatar exists, and each object is either some user's
avatar or pending (so the lifecycle rule or the reconciler removes it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from flask import Flask

from tests.conftest import BUCKET, TABLE
from tests.support import REGION, signup_form
from users_api.deadline import Deadline
from users_api.reconcile import reconcile
from users_api.routes import EXTENSION_KEY
from users_api.store import UserStore

EMAIL = "test-user@example.com"


def store_of(app: Flask) -> UserStore:
    store: UserStore = app.extensions[EXTENSION_KEY]["store"]
    return store


def tags_of(key: str) -> dict[str, str]:
    tag_set = boto3.client("s3", region_name=REGION).get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def users_avatars() -> dict[str, str]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE)["Items"]
    return {item["email"]["S"]: item["avatar_key"]["S"] for item in items}


def assert_consistent(bucket_keys: Callable[[], list[str]]) -> None:
    keys = set(bucket_keys())
    avatars = users_avatars()
    missing = {email: key for email, key in avatars.items() if key not in keys}
    assert not missing, f"users whose avatar is gone: {missing}"
    for key in keys - set(avatars.values()):
        assert tags_of(key).get("state") == "pending", f"{key} has no user and is not pending: an orphan for good"


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "X")


def create(app: Flask, **headers: str) -> Any:
    return app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data", headers=headers)


def test_a_created_avatar_is_final_and_a_user_points_at_it(app: Flask, bucket_keys: Callable[[], list[str]]) -> None:
    assert create(app).status_code == 201

    [key] = bucket_keys()
    assert users_avatars() == {EMAIL: key}
    assert tags_of(key) == {}, "finalised: the lifecycle rule (state=pending) no longer matches it"
    assert_consistent(bucket_keys)


def test_a_put_that_lands_late_keeps_its_avatar(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 4: the write times out, the read after it finds nothing, then the write lands."""
    dynamodb = store_of(app)._dynamodb
    real_put_item = dynamodb.put_item
    delayed: list[dict[str, Any]] = []

    def put_item_that_is_delayed(**kwargs: Any) -> Any:
        delayed.append(kwargs)
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    monkeypatch.setattr(dynamodb, "put_item", put_item_that_is_delayed)
    response = create(app)
    monkeypatch.setattr(dynamodb, "put_item", real_put_item)
    real_put_item(**delayed[0])  # the delayed write lands after the request gave up

    assert response.status_code == 503
    assert_consistent(bucket_keys)
    [key] = bucket_keys()
    assert tags_of(key)["pending-for"] == "create", "kept pending: the write may still land"
    assert app.test_client().get(f"/users/{EMAIL}/avatar").status_code == 302
    assert tags_of(key) == {}, "the avatar route saw its user and finalised it"


def test_a_put_that_never_lands_leaves_only_a_pending_object_the_reconciler_removes(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def put_item_lost(**kwargs: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    monkeypatch.setattr(store_of(app)._dynamodb, "put_item", put_item_lost)
    assert create(app).status_code == 503
    assert_consistent(bucket_keys)

    young = reconcile(store_of(app)._clients, TABLE, BUCKET, min_age_seconds=1200)
    assert bucket_keys()
    assert young.too_young == bucket_keys(), "not yet: a write could still land"
    old = reconcile(store_of(app)._clients, TABLE, BUCKET, min_age_seconds=0)
    assert len(old.deleted) == 1
    assert bucket_keys() == []


def test_the_reconciler_finalises_a_pending_avatar_whose_user_exists(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = store_of(app)._clients.s3
    real_delete_object_tagging = s3.delete_object_tagging

    def finalising_fails(**kwargs: Any) -> Any:
        raise client_error("InternalError", 500)

    monkeypatch.setattr(s3, "delete_object_tagging", finalising_fails)
    monkeypatch.setattr(store_of(app), "_sleep", lambda seconds: None)
    assert create(app).status_code == 201, "the user is stored: the create succeeded"
    monkeypatch.setattr(s3, "delete_object_tagging", real_delete_object_tagging)
    [key] = bucket_keys()
    assert tags_of(key)["pending-for"] == "create"

    outcome = reconcile(store_of(app)._clients, TABLE, BUCKET, min_age_seconds=0)

    assert outcome.finalised == [key]
    assert tags_of(key) == {}
    assert_consistent(bucket_keys)


def test_an_avatar_that_is_gone_is_404_not_a_redirect_to_nothing(
    client: Any, bucket_keys: Callable[[], list[str]]
) -> None:
    client.post("/user", data=signup_form(), content_type="multipart/form-data")
    boto3.client("s3", region_name=REGION).delete_object(Bucket=BUCKET, Key=bucket_keys()[0])

    response = client.get(f"/users/{EMAIL}/avatar")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "avatar_not_found"


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(client_error("ProvisionedThroughputExceededException"), id="throttled"),
        pytest.param(client_error("ResourceNotFoundException"), id="table-gone"),
    ],
)
def test_a_delete_whose_user_write_fails_leaves_the_user_its_avatar(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """Item 5: the object used to be deleted first; now it is only marked, and unmarked again."""
    client = app.test_client()
    client.post("/user", data=signup_form(), content_type="multipart/form-data")

    def delete_item(**kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(store_of(app)._dynamodb, "delete_item", delete_item)
    response = client.delete(f"/users/{EMAIL}")

    assert response.status_code == 503
    assert client.get(f"/users/{EMAIL}/avatar").status_code == 302
    assert tags_of(bucket_keys()[0]) == {}, "restored: not left to expire under its user"
    assert_consistent(bucket_keys)


def test_a_delete_whose_answer_was_lost_is_204_and_removes_the_avatar(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 11: the delete was applied, its answer lost; the retry finds the user gone: 204, not 409."""
    client = app.test_client()
    client.post("/user", data=signup_form(), content_type="multipart/form-data")
    dynamodb = store_of(app)._dynamodb
    real_delete_item = dynamodb.delete_item
    calls: list[int] = []

    def delete_item_answer_lost_once(**kwargs: Any) -> Any:
        calls.append(1)
        result = real_delete_item(**kwargs)
        if len(calls) == 1:
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        return result

    monkeypatch.setattr(dynamodb, "delete_item", delete_item_answer_lost_once)
    monkeypatch.setattr(store_of(app), "_sleep", lambda seconds: None)

    response = client.delete(f"/users/{EMAIL}")

    assert response.status_code == 204
    assert bucket_keys() == []
    assert users_avatars() == {}


def test_a_delete_retried_by_the_client_after_it_completed_is_404(client: Any) -> None:
    client.post("/user", data=signup_form(), content_type="multipart/form-data")
    assert client.delete(f"/users/{EMAIL}").status_code == 204

    again = client.delete(f"/users/{EMAIL}")

    assert again.status_code == 404
    assert again.get_json()["error"]["code"] == "user_not_found"


def test_a_create_retried_with_its_idempotency_key_gets_its_own_user_back(
    app: Flask, bucket_keys: Callable[[], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 11: a 503 that was in fact stored; the retry with the same key is 201, not 409 email_taken."""
    dynamodb = store_of(app)._dynamodb
    real_put_item, real_get_item = dynamodb.put_item, dynamodb.get_item

    def put_item_answer_lost(**kwargs: Any) -> Any:
        real_put_item(**kwargs)
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    def get_item_down(**kwargs: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    monkeypatch.setattr(dynamodb, "put_item", put_item_answer_lost)
    monkeypatch.setattr(dynamodb, "get_item", get_item_down)
    monkeypatch.setattr(store_of(app), "_sleep", lambda seconds: None)
    first = create(app, **{"Idempotency-Key": "signup-1"})
    monkeypatch.setattr(dynamodb, "put_item", real_put_item)
    monkeypatch.setattr(dynamodb, "get_item", real_get_item)

    retried = create(app, **{"Idempotency-Key": "signup-1"})
    other = create(app, **{"Idempotency-Key": "signup-2"})

    assert first.status_code == 503
    assert retried.status_code == 201
    assert retried.get_json()["email"] == EMAIL
    assert other.status_code == 409, "another create of the same email is still refused"
    assert len(bucket_keys()) == 1, "the retry's own upload is removed: the stored user keeps the first"
    assert tags_of(bucket_keys()[0]) == {}
    assert_consistent(bucket_keys)


@pytest.mark.parametrize("key", ["", "a" * 129, "has space", "ünïcode"])
def test_a_malformed_idempotency_key_is_a_400_naming_it(client: Any, key: str) -> None:
    response = client.post(
        "/user", data=signup_form(), content_type="multipart/form-data", headers={"Idempotency-Key": key}
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "Idempotency-Key"


def test_a_hung_dependency_costs_a_request_at_most_its_deadline(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 2, on a simulated clock: every attempt times out after connect + read timeout."""
    store = store_of(app)
    now = [0.0]
    attempts: list[float] = []

    def put_object_that_hangs(**kwargs: Any) -> Any:
        attempts.append(now[0])
        now[0] += store._attempt_seconds
        raise ReadTimeoutError(endpoint_url="http://s3")

    def sleep(seconds: float) -> None:
        now[0] += seconds

    monkeypatch.setattr(store._clients.s3, "put_object", put_object_that_hangs)
    monkeypatch.setattr(store._clients.s3, "delete_object", put_object_that_hangs)
    monkeypatch.setattr(store, "_sleep", sleep)
    monkeypatch.setattr("users_api.routes.Deadline", lambda seconds: Deadline(seconds, clock=lambda: now[0]))

    response = create(app)

    assert response.status_code == 503
    assert attempts, "it tried"
    assert now[0] <= app.extensions[EXTENSION_KEY]["request_deadline_seconds"], "no attempt started past the deadline"
