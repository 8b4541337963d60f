"""The users API's real traffic: browsing, signing up, viewing avatars.

Request names are grouped per endpoint (``GET /users``, ``POST /user``,
``GET /users/[email]/avatar``) so statistics and thresholds are per endpoint,
not per URL. Users created by the run are deleted when it stops.

Run it with a shape: ``locust -f loadtests/locustfile.py,loadtests/shapes/ramp.py``
(``make loadtest SCENARIO=ramp`` does this).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import os
import random
import uuid
from collections.abc import Iterator
from typing import Any

import requests
from locust import HttpUser, between, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner

from loadtests import plugin  # noqa: F401 - registers the thresholds' options and listeners
from loadtests.avatar_mix import DEFAULT_MIX, AvatarMixError, parse_mix
from loadtests.photos import CONTENT_TYPES, photo

LIST = "GET /users"
SIGN_UP = "POST /user"
AVATAR = "GET /users/[email]/avatar"
DELETE = "DELETE /users/[email]"
_created: list[str] = []  # emails this process signed up, deleted at the end


# (file name, bytes, Content-Type) of each avatar in the mix, made once per process before the load starts
# (making a 2 MB photo takes up to a second of CPU, which must not stall the load generator mid-run).
_avatars: Iterator[tuple[str, bytes, str]] = iter(())


@events.init_command_line_parser.add_listener
def _avatar_options(parser: Any) -> None:
    parser.add_argument(
        "--avatar-mix",
        env_var="LOCUST_AVATAR_MIX",
        default=DEFAULT_MIX,
        help="the photo-like avatars sign-ups upload, cycled: FORMAT:SIZE,... (e.g. jpeg:300k,png:1.5m)",
    )
    # Against a deployment with authentication on (README: Authentication): every request carries the token. From the
    # environment only, so the token never shows in a process list: LOCUST_AUTH_TOKEN=$(make token) make loadtest
    parser.add_argument(
        "--auth-token", env_var="LOCUST_AUTH_TOKEN", default="", help=argparse.SUPPRESS, include_in_web_ui=False
    )


@events.init.add_listener
def _make_avatars(environment: Environment, **_: Any) -> None:
    global _avatars
    if isinstance(environment.runner, MasterRunner) or environment.parsed_options is None:
        return
    try:
        mix = parse_mix(environment.parsed_options.avatar_mix)
    except AvatarMixError as exc:
        raise SystemExit(f"locust: --avatar-mix (Make: AVATAR_MIX): {exc}") from None
    files = [
        (f"photo-{n}.{fmt.lower()}", photo(fmt, size, seed=n), CONTENT_TYPES[fmt]) for n, (fmt, size) in enumerate(mix)
    ]
    _avatars = itertools.cycle(files)


def next_avatar() -> tuple[str, bytes, str]:
    """The next photo of the mix; before the mix is made (Locust's init), a small JPEG."""
    return next(_avatars, None) or _fallback_avatar()


@functools.cache
def _fallback_avatar() -> tuple[str, bytes, str]:
    return "photo.jpg", photo("JPEG", 60_000), CONTENT_TYPES["JPEG"]


class ApiUser(HttpUser):
    abstract = True

    def on_start(self) -> None:
        token = getattr(self.environment.parsed_options, "auth_token", "") if self.environment.parsed_options else ""
        if token:
            self.client.headers["Authorization"] = f"Bearer {token.strip()}"

    def wait_time(self) -> float:
        """Closed loop by default; with --target-rps, a fixed arrival rate shared by all users."""
        options = self.environment.parsed_options
        target = getattr(options, "target_rps", 0.0) if options else 0.0
        if target > 0:
            # Each process sees only its own users: with --processes N, N workers share the rate.
            requested = int(getattr(options, "processes", 0) or 0)
            processes = (os.cpu_count() or 1) if requested == -1 else max(1, requested)
            users = max(1, self.environment.runner.user_count if self.environment.runner else 1) * processes
            return float(constant_throughput(target / users)(self))
        return float(between(0.5, 2.0)(self))

    def list_page(self, limit: int) -> list[dict[str, Any]]:
        with self.client.get(f"/users?limit={limit}", name=LIST, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return []
            page: list[dict[str, Any]] = response.json()
            self.next_link = response.headers.get("Link")
            return page


class Browser(ApiUser):
    """Lists users and follows the Link header for a few pages."""

    weight = 3
    next_link: str | None = None

    @task
    def browse(self) -> None:
        self.list_page(50)
        for _ in range(2):
            if not self.next_link:
                break
            url = self.next_link.split(">", 1)[0].lstrip("<")
            with self.client.get(url, name=LIST, catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(str(response.status_code))
                    break
                self.next_link = response.headers.get("Link")


class SignUp(ApiUser):
    """Registers a new user with a generated avatar each time."""

    weight = 1

    @task
    def sign_up(self) -> None:
        email = f"load-{uuid.uuid4().hex}@example.com"
        with self.client.post(
            "/user",
            name=SIGN_UP,
            data={"name": "Load Test", "email": email},
            files={"avatar": next_avatar()},
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                _created.append(email)
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class AvatarViewer(ApiUser):
    """Opens a listed user's avatar: the redirect to a presigned URL (not followed)."""

    weight = 2

    @task
    def view(self) -> None:
        users = self.list_page(20)
        if not users:
            return
        email = random.choice(users)["email"]  # noqa: S311
        with self.client.get(
            f"/users/{email}/avatar", name=AVATAR, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 302:
                response.success()
            elif response.status_code != 404:  # deleted meanwhile by another run's cleanup: not an error
                response.failure(str(response.status_code))


@events.quitting.add_listener
def _clean_up(environment: Environment, **_: Any) -> None:
    """Delete the users this process created, outside the statistics, once its final stats are reported."""
    if isinstance(environment.runner, MasterRunner) or not environment.host:
        return
    with requests.Session() as session:
        if token := getattr(environment.parsed_options, "auth_token", "") if environment.parsed_options else "":
            session.headers["Authorization"] = f"Bearer {token.strip()}"
        while _created:
            email = _created.pop()
            with contextlib.suppress(requests.RequestException):  # best effort: the run is over
                session.delete(f"{environment.host.rstrip('/')}/users/{email}", timeout=10)
