"""``make bench``: what the users API costs, measured here and printed. Never asserted: machines are noisy.

Against a local moto server holding a table of 100 users it reports:
  * CPU milliseconds per request spent in the app's own processes (gunicorn
    master and worker, read from /proc through psutil) for ``GET /users`` (a
    page of 100) and for ``POST /user`` with a 40 KB PNG;
  * a fresh Python process's time from start to its first ``GET /users`` response;
  * a gunicorn process's time from start to ``/readyz`` 200.
The figures of the implementation this project replaces, measured on the same
emulator and load, are printed beside them with the targets.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import requests
from PIL import Image

from loadtests.photos import phone_jpeg

from .processes import REPO_ROOT, free_port, gunicorn_command, spawn, start_emulator, stop, wait_for_http
from .resources import app_environment, create_resources, dynamodb_client

REGION = "us-east-1"
RESULTS = REPO_ROOT / ".bench" / "results.json"
QUICKSTART_PHOTO = REPO_ROOT / "support" / "avatar.jpg"
# The replaced implementation, measured on the same emulator and load (issue 2), and the targets.
BASELINE_GET_CPU_MS, BASELINE_POST_CPU_MS = 15.0, 34.0
BASELINE_FIRST_RESPONSE_MS = (360.0, 510.0)
TARGET_GET_CPU_MS, TARGET_POST_CPU_MS = BASELINE_GET_CPU_MS / 3, BASELINE_POST_CPU_MS / 3
TARGET_FIRST_RESPONSE_MS = 0.6 * BASELINE_FIRST_RESPONSE_MS[0]

LAMBDA_COLD_START_SCRIPT = """
from users_api.lambda_handler import handler
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/users", "rawQueryString": "",
    "headers": {"host": "bench.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"},
    "requestContext": {"http": {"method": "GET", "path": "/users", "protocol": "HTTP/1.1",
                                "sourceIp": "127.0.0.1", "userAgent": "bench"},
                       "requestId": "bench", "stage": "$default"},
    "isBase64Encoded": False,
}
assert handler(event, None)["statusCode"] == 200
print("answered", flush=True)
"""
FIRST_RESPONSE_SCRIPT = """
from users_api import create_app
response = create_app().test_client().get("/users")
assert response.status_code == 200, response.status_code
print("answered", flush=True)
"""


def png_of_about(size: int, seed: int = 1) -> bytes:
    side = int((size / 3) ** 0.5)
    pixels = random.Random(seed).randbytes(side * side * 3)  # noqa: S311 - benchmark pixels, not a secret
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG")
    return out.getvalue()


def seed_users(endpoint_url: str, table: str, count: int) -> None:
    dynamodb = dynamodb_client(endpoint_url, REGION)
    for i in range(count):
        dynamodb.put_item(
            TableName=table,
            Item={
                "email": {"S": f"seed-{i:03d}@example.com"},
                "name": {"S": f"Seed User {i}"},
                "avatar_key": {"S": f"avatars/{uuid.uuid4().hex}.png"},
                "created_at": {"S": "2026-11-27T00:00:00.000000Z"},
            },
        )


def tree_cpu_seconds(root: psutil.Process) -> float:
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def cpu_ms_per_request(root: psutil.Process, count: int, send: Callable[[int], None]) -> float:
    before = tree_cpu_seconds(root)
    for i in range(count):
        send(i)
    return (tree_cpu_seconds(root) - before) * 1000 / count


def measure_cpu(endpoint_url: str, table: str, bucket: str, requests_per_endpoint: int) -> dict[str, float]:
    port = free_port()
    log = (RESULTS.parent / "gunicorn.log").open("ab")
    app = spawn(gunicorn_command(port, workers=1), env=app_environment(endpoint_url, REGION, table, bucket), log=log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/readyz", app, timeout=60)
        root = psutil.Process(app.pid)
        session = requests.Session()
        small_png = png_of_about(40_000)
        photos = {"photo": QUICKSTART_PHOTO.read_bytes(), "phone": phone_jpeg()}

        def get_users(_: int) -> None:
            response = session.get(f"{base}/users?limit=100", timeout=30)
            response.raise_for_status()
            assert len(response.json()) == 100

        def post_user(avatar: bytes) -> Callable[[int], None]:
            def send(_: int) -> None:
                response = session.post(
                    f"{base}/user",
                    data={"name": "Bench User", "email": f"bench-{uuid.uuid4().hex}@example.com"},
                    files={"avatar": ("avatar", avatar, "application/octet-stream")},
                    timeout=30,
                )
                assert response.status_code == 201, response.text

            return send

        for i in range(20):  # warm up: imports, connection pools, Pillow's plugins
            get_users(i)
        for avatar in (small_png, *photos.values()):
            post_user(avatar)(0)
        figures = {
            "get_users_cpu_ms": cpu_ms_per_request(root, requests_per_endpoint, get_users),
            "post_user_cpu_ms": cpu_ms_per_request(root, requests_per_endpoint, post_user(small_png)),
            "avatar_bytes": float(len(small_png)),
        }
        for label, photo in photos.items():  # decoding and re-encoding a photo costs 10-100x more: fewer rounds
            figures[f"post_{label}_cpu_ms"] = cpu_ms_per_request(
                root, max(5, requests_per_endpoint // 10), post_user(photo)
            )
            figures[f"{label}_bytes"] = float(len(photo))
        return figures
    finally:
        stop(app)
        log.close()


def time_to_first_response(
    env: dict[str, str], runs: int, command: list[str] | None = None, cwd: Path = REPO_ROOT
) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        process = subprocess.Popen(
            command or [sys.executable, "-c", FIRST_RESPONSE_SCRIPT], env=env, stdout=subprocess.PIPE, cwd=cwd
        )
        assert process.stdout is not None
        line = b""
        for line in process.stdout:  # the app's own JSON log line comes first
            if line.strip() == b"answered":
                break
        timings.append((time.perf_counter() - started) * 1000)
        process.wait()
        if line.strip() != b"answered":
            raise RuntimeError(f"the fresh process did not answer GET /users (exit {process.returncode})")
    return timings


def time_to_ready(env: dict[str, str], runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        port = free_port()
        started = time.perf_counter()
        app = spawn(gunicorn_command(port, workers=1), env=env)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/readyz", app, timeout=60)
            timings.append((time.perf_counter() - started) * 1000)
        finally:
            stop(app)
    return timings


def lambda_package(runtime: str, architecture: str) -> Any:
    """The deployable package, built exactly as `make package-lambda` builds it."""
    return importlib.import_module("backends.lambda.package").build(
        runtime, architecture, out_dir=RESULTS.parent / "lambda", log=False
    )


def lambda_cold_start(env: dict[str, str], runs: int) -> list[float]:
    """A fresh interpreter holding only the package (built for this machine) and the standard library."""
    packaging = importlib.import_module("backends.lambda.package")
    host = f"python{sys.version_info.major}.{sys.version_info.minor}"
    built = packaging.build(host, "x86_64", out_dir=RESULTS.parent / "lambda-host", host=True, log=False)
    task = RESULTS.parent / "lambda-host" / "task"
    shutil.rmtree(task, ignore_errors=True)
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(task)
    script = f"import sys; sys.path.insert(0, {str(task)!r})\n{LAMBDA_COLD_START_SCRIPT}"
    return time_to_first_response(env, runs, [sys.executable, "-I", "-S", "-c", script], cwd=task)


def interpreter_start(runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):7.1f} ms   (min {min(values):.1f}, max {max(values):.1f}, n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint for the CPU figures")
    parser.add_argument("--runs", type=int, default=7, help="fresh processes for each start-up figure")
    parser.add_argument("--lambda-runtime", default="python3.12", help="runtime of the Lambda package to size")
    parser.add_argument("--lambda-architecture", default="arm64", help="architecture of the Lambda package to size")
    args = parser.parse_args(argv)
    if args.requests < 10 or args.runs < 1:
        parser.error("--requests must be at least 10 and --runs at least 1")

    RESULTS.parent.mkdir(exist_ok=True)
    emulator_port = free_port()
    print(f"starting moto server on 127.0.0.1:{emulator_port} ...", flush=True)
    emulator = start_emulator(emulator_port, log=(RESULTS.parent / "emulator.log").open("ab"))
    try:
        endpoint_url = f"http://127.0.0.1:{emulator_port}"
        table, bucket = "bench-users", "bench-avatars"
        create_resources(endpoint_url, REGION, table, bucket)
        print("seeding 100 users ...", flush=True)
        seed_users(endpoint_url, table, 100)
        env = app_environment(endpoint_url, REGION, table, bucket)

        print("timing fresh processes to their first GET /users ...", flush=True)
        first = time_to_first_response(env, args.runs)
        print("timing gunicorn from start to /readyz 200 ...", flush=True)
        ready = time_to_ready(env, args.runs)
        bare = interpreter_start(args.runs)
        print("timing the Lambda handler's cold start (package for this machine, stdlib only) ...", flush=True)
        cold = lambda_cold_start(env, args.runs)
        print(f"measuring CPU over {args.requests} requests per endpoint (1 worker, 1 thread) ...", flush=True)
        cpu = measure_cpu(endpoint_url, table, bucket, args.requests)
    finally:
        stop(emulator)
    print(f"building the Lambda package for {args.lambda_runtime}/{args.lambda_architecture} ...", flush=True)
    package = lambda_package(args.lambda_runtime, args.lambda_architecture)

    results = {
        **cpu,
        "first_response_ms": statistics.median(first),
        "ready_ms": statistics.median(ready),
        "interpreter_start_ms": statistics.median(bare),
        "lambda_cold_start_ms": statistics.median(cold),
        "lambda_package_bytes": package.size_bytes,
        "lambda_package_bytecode": package.bytecode,
        "runs": {
            "first_response_ms": first,
            "ready_ms": ready,
            "interpreter_start_ms": bare,
            "lambda_cold_start_ms": cold,
        },
    }
    RESULTS.write_text(json.dumps(results, indent=2))
    low, high = BASELINE_FIRST_RESPONSE_MS
    print()
    print("users API benchmark (lower is better; printed, never asserted)")
    print(
        f"  CPU per GET /users (page of 100):     {cpu['get_users_cpu_ms']:6.2f} ms   "
        f"target <= {TARGET_GET_CPU_MS:.1f}, replaced: {BASELINE_GET_CPU_MS:.0f}"
    )
    print(
        f"  CPU per POST /user ({cpu['avatar_bytes'] / 1000:.0f} KB PNG):        {cpu['post_user_cpu_ms']:6.2f} ms   "
        f"target <= {TARGET_POST_CPU_MS:.1f}, replaced: {BASELINE_POST_CPU_MS:.0f}"
    )
    print(
        f"  CPU per POST /user ({cpu['photo_bytes'] / 1000:.0f} KB JPEG, 1280x960, the README's photo): "
        f"{cpu['post_photo_cpu_ms']:6.2f} ms"
    )
    print(
        f"  CPU per POST /user ({cpu['phone_bytes'] / 1e6:.1f} MB JPEG, 4032x3024, a phone's photo): "
        f"{cpu['post_phone_cpu_ms']:6.2f} ms"
    )
    print(
        f"  fresh process to first GET /users:  {spread(first)}   "
        f"target <= {TARGET_FIRST_RESPONSE_MS:.0f}, replaced: {low:.0f}-{high:.0f}"
    )
    print(f"  gunicorn start to /readyz 200:      {spread(ready)}")
    print(f"  Lambda handler, fresh process to first GET /users event: {spread(cold)}")
    print(
        f"  Lambda package {args.lambda_runtime}/{args.lambda_architecture}: {package.size_bytes / 1e6:.1f} MB"
        f"  (bytecode {'included' if package.bytecode else 'not included: no ' + args.lambda_runtime + ' found'};"
        f" aim <= 20 MB, untrimmed ~29 MB, direct-upload limit 50 MB)"
    )
    print(f"  (bare interpreter start:            {spread(bare)})")
    print(f"\nraw figures: {Path(RESULTS).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
