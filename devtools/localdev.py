"""``make localdev``: a Minikube stack in one step, with its AWS emulator reachable from the pods.

1. Minikube must be running (``minikube start``); the metrics-server addon is
   enabled for the HPA (its resolution is 60 s, so scaling is slower than on EKS).
2. An AWS emulator must answer on this machine's EMULATOR_PORT (4566). With
   none, LocalStack 4.14.0 (the last image that runs without an auth token)
   is started in Docker; any emulator works, e.g. moto: ``.venv/bin/moto_server
   -H 0.0.0.0 -p 4566``. The pods reach it as ``host.minikube.internal``:
   nobody pastes an IP address anywhere.
3. The app image is built into Minikube (``make minikube-image``).
4. The Pulumi stack is selected (or created) and configured: backend minikube,
   the Minikube IP for the ``url`` output; then ``pulumi up``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

from .make_args import MakeArgumentParser, port
from .processes import REPO_ROOT, port_in_use

LOCALSTACK_IMAGE = "localstack/localstack:4.14.0"  # later images exit with code 55 without LOCALSTACK_AUTH_TOKEN
APP_IMAGE = "flask-platform/users-api:dev"

Runner = Callable[..., subprocess.CompletedProcess[str]]


PULUMI_HOW = "install the Pulumi CLI: https://www.pulumi.com/docs/install/"


class LocaldevError(RuntimeError):
    """A prerequisite is missing; the message says how to get it."""


def need(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise LocaldevError(f"{tool} is not on PATH: {how}")
    return path


def need_minikube() -> str:
    return need("minikube", "install it from https://minikube.sigs.k8s.io/docs/start/")


def check_minikube_running(minikube: str, run: Runner = subprocess.run) -> None:
    status = run([minikube, "status"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if status.returncode != 0:
        raise LocaldevError("Minikube is not running: start it with `minikube start --cpus 2 --memory 4g`")


def image_build_command(minikube: str) -> list[str]:
    """Build the app's image (app/Dockerfile) inside Minikube, where the pods pull it with IfNotPresent."""
    return [minikube, "image", "build", "--tag", APP_IMAGE, "app"]


def step(number: int, text: str) -> None:
    print(f"[{number}/4] {text}", flush=True)


def localdev(stack: str, emulator_port: int, run: Runner = subprocess.run) -> None:
    minikube = need_minikube()
    pulumi = need("pulumi", PULUMI_HOW)

    def call(command: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(list(command), cwd=REPO_ROOT, capture_output=True, text=True, check=check)

    step(1, "checking Minikube and enabling metrics-server ...")
    check_minikube_running(minikube, run)
    call([minikube, "addons", "enable", "metrics-server"])

    step(2, f"checking for an AWS emulator on port {emulator_port} ...")
    if not port_in_use(emulator_port):
        docker = need(
            "docker",
            f"start any AWS emulator on port {emulator_port}, e.g. .venv/bin/moto_server -H 0.0.0.0 -p {emulator_port}",
        )
        call(
            [
                docker,
                "run",
                "--detach",
                "--rm",
                "--name",
                "flask-platform-localstack",
                "--publish",
                f"{emulator_port}:4566",
                LOCALSTACK_IMAGE,
            ]
        )

    step(3, f"building {APP_IMAGE} into Minikube ...")
    call(image_build_command(minikube))

    step(4, f"configuring stack {stack!r} and running pulumi up ...")
    if call([pulumi, "stack", "select", stack], check=False).returncode != 0:
        call([pulumi, "stack", "init", stack])
    ip = call([minikube, "ip"]).stdout.strip()
    call([pulumi, "config", "set", "backend", "minikube"])
    # The minikube backend's settings are in its config object (backends/minikube/settings.py); a stack made before
    # they moved holds the old flat keys, which the program now refuses: they go, with their values set anew.
    for old in ("minikubeIp", "emulatorUrl", "emulatorUrlFromPods"):
        call([pulumi, "config", "rm", old], check=False)
    for key, value in (
        ("minikube.ip", ip),
        ("minikube.emulatorUrl", f"http://localhost:{emulator_port}"),
        ("minikube.emulatorUrlFromPods", f"http://host.minikube.internal:{emulator_port}"),
    ):
        call([pulumi, "config", "set", "--path", key, value])
    run([pulumi, "up", "--yes"], cwd=REPO_ROOT, check=True)  # its own progress, straight to the terminal
    print("\nThe app is up: `make address` prints its address (the Minikube IP and the release's NodePort).")


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("localdev", description=(__doc__ or "").splitlines()[0])
    parser.add_variable("STACK", "--stack", default="minikube", help="the Pulumi stack to create or reuse")
    parser.add_variable("EMULATOR_PORT", "--emulator-port", port, default=4566, help="the emulator's port")
    parser.add_argument(
        "--check", action="store_true", help="only check the prerequisites (before the toolchain is installed)"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            check_minikube_running(need_minikube())
            need("pulumi", PULUMI_HOW)
            return 0
        localdev(args.stack, args.emulator_port)
    except LocaldevError as exc:
        print(f"make localdev: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-1:] if isinstance(exc.stderr, str) else []
        print(f"make localdev: `{' '.join(map(str, exc.cmd))}` failed: {' '.join(detail)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
