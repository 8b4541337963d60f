"""The users a run created: written down before they are made, deleted in parallel, before a deadline, once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loadtests.cleanup import CREATED, DELETED, delete_recorded, main, record_created, still_recorded


class Users:
    """A stand-in for the API's DELETE /users/<email>: 204 for a known user, 404 otherwise, after ``delay``."""

    def __init__(self, emails: set[str], delay: float) -> None:
        self.emails, self.delay = set(emails), delay
        self.in_flight = self.most_in_flight = 0
        self.lock = threading.Lock()


@pytest.fixture
def api() -> Iterator[tuple[str, Users]]:
    users = Users(set(), 0.0)

    class Handler(BaseHTTPRequestHandler):
        def do_DELETE(self) -> None:
            with users.lock:
                users.in_flight += 1
                users.most_in_flight = max(users.most_in_flight, users.in_flight)
            time.sleep(users.delay)
            email = self.path.rsplit("/", 1)[1].replace("%40", "@")
            with users.lock:
                users.in_flight -= 1
                known = email in users.emails
                users.emails.discard(email)
            self.send_response(204 if known else 404)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", users
    server.shutdown()


def recorded(folder: Path, count: int) -> list[str]:
    emails = [f"load-{n}@example.com" for n in range(count)]
    for email in emails:
        record_created(folder / CREATED, email)
    return emails


def test_every_recorded_user_is_deleted_in_parallel_and_a_second_pass_has_nothing_left(
    tmp_path: Path, api: tuple[str, Users]
) -> None:
    """Defect 3: sequential deletes with a 0.3 s latency left 19 of 34 users when the workers were stopped."""
    host, users = api
    emails = recorded(tmp_path, 34)
    users.emails, users.delay = set(emails[:30]), 0.3  # 4 sign-ups failed: never created, a 404 each

    result = delete_recorded(host, tmp_path, parallel=8)

    assert (result.recorded, result.deleted, result.left) == (34, 34, [])
    assert users.emails == set()
    assert users.most_in_flight > 1, "deletes overlap"
    assert users.most_in_flight <= 8, "and stay within the bound"
    assert sorted((tmp_path / DELETED).read_text().split()) == sorted(emails)
    assert still_recorded(tmp_path) == []
    assert delete_recorded(host, tmp_path).recorded == 0


def test_past_the_deadline_nothing_more_starts_and_what_is_left_is_named(
    tmp_path: Path, api: tuple[str, Users]
) -> None:
    host, users = api
    users.emails = set(recorded(tmp_path, 5))

    result = delete_recorded(host, tmp_path, deadline_s=0)

    assert (result.deleted, len(result.left)) == (0, 5)
    assert users.emails, "nothing was deleted"
    assert result.summary() == "cleanup: 5 of 5 test users are left"


def test_an_unreachable_api_leaves_the_users_recorded_for_make_loadtest_cleanup(tmp_path: Path) -> None:
    recorded(tmp_path, 3)

    result = delete_recorded("http://127.0.0.1:9", tmp_path)

    assert len(result.left) == 3
    assert len(still_recorded(tmp_path)) == 3


def test_make_loadtest_cleanup_takes_the_runs_host_from_its_run_json(tmp_path: Path, api: tuple[str, Users]) -> None:
    host, users = api
    users.emails = set(recorded(tmp_path, 4))
    (tmp_path / "run.json").write_text(f'{{"host": "{host}"}}')

    assert main(["--results", str(tmp_path)]) == 0
    assert users.emails == set()


def test_a_folder_that_is_not_a_runs_is_refused_naming_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--results", str(tmp_path)])

    assert exit_.value.code == 2
    assert f"make loadtest-cleanup: RESULTS='{tmp_path}' is not a load test's results folder" in capsys.readouterr().err
