"""A bad Make variable is named as the user typed it: `make local PORT=abc` says PORT, in one line, exit 2.

The Makefile turns variables into flags; the user never typed `--port`, so
the message names the variable, shows the value, says what a good one looks
like, and prints no usage block. Each case runs the real `make` target.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.make import make, recipe_status, said

pytestmark = pytest.mark.integration

Value = str | Callable[[Path], str]  # a literal, or a file made for the case in tmp_path


def missing_file(folder: Path) -> str:
    return str(folder / "no-such-thresholds.yaml")


def a_directory(folder: Path) -> str:
    return str(folder)


def written(text: str) -> Callable[[Path], str]:
    def make_file(folder: Path) -> str:
        path = folder / "thresholds.yaml"
        path.write_text(text)
        return str(path)

    make_file.__name__ = "file"
    return make_file


BAD_VALUES: list[tuple[str, str, Value]] = [
    ("local", "PORT", "abc"),
    ("local", "PORT", "0"),
    ("local", "EMULATOR_PORT", "70000"),
    ("local", "GUNICORN_WORKERS", "0"),
    ("local", "GUNICORN_WORKER_CONNECTIONS", "two"),
    ("local", "GUNICORN_WORKER_CONNECTIONS", "0"),
    ("local", "LAMBDA_TIMEOUT", "0"),
    ("local", "SERVER", "nomad"),
    ("local", "LOG_LEVEL", "LOUD"),
    ("local", "AUTH", "yes"),
    ("local", "ISSUER_PORT", "abc"),
    ("token", "SCOPE", 'users:"write"'),
    ("token", "EXPIRES", "0"),
    ("token", "EXPIRES", "86401"),
    ("token", "ISSUER_PORT", "70000"),
    ("local", "PENDING_MAX_AGE", "-1"),
    ("loadtest", "SCENARIO", "nope"),
    ("loadtest", "SERVER", "nomad"),
    ("loadtest", "MAX_IN_FLIGHT", "0"),
    ("loadtest", "HOST_ADDRESS", "127.0.0.1:5000"),
    ("loadtest", "TIME_SCALE", "0"),
    ("loadtest", "TIME_SCALE", "nan"),
    ("loadtest", "TARGET_RPS", "-1"),
    ("loadtest", "PROCESSES", "1.5"),
    ("loadtest", "THRESHOLDS", missing_file),
    ("loadtest", "THRESHOLDS", a_directory),
    ("loadtest", "THRESHOLDS", written("local: [p95<500\n")),
    ("loadtest", "THRESHOLDS", written("- p95<<500\n")),
    ("loadtest", "THRESHOLDS", written("local: p95<500\n")),
    ("loadtest", "AVATAR_MIX", "bmp:1m"),
    ("loadtest", "AVATAR_MIX", "jpeg:300k,png"),
    ("compare", "RATE", "abc"),
    ("compare", "RATE", "0"),
    ("compare", "COST_RPS", "-5"),
    ("compare", "TIME_SCALE", "inf"),
    ("compare", "SCENARIO", "nope"),
    ("compare-local", "RATE", "0"),
    ("address", "PORT", "http"),
    ("localdev", "EMULATOR_PORT", "abc"),
    ("localdev", "MINIKUBE_PROFILE", "-p lab"),
    ("minikube-image", "MINIKUBE_PROFILE", "a/b"),
    ("package-lambda", "RUNTIME", "python2.7"),
    ("package-lambda", "ARCH", "sparc"),
]


def case_id(target: str, variable: str, value: Value) -> str:
    return f"{target}-{variable}={value if isinstance(value, str) else value.__name__}"


@pytest.mark.parametrize(
    ("target", "variable", "value"),
    [pytest.param(*case, id=case_id(*case)) for case in BAD_VALUES],
)
def test_a_bad_value_is_one_line_naming_the_make_variable_and_an_example(
    target: str, variable: str, value: Value, tmp_path: Path
) -> None:
    given = value if isinstance(value, str) else value(tmp_path)
    result = make(target, f"{variable}={given}", *(["STACKS=dev"] if target == "compare" else []))

    assert recipe_status(result.stderr) == 2, result.stderr
    [line] = said(result.stderr)
    assert line.startswith(f"make {target}: {variable}={given!r} "), line
    assert f", e.g. make {target} {variable}=" in line or "e.g. '" in line, "what a value that works looks like"
    assert "usage:" not in result.stderr
    assert " --" not in line, "the internal flag is not what the user typed"
    assert "[1/3]" not in result.stdout, "nothing started"


def test_make_loadtests_old_backend_variable_is_refused_naming_server() -> None:
    """BACKEND is the deployment's backend; the local server of make loadtest is SERVER."""
    result = make("loadtest", "BACKEND=lambda")

    assert recipe_status(result.stderr) == 2, result.stderr
    assert said(result.stderr) == [
        "make loadtest: BACKEND='lambda' is now called SERVER: use make loadtest SERVER=lambda"
    ]
    assert "[1/3]" not in result.stdout, "nothing started"


def test_make_local_names_server_when_given_the_retired_backend_variable() -> None:
    """`make local BACKEND=lambda` chose the local server before SERVER; BACKEND now means the deployment's backend."""
    result = make("local", "BACKEND=lambda")

    assert recipe_status(result.stderr) == 2, result.stderr
    assert said(result.stderr) == [
        "make local: BACKEND=lambda is now SERVER (BACKEND names a deployment's backend): make local SERVER=lambda"
    ]
    assert "[1/3]" not in result.stdout, "nothing started"


def test_make_local_names_worker_connections_when_given_the_dead_threads_variable() -> None:
    """gevent workers ignore threads: `make local GUNICORN_THREADS=8` would have changed nothing, silently."""
    result = make("local", "GUNICORN_THREADS=8")

    assert recipe_status(result.stderr) == 2, result.stderr
    assert said(result.stderr) == [
        "make local: GUNICORN_THREADS=8 does nothing now (gevent workers serve connections, not threads): set"
        " GUNICORN_WORKER_CONNECTIONS, the connections per worker (default 1000)"
    ]
    assert "[1/3]" not in result.stdout, "nothing started"


def test_make_docker_run_names_worker_connections_when_given_the_dead_threads_variable() -> None:
    result = make("docker-run", "GUNICORN_THREADS=8")

    assert result.returncode != 0
    assert "GUNICORN_THREADS does nothing now (gevent workers): set GUNICORN_WORKER_CONNECTIONS" in result.stderr
    assert "docker run" not in result.stdout, "nothing started"
