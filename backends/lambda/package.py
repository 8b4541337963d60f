"""The Lambda deployment package: the app and its pinned dependencies, built for one runtime and architecture.

``make package-lambda`` (devtools/package_lambda.py) and the Pulumi program
build it the same way, with this module. Dependencies come as manylinux wheels for the target platform
(``pip install --platform ... --only-binary=:all: --target``), so the package
is right for Lambda whatever machine builds it. The archive is deterministic:
same inputs, same bytes, same hash, so an unchanged app is not redeployed.

Trimmed: gunicorn (the container's server), console scripts, caches, and
botocore's models of services the app never calls.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "app"
BUILD_DIR = REPO_ROOT / ".build" / "lambda"
PLATFORM_TAGS = {
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
}
RUNTIMES = ("python3.12", "python3.13")  # Amazon Linux 2023: glibc 2.34, so manylinux_2_28 wheels load
# The container's server and its gevent workers (with what only they need); Lambda serves through apig-wsgi.
NOT_FOR_LAMBDA = {"gunicorn", "gevent", "greenlet", "zope.event", "zope.interface", "packaging"}
BOTOCORE_SERVICES_KEPT = {"dynamodb", "s3"}
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time leaks into the hash


@dataclass(frozen=True)
class Package:
    path: Path
    size_bytes: int
    sha256_base64: str  # Lambda's source_code_hash format
    bytecode: bool  # .pyc files for the target runtime are inside


def _requirement_name(line: str) -> str:
    return re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0].strip().lower()


def lambda_requirements(app_dir: Path) -> list[str]:
    lines = (app_dir / "requirements.txt").read_text().splitlines()
    return [
        line.strip()
        for line in lines
        if line.strip() and not line.lstrip().startswith("#") and _requirement_name(line) not in NOT_FOR_LAMBDA
    ]


def _pip_install(requirements: list[str], target: Path, runtime: str, architecture: str, host: bool) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
        str(target),
    ]
    if not host:
        command += ["--implementation", "cp", "--python-version", runtime.removeprefix("python")]
        for tag in PLATFORM_TAGS[architecture]:
            command += ["--platform", tag]
    subprocess.run([*command, *requirements], check=True)


def _trim(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and path.name in {"__pycache__", "tests"}:
            shutil.rmtree(path)
    shutil.rmtree(root / "bin", ignore_errors=True)
    botocore_data = root / "botocore" / "data"
    if botocore_data.is_dir():
        for service in botocore_data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES_KEPT:
                shutil.rmtree(service)


def _bytecode_interpreter(runtime: str, host: bool) -> str | None:
    """An interpreter of the runtime's version to compile with: this one on a host build, else pythonX.Y."""
    if host:
        return sys.executable
    explicit = os.environ.get("LAMBDA_PYTHON")
    candidate = explicit or shutil.which(runtime)
    if candidate is None:
        return None
    probe = subprocess.run(
        [candidate, "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return candidate if probe.stdout.strip() == runtime else None


def _compile(root: Path, interpreter: str) -> None:
    # unchecked-hash: the .pyc does not embed a timestamp (deterministic) and is never re-validated.
    subprocess.run(
        [
            interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-d",
            ".",
            str(root),
        ],
        check=True,
    )


def _zip(root: Path, destination: Path) -> None:
    temporary = destination.with_suffix(".tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    temporary.replace(destination)


def build(
    runtime: str = "python3.12",
    architecture: str = "arm64",
    *,
    app_dir: Path = APP_DIR,
    out_dir: Path = BUILD_DIR,
    host: bool = False,
    log: bool = True,
) -> Package:
    """Build ``users-api-<runtime>-<architecture>.zip``; ``host`` builds for this machine's Python instead."""
    if runtime not in RUNTIMES and not host:
        raise ValueError(f"runtime {runtime!r} is not one of {', '.join(RUNTIMES)}")
    if architecture not in PLATFORM_TAGS:
        raise ValueError(f"architecture {architecture!r} is not one of {', '.join(PLATFORM_TAGS)}")
    label = "host" if host else f"{runtime}-{architecture}"
    staging = out_dir / f"staging-{label}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)

    def say(message: str) -> None:
        if log:
            print(f"package-lambda: {message}", file=sys.stderr, flush=True)

    say(f"installing pinned dependencies for {label} ...")
    _pip_install(lambda_requirements(app_dir), staging, runtime, architecture, host)
    shutil.copytree(
        app_dir / "users_api",
        staging / "users_api",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "gunicorn_conf.py", "wsgi.py"),
    )
    _trim(staging)
    interpreter = _bytecode_interpreter(runtime, host)
    if interpreter:
        say(f"precompiling bytecode with {Path(interpreter).name} ...")
        _compile(staging, interpreter)
    else:
        say(
            f"no {runtime} interpreter found (set LAMBDA_PYTHON=/path/to/{runtime}): the package ships without .pyc"
            " files, and since /var/task is read-only every cold start compiles them again; its hash also differs"
            " from a build with bytecode"
        )
    destination = out_dir / f"users-api-{label}.zip"
    _zip(staging, destination)
    shutil.rmtree(staging)
    digest = base64.b64encode(hashlib.sha256(destination.read_bytes()).digest()).decode()
    return Package(destination, destination.stat().st_size, digest, interpreter is not None)
