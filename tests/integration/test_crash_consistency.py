"""The "no orphan avatars" invariant against a real emulator, through a fault-injecting proxy, under kills (issue 11).

After every scenario the objects under avatars/ are compared with the users in
the table: right after the fault, each user's avatar object exists and every
other object is pending (the lifecycle rule or the reconciler removes it);
after one reconciler pass, objects and users match one to one and every
object is final.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from devtools.processes import free_port, gunicorn_command, spawn, stop, wait_for_http
from devtools.resources import app_environment, dynamodb_client, s3_client
from tests.integration.fault_proxy import FaultProxy, Rule
from tests.support import REGION, settings, signup_form
from users_api import create_app
from users_api.aws import make_clients
from users_api.reconcile import reconcile

pytestmark = pytest.mark.integration

EMAIL = "test-user@example.com"


class Storage:
    """The emulator's table and bucket, read directly (not through the proxy)."""

    def __init__(self, endpoint: str, table: str, bucket: str) -> None:
        self.endpoint, self.table, self.bucket = endpoint, table, bucket
        self.s3 = s3_client(endpoint, REGION)
        self.dynamodb = dynamodb_client(endpoint, REGION)

    def objects(self) -> dict[str, dict[str, str]]:
        """Every object under avatars/ with its tags."""
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="avatars/").get("Contents", [])
        return {
            item["Key"]: {
                tag["Key"]: tag["Value"]
                for tag in self.s3.get_object_tagging(Bucket=self.bucket, Key=item["Key"])["TagSet"]
            }
            for item in listing
        }

    def avatars(self) -> dict[str, str]:
        items = self.dynamodb.scan(TableName=self.table, ConsistentRead=True)["Items"]
        return {item["email"]["S"]: item["avatar_key"]["S"] for item in items}

    def assert_no_user_without_avatar_and_only_pending_orphans(self) -> None:
        objects, avatars = self.objects(), self.avatars()
        assert {e: k for e, k in avatars.items() if k not in objects} == {}, "a user points at a missing avatar"
        orphans = {key: tags for key, tags in objects.items() if key not in avatars.values()}
        assert all(tags.get("state") == "pending" for tags in orphans.values()), f"final orphans: {orphans}"

    def reconcile_and_assert_one_to_one(self) -> None:
        clients = make_clients(settings(self.table, self.bucket, endpoint_url=self.endpoint))
        reconcile(clients, self.table, self.bucket, min_age_seconds=0)
        objects, avatars = self.objects(), self.avatars()
        assert set(objects) == set(avatars.values()), (objects, avatars)
        assert all(tags == {} for tags in objects.values()), f"not final: {objects}"


@pytest.fixture
def storage(moto_server: str, names: tuple[str, str]) -> Storage:
    return Storage(moto_server, *names)


@pytest.fixture
def proxy(moto_server: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_server) as running:
        yield running


