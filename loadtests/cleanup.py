"""The test users a run creates: written down as they are made, deleted in parallel before a deadline.

Each sign-up appends its email to ``created-users.txt`` *before* the request
leaves (an interrupted request may still create the user), one line per
write, so every process can append to the same file and nothing is lost when
a process is killed. ``make loadtest`` deletes them when the run ends,
however it ends (normal end, Ctrl-C, SIGTERM), from its own process, after
Locust and its workers have exited; ``make loadtest-cleanup RESULTS=<folder>``
deletes what a killed run left. A 404 means the user is not there (the
sign-up failed, or it was already deleted): done either way. What was deleted
is appended to ``deleted-users.txt``, so a second pass only tries the rest.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from devtools.make_args import MakeArgumentParser, whole_number

CREATED = "created-users.txt"
DELETED = "deleted-users.txt"
PARALLEL = 8
DEADLINE_S = 60.0


def record_created(path: Path, email: str) -> None:
    """Append one email: a single small write in append mode, so concurrent processes never interleave lines."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(email + "\n")


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def still_recorded(folder: Path) -> list[str]:
    """Emails written down as created and not yet deleted, in order, once each."""
    deleted = set(_lines(folder / DELETED))
    return [email for email in dict.fromkeys(_lines(folder / CREATED)) if email not in deleted]


@dataclass(frozen=True)
class Cleanup:
    recorded: int
    deleted: int
    left: list[str]

    def summary(self) -> str:
        if not self.left:
            return f"cleanup: {self.deleted} of {self.recorded} test users deleted (none left)"
        return f"cleanup: {len(self.left)} of {self.recorded} test users are left"


AUTH_TOKEN_VARIABLE = "LOCUST_AUTH_TOKEN"  # noqa: S105 - a variable name, not a secret; the locustfile reads it too


def delete_recorded(host: str, folder: Path, *, parallel: int = PARALLEL, deadline_s: float = DEADLINE_S) -> Cleanup:
    """Delete every recorded user not yet deleted: ``parallel`` requests at a time, none started after the deadline."""
    emails = still_recorded(folder)
    deadline = time.monotonic() + deadline_s
    left: list[str] = []
    deleted = 0

    def delete(session: requests.Session, email: str) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            response = session.delete(f"{host.rstrip('/')}/users/{quote(email)}", timeout=min(10.0, remaining))
        except requests.RequestException:
            return False
        return response.status_code in (200, 204, 404)

    with requests.Session() as session, ThreadPoolExecutor(max_workers=parallel) as pool:
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=parallel))
        session.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=parallel))
        if token := os.environ.get(AUTH_TOKEN_VARIABLE, "").strip():  # the run's token deletes what the run made
            session.headers["Authorization"] = f"Bearer {token}"
        futures = {pool.submit(delete, session, email): email for email in emails}
        with (folder / DELETED).open("a", encoding="utf-8") as done:
            for future in as_completed(futures):
                email = futures[future]
                if future.result():
                    done.write(email + "\n")
                    done.flush()
                    deleted += 1
                else:
                    left.append(email)
    return Cleanup(recorded=len(emails), deleted=deleted, left=left)


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("loadtest-cleanup", description=(__doc__ or "").splitlines()[0])
    parser.add_variable(
        "RESULTS", "--results", _results_folder, help="a run's results folder", example="results/smoke-20261202T001500Z"
    )
    parser.add_argument("--host", default=None, help="the API's URL (default: the run's, from its run.json)")
    parser.add_variable("PARALLEL", "--parallel", whole_number(1, 64), default=PARALLEL, help="deletes at a time")
    args = parser.parse_args(argv)
    host = args.host or _run_host(args.results)
    if host is None:
        parser.error(f"{args.results} has no run.json naming its host: give HOST_ADDRESS=<the API's URL>")
    result = delete_recorded(host, args.results, parallel=args.parallel)
    print(result.summary())
    return 0 if not result.left else 1


def _results_folder(raw: str) -> Path:
    path = Path(raw)
    if not (path / CREATED).is_file():
        raise ValueError(f"{raw!r} is not a load test's results folder (no {CREATED} in it)")
    return path


def _run_host(folder: Path) -> str | None:
    try:
        host = json.loads((folder / "run.json").read_text()).get("host")
    except (OSError, ValueError):
        return None
    return str(host) if host else None


if __name__ == "__main__":
    sys.exit(main())
