"""The Lambda package, built for real (for this machine's Python), then run with nothing but itself.

Lambda's runtime gives a function its package and the standard library; here a
fresh interpreter with site-packages disabled (-S, -I) gets exactly that, imports
the handler and serves a real HTTP API event against the emulator.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from devtools.processes import REPO_ROOT
from tests.integration.make import make
from tests.support import REGION

pytestmark = pytest.mark.integration

package = importlib.import_module("backends.lambda.package")
HOST_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"

SERVE_ONE_EVENT = """
import json, sys
assert not any("site-packages" in entry for entry in sys.path), sys.path
from users_api.lambda_handler import handler
event = {
    "version": "2.0", "routeKey": "$default", "rawPath": "/users", "rawQueryString": "limit=5",
    "headers": {"host": "abc.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https"},
    "requestContext": {"http": {"method": "GET", "path": "/users", "protocol": "HTTP/1.1",
                                "sourceIp": "198.51.100.7", "userAgent": "test"},
                       "requestId": "pkg-test", "stage": "$default"},
    "isBase64Encoded": False,
}
print(json.dumps(handler(event, None)))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return package.build(HOST_RUNTIME, "x86_64", out_dir=tmp_path_factory.mktemp("lambda"), host=True, log=False)


def test_the_package_serves_an_event_with_only_itself_and_the_standard_library(
    built: Any, tmp_path: Path, moto_server: str, names: tuple[str, str]
) -> None:
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(unpacked)
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_server,
        "DYNAMODB_TABLE": names[0],
        "S3_BUCKET": names[1],
        "LOG_LEVEL": "WARNING",
    }

    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(unpacked)!r})\n{SERVE_ONE_EVENT}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == []


def test_the_package_holds_the_app_and_leaves_out_what_lambda_does_not_need(built: Any) -> None:
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    botocore_services = {
        name.split("/")[2] for name in names if name.startswith("botocore/data/") and name.count("/") > 3
    }

    assert "users_api/lambda_handler.py" in names
    assert "users_api/openapi.json" in names
    assert any(name.startswith("users_api/__pycache__/") and name.endswith(".pyc") for name in names)
    assert not any(name.startswith(("gunicorn/", "gevent/", "greenlet/", "zope/", "bin/")) for name in names)
    assert "users_api/wsgi.py" not in names
    assert botocore_services == {"dynamodb", "s3"}


def test_the_same_inputs_build_the_same_bytes(built: Any, tmp_path: Path) -> None:
    again = package.build(HOST_RUNTIME, "x86_64", out_dir=tmp_path, host=True, log=False)

    assert again.sha256_base64 == built.sha256_base64
    assert again.size_bytes == built.size_bytes


def test_make_package_lambda_warns_of_nothing_and_says_its_hash_is_base64_as_lambda_gives_it() -> None:
    result = make("package-lambda", timeout=900)  # pip fetches the target platform's wheels: minutes on a cold cache

    assert result.returncode == 0, result.stderr
    assert not re.search(r"\w+Warning\b", result.stderr), result.stderr  # a Python warning (RuntimeWarning, ...)
    [line] = [line for line in result.stdout.splitlines() if "sha256" in line]
    found = re.fullmatch(r"(\S+\.zip) +[0-9.]+ MB +sha256 \(base64, as Lambda's CodeSha256\): (\S+)", line)
    assert found, line
    zip_path, digest = found.groups()
    assert digest == base64.b64encode(hashlib.sha256((REPO_ROOT / zip_path).read_bytes()).digest()).decode()
