"""What listens on the emulator port, and whether Minikube's pods can reach it (``make localdev``'s step 2).

An open port proves nothing: ``make local``'s moto server listens on 127.0.0.1:4566, LocalStack's default port,
where the pods cannot reach it. So the listener is asked who it is, over HTTP:

- LocalStack answers ``GET /_localstack/health`` with JSON whose ``services`` maps each AWS service to its state
  (LocalStack's docs, "Internal Endpoints": "/_localstack/health checks the available and running AWS services").
- moto server answers ``GET /moto-api/`` with its dashboard (moto's server mode; this project's own
  ``devtools.processes.start_emulator`` waits on that path).

Then the same path is fetched from inside the Minikube node, as ``host.minikube.internal`` (the name the pods use):
``minikube ssh -- curl ...`` (curl is in minikube's kicbase image, ``deploy/kicbase/Dockerfile`` at v1.38.1, and
in its ISO). Standard library only.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

LOCALSTACK_HEALTH = "/_localstack/health"
MOTO_API = "/moto-api/"
NEEDED_SERVICES = ("dynamodb", "s3")
Runner = Callable[..., subprocess.CompletedProcess[str]]


class EmulatorError(RuntimeError):
    """The listener is not a usable emulator; the message names the fix."""


@dataclass(frozen=True)
class Emulator:
    kind: str  # "LocalStack" or "moto server"
    probe_path: str  # the path that identified it, fetched again from inside Minikube


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read(65536)
    except urllib.error.HTTPError as error:
        return error.code, b""
    except (urllib.error.URLError, OSError, ValueError):
        return 0, b""


def identify(port: int, timeout: float = 3.0) -> Emulator:
    """LocalStack or moto server on 127.0.0.1:``port``; EmulatorError for anything else."""
    base = f"http://127.0.0.1:{port}"
    status, body = _get(base + LOCALSTACK_HEALTH, timeout)
    if status == 200:
        try:
            services = json.loads(body).get("services")
        except (ValueError, AttributeError):
            services = None
        if isinstance(services, dict):
            missing = [name for name in NEEDED_SERVICES if services.get(name) not in ("available", "running")]
            if missing:
                raise EmulatorError(
                    f"LocalStack on port {port} does not offer {', '.join(missing)} (its /_localstack/health says "
                    f"{ {name: services.get(name) for name in missing} }): start it without a SERVICES restriction, "
                    "or with SERVICES=dynamodb,s3"
                )
            return Emulator("LocalStack", LOCALSTACK_HEALTH)
    status, _ = _get(base + MOTO_API, timeout)
    if status == 200:
        return Emulator("moto server", MOTO_API)
    raise EmulatorError(
        f"something listens on port {port}, but it is not an AWS emulator (neither LocalStack's {LOCALSTACK_HEALTH} "
        f"nor moto's {MOTO_API} answered): stop it, or run on another port, e.g. `make localdev EMULATOR_PORT=4567`"
    )


def probe_from_node_command(minikube: str, profile: str, port: int, path: str) -> list[str]:
    """The HTTP status of the emulator as Minikube's node reaches it, printed by curl (``000``: no connection)."""
    return [
        *(minikube, "-p", profile, "ssh", "--"),
        *("curl", "-s", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code}"),
        f"http://host.minikube.internal:{port}{path}",
    ]


def check_reachable_from_pods(
    minikube: str, profile: str, port: int, emulator: Emulator, run: Runner, cwd: str | None = None
) -> None:
    command: Sequence[str] = probe_from_node_command(minikube, profile, port, emulator.probe_path)
    # stdin closed: `minikube ssh` would otherwise read the terminal (and wait on it when run in the background)
    answer = run(list(command), cwd=cwd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if answer.returncode == 0 and answer.stdout.strip() == "200":
        return
    start = (
        f".venv/bin/moto_server -H 0.0.0.0 -p {port}"
        if emulator.kind == "moto server"
        else f"docker run --rm -p {port}:4566 ...  (Docker publishes on all interfaces by default)"
    )
    raise EmulatorError(
        f"the {emulator.kind} on port {port} answers on this machine but not from Minikube "
        f"(http://host.minikube.internal:{port}{emulator.probe_path} gave {answer.stdout.strip() or 'no answer'}): it "
        f"listens on 127.0.0.1 only, as `make local`'s does. Stop it and run `make localdev` again (it starts "
        f"LocalStack), or start it on all interfaces: {start}"
    )
