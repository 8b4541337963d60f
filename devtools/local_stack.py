"""``make local``: the whole service on this machine, on an embedded AWS emulator, until Ctrl-C.

Starts moto server on 127.0.0.1:EMULATOR_PORT, creates the users table and the
avatar bucket there, starts the app under gunicorn on 127.0.0.1:PORT, waits for
/readyz, prints the export line and serves. Beside it runs the reconciler
(``users_api.reconcile``) every minute: moto does not run the bucket's lifecycle
rule, so this resolves avatars left pending longer than PENDING_MAX_AGE seconds
(finalised when their user exists, deleted otherwise). Ctrl-C (or SIGTERM)
stops every child it started.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from users_api.config import LOG_LEVELS  # the app's own list: checked before anything starts
from users_api.reconcile import DEFAULT_MIN_AGE_SECONDS

from .local_issuer import LocalIssuer, auth_environment
from .make_args import MakeArgumentParser, one_of, port, whole_number
from .processes import (
    IN_USE,
    PRIVILEGED,
    REPO_ROOT,
    StartupError,
    first_unprivileged_port,
    gunicorn_command,
    lambda_front_command,
    spawn,
    start_emulator,
    stop,
    wait_for_http,
    why_not_listenable,
)
from .resources import app_environment, create_resources

LOG_DIR = REPO_ROOT / ".local"
SERVERS = ("gunicorn", "lambda")
DEFAULT_PORTS = {"PORT": 5000, "EMULATOR_PORT": 4566, "ISSUER_PORT": 4580}


LAMBDA_MAX_TIMEOUT = 900  # seconds: Lambda's own limit
RECONCILE_EVERY_SECONDS = 60


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = MakeArgumentParser("local", description=__doc__.splitlines()[0])
    parser.add_variable("PORT", "--port", port, default=DEFAULT_PORTS["PORT"], help="the app's port")
    parser.add_variable(
        "EMULATOR_PORT", "--emulator-port", port, default=DEFAULT_PORTS["EMULATOR_PORT"], help="moto server's port"
    )
    parser.add_variable("AWS_REGION", "--region", default="us-east-1", help="the emulated AWS region")
    parser.add_variable("DYNAMODB_TABLE", "--table", default="users", help="the users table's name")
    parser.add_variable("S3_BUCKET", "--bucket", default="users-avatars", help="the avatar bucket's name")
    parser.add_variable("GUNICORN_WORKERS", "--workers", whole_number(1), default=2, help="gunicorn workers")
    parser.add_variable(
        "GUNICORN_WORKER_CONNECTIONS",
        "--worker-connections",
        whole_number(1, 100_000),
        default=1000,
        help="connections each gevent worker serves at once",
    )
    # GUNICORN_THREADS= was this setting under gthread workers; gevent workers ignore threads.
    parser.add_argument("--retired-threads", default="", help=argparse.SUPPRESS)
    parser.add_variable(
        "LOG_LEVEL", "--log-level", one_of(LOG_LEVELS, upper=True), default="INFO", help="the app's log level"
    )
    parser.add_variable(
        "SERVER",
        "--server",
        one_of(SERVERS),
        default="gunicorn",
        help="gunicorn (the container's server) or lambda (the Lambda handler behind a local HTTP API)",
    )
    parser.add_variable(
        "AUTH", "--auth", one_of(("on", "off")), default="off", help="bearer tokens from a local issuer"
    )
    parser.add_variable(
        "ISSUER_PORT", "--issuer-port", port, default=DEFAULT_PORTS["ISSUER_PORT"], help="AUTH=on: the issuer's port"
    )
    # BACKEND= was this variable's name; it now means only the deployment's backend (`pulumi config set backend`).
    parser.add_argument("--retired-backend", default="", help=argparse.SUPPRESS)
    parser.add_variable(
        "LAMBDA_TIMEOUT",
        "--lambda-timeout",
        whole_number(1, LAMBDA_MAX_TIMEOUT),
        default=15,
        help="with --server lambda: the function's timeout, seconds",
    )
    parser.add_variable(
        "PENDING_MAX_AGE",
        "--pending-max-age",
        whole_number(0, 7 * 24 * 3600),
        default=DEFAULT_MIN_AGE_SECONDS,
        help="seconds an avatar may stay pending before the reconciler resolves it",
    )
    args = parser.parse_args(argv)
    if args.retired_backend:
        parser.error(
            f"BACKEND={args.retired_backend} is now SERVER (BACKEND names a deployment's backend): "
            f"make local SERVER={args.retired_backend}"
        )
    if args.retired_threads:
        parser.error(
            f"GUNICORN_THREADS={args.retired_threads} does nothing now (gevent workers serve connections, not threads):"
            " set GUNICORN_WORKER_CONNECTIONS, the connections per worker (default 1000)"
        )
    if args.port == args.emulator_port:
        parser.error(f"PORT and EMULATOR_PORT are both {args.port}: give them different values")
    if args.auth == "on" and args.issuer_port in (args.port, args.emulator_port):
        parser.error(f"ISSUER_PORT is {args.issuer_port}, as PORT or EMULATOR_PORT: give it a port of its own")
    return args


def port_problem(variable: str, port: int) -> str | None:
    """Why the server for ``variable`` could not listen on ``port``, with the fix; None if it can."""
    why = why_not_listenable(port)
    if why == IN_USE:
        return (
            f"port {port} ({variable}) is already in use: stop what listens there, "
            f"or choose another, e.g. make local {variable}={port + 1}"
        )
    if why == PRIVILEGED:
        first = first_unprivileged_port()
        fix = f"e.g. make local {variable}={DEFAULT_PORTS[variable]}"
        if port < first:
            return f"port {port} ({variable}) needs root to listen on: choose a port from {first} up, {fix}"
        return f"this user may not listen on port {port} ({variable}): permission denied; choose another, {fix}"
    return None


def server_label(server: str) -> str:
    return "gunicorn" if server == "gunicorn" else "Lambda handler behind a local HTTP API"


def server_command(args: argparse.Namespace) -> list[str]:
    if args.server == "lambda":
        return lambda_front_command(args.port, args.lambda_timeout)
    return gunicorn_command(args.port, args.workers, args.worker_connections)


def reconciler_command(min_age_seconds: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "users_api.reconcile",
        "--every",
        str(RECONCILE_EVERY_SECONDS),
        "--min-age",
        str(min_age_seconds),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ports = [("PORT", args.port), ("EMULATOR_PORT", args.emulator_port)]
    for name, value in ports + ([("ISSUER_PORT", args.issuer_port)] if args.auth == "on" else []):
        problem = port_problem(name, value)
        if problem:
            print(f"make local: {problem}", file=sys.stderr)
            return 2
    LOG_DIR.mkdir(exist_ok=True)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children: dict[str, subprocess.Popen[bytes]] = {}
    issuers: list[LocalIssuer] = []
    emulator_log = (LOG_DIR / "emulator.log").open("ab")
    app_log_path = LOG_DIR / "app.log"
    try:
        print(f"[1/3] starting the AWS emulator (moto server) on 127.0.0.1:{args.emulator_port} ...", flush=True)
        endpoint_url = f"http://127.0.0.1:{args.emulator_port}"
        children["the AWS emulator"] = start_emulator(args.emulator_port, log=emulator_log, interrupted=stopping.is_set)
        print(f"[2/3] creating table {args.table!r} and bucket {args.bucket!r} ...", flush=True)
        create_resources(endpoint_url, args.region, args.table, args.bucket)
        if stopping.is_set():
            raise StartupError("interrupted")
        print(
            f"[3/3] starting the app ({server_label(args.server)}) on 127.0.0.1:{args.port}"
            f" (logs: {_shown(app_log_path)}) ...",
            flush=True,
        )
        issuer = LocalIssuer(args.issuer_port).start() if args.auth == "on" else None
        if issuer is not None:
            issuers.append(issuer)
            print(f"      with a local token issuer on {issuer.url} (make token prints a token)", flush=True)
        app = spawn(
            server_command(args),
            env=auth_environment(
                {  # the API's own URLs are built on its address here, never on a client's Host
                    **app_environment(endpoint_url, args.region, args.table, args.bucket, args.log_level),
                    "PUBLIC_URL": f"http://127.0.0.1:{args.port}",
                },
                issuer,
            ),
            log=app_log_path.open("ab"),
        )
        children[f"the app ({server_label(args.server)})"] = app
        children["the reconciler"] = spawn(
            reconciler_command(args.pending_max_age),
            env=app_environment(endpoint_url, args.region, args.table, args.bucket, args.log_level),
            log=(LOG_DIR / "reconciler.log").open("ab"),
        )
        wait_for_http(f"http://127.0.0.1:{args.port}/readyz", app, timeout=60, interrupted=stopping.is_set)
        print("\nThe users API is up. In another shell:\n", flush=True)
        print(f"export HOST_ADDRESS=http://127.0.0.1:{args.port}", flush=True)
        if args.auth == "on":
            print(f"export TOKEN=$(make token ISSUER_PORT={args.issuer_port})   # writes need it", flush=True)
        print(f"\nAPI docs: http://127.0.0.1:{args.port}/docs/   Ctrl-C stops everything.", flush=True)
        while not stopping.is_set():
            for label, child in children.items():
                if child.poll() is not None:
                    print(
                        f"make local: {label} exited with code {child.returncode}; see {_shown(LOG_DIR)} for its log",
                        file=sys.stderr,
                    )
                    return 1
            stopping.wait(0.5)
        return 0
    except StartupError as exc:
        if stopping.is_set():
            return 0  # Ctrl-C while starting: stop quietly
        print(f"make local: {exc}; see the logs in {_shown(LOG_DIR)}", file=sys.stderr)
        return 1
    finally:
        print("\nstopping ...", flush=True)
        for child in reversed(children.values()):
            stop(child)
        for issuer in issuers:
            issuer.stop()
        emulator_log.close()
        print("stopped: every process make local started has exited.", flush=True)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