@pytest.fixture
def app_via_proxy(proxy: FaultProxy, names: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr("users_api.store.time.sleep", lambda seconds: None)
    # The shortest deadline the app accepts: one timed-out attempt (1 s connect + 3 s read) and little more.
    return create_app(settings(*names, endpoint_url=proxy.url, request_deadline_seconds=5))


def post_user(app: Flask, **headers: str) -> Any:
    return app.test_client().post("/user", data=signup_form(), content_type="multipart/form-data", headers=headers)


# --- killed mid-request: a real gunicorn, SIGKILLed while the proxy holds one AWS call ----------------------

CREATE_STEPS = ["PutObject", "PutItem", "DeleteObjectTagging"]
DELETE_STEPS = ["GetItem", "PutObjectTagging", "DeleteItem", "DeleteObject"]


@pytest.fixture
def gunicorn_via_proxy(proxy: FaultProxy, names: tuple[str, str], tmp_path: Any) -> Iterator[tuple[str, Any]]:
    port = free_port()
    env = app_environment(proxy.url, REGION, *names)
    process = spawn(gunicorn_command(port, workers=1, threads=4), env=env, log=(tmp_path / "app.log").open("ab"))
    wait_for_http(f"http://127.0.0.1:{port}/livez", process, timeout=60)
    yield f"http://127.0.0.1:{port}", process
    stop(process)


def kill_during(proxy: FaultProxy, operation: str, process: Any, send: Any, late_write: bool) -> None:
    proxy.set(operation, Rule("hold", forward_on_release=late_write))
    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    assert proxy.arrived(operation).wait(30), f"{operation} never reached the proxy"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    proxy.release()  # a late write lands only now, after the process that sent it is gone
    thread.join(30)
    proxy.clear()


def _send_quietly(method: str, url: str, **kwargs: Any) -> None:
    with contextlib.suppress(requests.RequestException):  # the server was killed mid-request: no answer is the point
        requests.request(method, url, timeout=30, **kwargs)


@pytest.mark.parametrize("late_write", [False, True], ids=["held-call-lost", "held-call-lands-late"])
@pytest.mark.parametrize("step", CREATE_STEPS)
def test_a_create_killed_at_any_step_leaves_nothing_inconsistent(
    proxy: FaultProxy, gunicorn_via_proxy: tuple[str, Any], storage: Storage, step: str, late_write: bool
) -> None:
    url, process = gunicorn_via_proxy
    files = {"avatar": ("a.png", signup_form()["avatar"][0].read(), "image/png")}

    kill_during(
        proxy,
        step,
        process,
        lambda: _send_quietly("POST", f"{url}/user", data={"name": "Test User", "email": EMAIL}, files=files),
        late_write,
    )

    storage.assert_no_user_without_avatar_and_only_pending_orphans()
    storage.reconcile_and_assert_one_to_one()


@pytest.mark.parametrize("late_write", [False, True], ids=["held-call-lost", "held-call-lands-late"])
@pytest.mark.parametrize("step", DELETE_STEPS)
def test_a_delete_killed_at_any_step_leaves_nothing_inconsistent(
    proxy: FaultProxy, gunicorn_via_proxy: tuple[str, Any], storage: Storage, step: str, late_write: bool
) -> None:
    url, process = gunicorn_via_proxy
    files = {"avatar": ("a.png", signup_form()["avatar"][0].read(), "image/png")}
    assert requests.post(f"{url}/user", data={"name": "Test User", "email": EMAIL}, files=files, timeout=30).ok

    kill_during(proxy, step, process, lambda: _send_quietly("DELETE", f"{url}/users/{EMAIL}"), late_write)

    storage.assert_no_user_without_avatar_and_only_pending_orphans()
    storage.reconcile_and_assert_one_to_one()


# --- faults without a kill: the request itself ends consistent -------------------------------------------


def test_a_put_whose_answer_is_dropped_still_creates_the_user(
    proxy: FaultProxy, app_via_proxy: Flask, storage: Storage
) -> None:
    proxy.set("PutItem", Rule("drop", times=1))

    response = post_user(app_via_proxy)

    assert response.status_code == 201
    assert storage.avatars().keys() == {EMAIL}
    storage.reconcile_and_assert_one_to_one()


def test_a_put_that_lands_after_the_request_gave_up_keeps_its_avatar(
    proxy: FaultProxy, app_via_proxy: Flask, storage: Storage
) -> None:
    """Item 4: timed out, the read after it found nothing, then the write landed."""
    proxy.set("PutItem", Rule("hold", forward_on_release=True, times=1))

    response = post_user(app_via_proxy)
    proxy.release()
    assert proxy.arrived("PutItem").is_set()

    assert response.status_code == 503
    storage.assert_no_user_without_avatar_and_only_pending_orphans()
    assert app_via_proxy.test_client().get(f"/users/{EMAIL}/avatar").status_code in {302, 404}
    storage.reconcile_and_assert_one_to_one()


@pytest.mark.parametrize("operation", ["PutItem", "PutObject"])
def test_a_dependency_that_keeps_failing_is_a_503_and_leaves_only_pending_objects(
    proxy: FaultProxy, app_via_proxy: Flask, storage: Storage, operation: str
) -> None:
    proxy.set(operation, Rule("fail"))

    response = post_user(app_via_proxy)

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "dependency_unavailable"
    storage.assert_no_user_without_avatar_and_only_pending_orphans()
    storage.reconcile_and_assert_one_to_one()


@pytest.mark.parametrize(
    ("rule", "first_status"),
    [(Rule("drop", times=1), 204), (Rule("fail"), 503), (Rule("hold", forward_on_release=True, times=1), 503)],
    ids=["answer-dropped", "failing", "lands-late"],
)
def test_a_delete_under_faults_then_retried_converges(
    proxy: FaultProxy, app_via_proxy: Flask, storage: Storage, rule: Rule, first_status: int
) -> None:
    client = app_via_proxy.test_client()
    assert post_user(app_via_proxy).status_code == 201
    proxy.set("DeleteItem", rule)

    first = client.delete(f"/users/{EMAIL}")
    proxy.release()
    storage.assert_no_user_without_avatar_and_only_pending_orphans()
    proxy.clear()
    retried = client.delete(f"/users/{EMAIL}")

    assert first.status_code == first_status
    assert retried.status_code in {204, 404}
    assert storage.avatars() == {}
    storage.reconcile_and_assert_one_to_one()


def test_a_delete_whose_user_write_fails_cleanly_keeps_the_avatar_final(
    proxy: FaultProxy, app_via_proxy: Flask, storage: Storage
) -> None:
    """Item 5: the user stays, so does its avatar, and not as a pending object the lifecycle rule would expire."""
    assert post_user(app_via_proxy).status_code == 201
    proxy.set("DeleteItem", Rule("fail"))

    app_via_proxy.test_client().delete(f"/users/{EMAIL}")
    proxy.clear()

    storage.assert_no_user_without_avatar_and_only_pending_orphans()
    assert app_via_proxy.test_client().get(f"/users/{EMAIL}/avatar").status_code == 302
