"""The users API's real traffic: browsing, signing up, viewing avatars, as arrivals on a schedule.

Open model: the scenario (a shape in ``loadtests/shapes/``) sets the arrival
rate of user actions, and each arrival runs one action on an idle virtual
user (``loadtests/plugin.py`` paces them): browse 3, view an avatar 2, sign
up 1. Request names are grouped per endpoint (``GET /users``, ``POST /user``,
``GET /users/[email]/avatar``) so statistics and thresholds are per endpoint,
not per URL; a response the app marks as its process's first (``X-Cold-Start``)
is recorded under its own name, ``<endpoint> (cold start)``. The users a run
creates are written down before they are made (``loadtests/cleanup.py``).

Run it with a shape: ``locust -f loadtests/locustfile.py,loadtests/shapes/ramp.py``
(``make loadtest SCENARIO=ramp`` does this).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import gevent
from gevent.event import AsyncResult
from locust import HttpUser, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner

from loadtests import (
    plugin,
    timing_listener,  # noqa: F401 - records the app's Server-Timing for the cost model
)
from loadtests.avatar_mix import DEFAULT_MIX, AvatarMixError, parse_mix
from loadtests.cleanup import record_created
from loadtests.measure import COLD_START_SUFFIX
from loadtests.photos import CONTENT_TYPES, photo

LIST = "GET /users"
SIGN_UP = "POST /user"
AVATAR = "GET /users/[email]/avatar"
COLD_START_HEADER = "X-Cold-Start"


# (file name, bytes, Content-Type) of each avatar in the mix, made once per process before the load starts
# (making a 2 MB photo takes up to a second of CPU, which must not stall the load generator mid-run), in a
# native thread: a worker whose gevent loop stalls for 3 s misses its heartbeats and the master drops it
# (HEARTBEAT_LIVENESS x HEARTBEAT_INTERVAL in locust/runners.py); the GIL's switch interval lets the loop run.
Avatar = tuple[str, bytes, str]
_avatars: AsyncResult | None = None


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

    def make() -> Iterator[Avatar]:
        files = [
            (f"photo-{n}.{fmt.lower()}", photo(fmt, size, seed=n), CONTENT_TYPES[fmt])
            for n, (fmt, size) in enumerate(mix)
        ]
        return itertools.cycle(files)

    _avatars = gevent.get_hub().threadpool.spawn(make)  # an AsyncResult: get() waits, or raises what make raised


def next_avatar() -> Avatar:
    """The next photo of the mix (waiting for it to be made); before Locust's init made one, a small JPEG."""
    if _avatars is None:
        return _fallback_avatar()
    cycle: Iterator[Avatar] = _avatars.get()
    return next(cycle)


@functools.cache
def _fallback_avatar() -> tuple[str, bytes, str]:
    return "photo.jpg", photo("JPEG", 60_000), CONTENT_TYPES["JPEG"]


def _observe(response: Any, name: str) -> None:
    """A cold start goes under its own name, in Locust's statistics and ours, out of the endpoint's latency."""
    if response.headers.get(COLD_START_HEADER) == "true":
        cast(dict[str, Any], response.request_meta)["name"] = name + COLD_START_SUFFIX


def list_page(user: HttpUser, url: str) -> tuple[list[dict[str, Any]], str | None]:
    """One page of users and the next page's URL; a failure is recorded and gives an empty page."""
    with user.client.get(url, name=LIST, catch_response=True) as response:
        _observe(response, LIST)
        if response.status_code != 200:
            response.failure(f"{response.status_code}: {response.text[:200]}")
            return [], None
        response.success()
        page: list[dict[str, Any]] = response.json()
        link = response.headers.get("Link")
        return page, link.split(">", 1)[0].lstrip("<") if link else None


def browse(user: HttpUser) -> None:
    """Lists users and follows the Link header for up to two more pages."""
    _, next_url = list_page(user, "/users?limit=50")
    for _ in range(2):
        if not next_url:
            break
        _, next_url = list_page(user, next_url)


def sign_up(user: HttpUser) -> None:
    """Registers a new user with the next avatar of the mix, written down before the request leaves."""
    email = f"load-{uuid.uuid4().hex}@example.com"
    options = user.environment.parsed_options
    record_created(Path(getattr(options, "created_users_file", None) or "created-users.txt"), email)
    with user.client.post(
        "/user",
        name=SIGN_UP,
        data={"name": "Load Test", "email": email},
        files={"avatar": next_avatar()},
        catch_response=True,
    ) as response:
        _observe(response, SIGN_UP)
        if response.status_code == 201:
            response.success()
        else:
            response.failure(f"{response.status_code}: {response.text[:200]}")


def view_avatar(user: HttpUser) -> None:
    """Opens a listed user's avatar: the redirect to a presigned URL (not followed)."""
    users, _ = list_page(user, "/users?limit=20")
    if not users:
        return
    email = random.choice(users)["email"]  # noqa: S311
    with user.client.get(f"/users/{email}/avatar", name=AVATAR, allow_redirects=False, catch_response=True) as response:
        _observe(response, AVATAR)
        if response.status_code in (302, 404):  # 404: deleted meanwhile by another run's cleanup, not an error
            response.success()  # said explicitly: a context left undecided fails on any status >= 400
        else:
            response.failure(f"{response.status_code}: {response.text[:200]}")


ACTIONS = {"browse": browse, "sign_up": sign_up, "view": view_avatar}


class VirtualUser(HttpUser):
    """One user of the pool (k6's virtual user): it waits for the next due arrival and runs its action."""

    wait_time = constant(0)

    def on_start(self) -> None:
        token = getattr(self.environment.parsed_options, "auth_token", "") if self.environment.parsed_options else ""
        if token:  # against a deployment with authentication on (LOCUST_AUTH_TOKEN)
            self.client.headers["Authorization"] = f"Bearer {token.strip()}"

    @task
    def next_arrival(self) -> None:
        ACTIONS[plugin.STATE.pacer.take()](self)
