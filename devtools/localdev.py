"""``make localdev``: a Minikube stack in one step, with its AWS emulator reachable from the pods.

1. Pulumi must work without a terminal (logged in; a passphrase for a DIY backend), Minikube's profile ``PROFILE``
   (default ``minikube``, also the stack's kube context) must be running and reachable (``devtools/minikube_profile``);
   the metrics-server addon is enabled for the HPA (its resolution is 60 s, so scaling is slower than on EKS).
2. The AWS emulator on this machine's EMULATOR_PORT (4566) is identified (LocalStack or moto server) and must answer
   from inside Minikube as ``host.minikube.internal``; with nothing listening, LocalStack 4.14.0 (the last image that
   runs without an auth token) is started in Docker. Anything else is refused with the fix
   (``devtools/emulator_probe.py``).
3. The app image is built into Minikube, tagged with the app's content digest (``make minikube-image``), so a
   changed app rolls out and an unchanged one is no change.
4. The Pulumi stack is selected (or created) and configured: backend minikube, the profile's context, the host
   this machine reaches the NodePort on (``devtools/minikube_profile.py``: the node IP, or the port the docker or
   podman driver publishes where minikube's NeedsPortForward holds); then ``pulumi up --refresh``: an emulator
   restarted since the last run lost the table and bucket, the refresh sees that and the update creates them again.
   Last, the address is proved: ``/livez`` must answer from this machine, or the message names the fix
   (``minikube delete``, then ``--ports``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence

from .emulator_probe import Emulator, EmulatorError, check_reachable_from_pods, identify
from .make_args import MakeArgumentParser, port
from .minikube_profile import (
    Profile,
    ProfileError,
    host_system,
    node_port_host,
    parse_profiles,
    refuse_unreachable_network,
    start_command,
)
from .processes import REPO_ROOT, port_in_use

LOCALSTACK_IMAGE = "localstack/localstack:4.14.0"  # later images exit with code 55 without LOCALSTACK_AUTH_TOKEN
LOCALSTACK_START_SECONDS = 90.0
LOCALSTACK_CONTAINER = (
    "flask-platform-localstack"  # `pulumi destroy` leaves it: `docker stop flask-platform-localstack`
)
FAILURE_LINES = 15
DEFAULT_NODE_PORT, DEFAULT_NAMESPACE, DEFAULT_APP_NAME = 30080, "users-api", "users-api"
LIVEZ_ATTEMPTS = 5  # after `pulumi up` has waited for the release's pods to be ready: a few seconds of slack
SIZED_FOR_CPUS = 4  # MINIKUBE_START's: the HPA's default maximum fits at the chart's requests

Runner = Callable[..., subprocess.CompletedProcess[str]]


PULUMI_HOW = "install the Pulumi CLI: https://www.pulumi.com/docs/install/"


class LocaldevError(RuntimeError):
    """A prerequisite is missing; the message says how to get it."""


PASSPHRASE_SOURCES = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
PULUMI_LOGIN_HOW = (
    "log in first: `pulumi login --local` (state in ~/.pulumi, no account) or `pulumi login` (Pulumi Cloud)"
)


def check_pulumi_ready(pulumi: str, run: Runner = subprocess.run, environ: Mapping[str, str] | None = None) -> None:
    """Refuse, before anything is created, what would make step 4's captured ``pulumi`` commands fail.

    Step 4 runs ``pulumi stack select/init`` and ``config set`` without a terminal, so Pulumi cannot prompt: not
    logged in, they fail with "PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
    (pulumi/pulumi#3202, #13293), and on a DIY backend (``file://``, ``s3://``, ``gs://``, ``azblob://``, whose default
    secrets provider is the passphrase one) without ``PULUMI_CONFIG_PASSPHRASE[_FILE]`` with "passphrase must be set
    with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables" (pulumi/pulumi#7001).
    ``pulumi whoami --json`` (``pkg/cmd/pulumi/whoami``) prints ``{"user", "organizations", "url", ...}``, ``url``
    being the backend's (``https://api.pulumi.com`` for Pulumi Cloud, ``file://~`` after ``pulumi login --local``).
    """
    env = os.environ if environ is None else environ
    answer = run(
        [pulumi, "whoami", "--json", "--non-interactive"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if answer.returncode != 0:
        said = " ".join((answer.stderr or "").strip().splitlines()[-2:]) or f"exit code {answer.returncode}"
        raise LocaldevError(f"Pulumi is not logged in ({said}): {PULUMI_LOGIN_HOW}")
    try:
        backend = str(json.loads(answer.stdout or "{}").get("url") or "")
    except (ValueError, AttributeError):
        backend = ""
    if backend.startswith(("https://", "http://")):
        return  # Pulumi Cloud (or self-hosted): its own secrets provider, no passphrase
    if not any(source in env for source in PASSPHRASE_SOURCES):  # an empty passphrase is a valid one
        raise LocaldevError(
            f"Pulumi's backend {backend or '(a DIY one)'} encrypts stack secrets with a passphrase, and `make "
            "localdev` runs Pulumi without a terminal to ask for it: `export PULUMI_CONFIG_PASSPHRASE=...` (or "
            "PULUMI_CONFIG_PASSPHRASE_FILE=<file>), the same every time for this stack, then `make localdev` again"
        )


def need(tool: str, how: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise LocaldevError(f"{tool} is not on PATH: {how}")
    return path


def need_minikube() -> str:
    return need("minikube", "install it from https://minikube.sigs.k8s.io/docs/start/")


def check_minikube_running(minikube: str, profile: str = "minikube", run: Runner = subprocess.run) -> None:
    status = run([minikube, "-p", profile, "status"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if status.returncode != 0:
        start = start_command(profile, DEFAULT_NODE_PORT, host_system(), "docker")
        raise LocaldevError(f"Minikube profile {profile!r} is not running: start it with `{start}`")


def read_profile(minikube: str, profile: str, run: Runner = subprocess.run) -> Profile:
    listed = run(
        [minikube, "profile", "list", "-o", "json"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    found = parse_profiles(listed.stdout or "{}").get(profile)
    if found is None:
        start = start_command(profile, DEFAULT_NODE_PORT, host_system(), "docker")
        raise LocaldevError(f"Minikube has no profile {profile!r}: create it with `{start}`")
    return found


def app_image_reference() -> str:
    """The tag the minikube backend deploys by default: the app's content digest (the plugin API's)."""
    from backends.minikube import local_image_reference  # Pulumi's SDK: only once the toolchain is installed

    return local_image_reference()


def image_build_command(minikube: str, profile: str, reference: str) -> list[str]:
    """Build the app's image (app/Dockerfile) inside Minikube, where the pods pull it with IfNotPresent."""
    return [minikube, "-p", profile, "image", "build", "--tag", reference, "app"]


def step(number: int, text: str) -> None:
    print(f"[{number}/4] {text}", flush=True)


def warn(text: str) -> None:
    print(f"make localdev: warning: {text}", file=sys.stderr, flush=True)


def wait_for_emulator(emulator_port: int, timeout: float = LOCALSTACK_START_SECONDS) -> Emulator:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return identify(emulator_port)
        except EmulatorError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def localdev(
    stack: str, emulator_port: int, profile: str = "minikube", run: Runner = subprocess.run, system: str | None = None
) -> None:
    minikube = need_minikube()
    pulumi = need("pulumi", PULUMI_HOW)
    system = system or host_system()
    check_pulumi_ready(pulumi, run)

    def call(command: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(list(command), cwd=REPO_ROOT, capture_output=True, text=True, check=check)

    def stream(command: Sequence[str]) -> None:
        """Minutes-long commands (an image pull, an image build): their progress goes to the terminal."""
        run(list(command), cwd=REPO_ROOT, check=True, stdin=subprocess.DEVNULL)

    def ask(command: list[str]) -> str:  # docker/podman port and system info: "" when it fails
        answer = call(command, check=False)
        return answer.stdout if answer.returncode == 0 else ""

    def stack_config(key: str, default: str) -> str:
        found = call([pulumi, "config", "get", "--path", key], check=False)
        return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else default

    step(1, f"checking Minikube (profile {profile!r}) and enabling metrics-server ...")
    check_minikube_running(minikube, profile, run)
    cluster = read_profile(minikube, profile, run)
    refuse_unreachable_network(cluster, DEFAULT_NODE_PORT)  # before the emulator, the image and the stack
    if 0 < cluster.cpus < SIZED_FOR_CPUS:
        warn(
            f"profile {profile!r} has {cluster.cpus} CPUs: at the chart's requests the HPA's maximum does not fit and "
            f"scale-out pods stay Pending. For a load test, recreate it: `minikube -p {profile} delete && "
            f"{start_command(profile, DEFAULT_NODE_PORT, system, cluster.driver)}`"
        )
    call([minikube, "-p", profile, "addons", "enable", "metrics-server"])

    step(2, f"checking the AWS emulator on port {emulator_port} ...")
    if not port_in_use(emulator_port):
        docker = need(
            "docker",
            f"start any AWS emulator on port {emulator_port}, e.g. .venv/bin/moto_server -H 0.0.0.0 -p {emulator_port}",
        )
        stream(  # docker pulls the image first (about 1 GB): its progress is shown
            [
                docker,
                *("run", "--detach", "--rm", "--name", LOCALSTACK_CONTAINER),
                *("--publish", f"{emulator_port}:4566", LOCALSTACK_IMAGE),
            ]
        )
        emulator = wait_for_emulator(emulator_port)
    else:
        emulator = identify(emulator_port)
    check_reachable_from_pods(minikube, profile, emulator_port, emulator, run, cwd=str(REPO_ROOT))
    print(f"      {emulator.kind} answers on port {emulator_port}, and from the pods", flush=True)

    reference = app_image_reference()
    step(3, f"building {reference} into Minikube ...")
    stream(image_build_command(minikube, profile, reference))

    step(4, f"configuring stack {stack!r} and running pulumi up --refresh ...")
    if call([pulumi, "stack", "select", stack], check=False).returncode != 0:
        call([pulumi, "stack", "init", stack])
    node_port = int(stack_config("minikube.nodePort", str(DEFAULT_NODE_PORT)))
    host = node_port_host(
        cluster,
        node_port,
        lambda: call([minikube, "-p", profile, "ip"]).stdout.strip(),
        system,
        stack_config("minikube.namespace", DEFAULT_NAMESPACE),
        stack_config("appName", DEFAULT_APP_NAME),
        ask,
    )
    call([pulumi, "config", "set", "backend", "minikube"])
    # The minikube backend's settings are in its config object (backends/minikube/settings.py); a stack made before
    # they moved holds the old flat keys, which the program now refuses: they go, with their values set anew.
    for old in ("minikubeIp", "emulatorUrl", "emulatorUrlFromPods", "minikubeContext"):
        call([pulumi, "config", "rm", old], check=False)
    for key, value in (
        ("minikube.context", profile),  # minikube names the kube context after the profile
        ("minikube.ip", host),
        ("minikube.emulatorUrl", f"http://localhost:{emulator_port}"),
        ("minikube.emulatorUrlFromPods", f"http://host.minikube.internal:{emulator_port}"),
    ):
        call([pulumi, "config", "set", "--path", key, value])
    # --refresh: the stack's record of the table and bucket is checked against the emulator, so what an emulator
    # restart lost is created again instead of being assumed present (LocalStack's community state is ephemeral).
    run([pulumi, "up", "--yes", "--refresh"], cwd=REPO_ROOT, check=True)  # its own progress, to the terminal
    url = f"http://{host}:{node_port}"
    if not app_answers(url):
        minikube_start = start_command(profile, node_port, system, cluster.driver, forward=True)
        raise LocaldevError(
            f"the release is deployed, but {url}/livez does not answer from this machine. With the docker or podman "
            f"driver where minikube cannot reach the node's IP (macOS, Windows, WSL, Docker Desktop for Linux, a "
            f"rootless or remote daemon) the NodePort must be published when the cluster is created: "
            f"`minikube delete -p {profile} && {minikube_start}`, then `make localdev` again (or keep "
            f"`minikube -p {profile} service -n {stack_config('minikube.namespace', DEFAULT_NAMESPACE)} "
            f"{stack_config('appName', DEFAULT_APP_NAME)} --url` open and use its URL)"
        )
    print(f"\nThe app is up at {url} (`make address` prints the export line).")


def app_answers(url: str, attempts: int = LIVEZ_ATTEMPTS, timeout: float = 3.0, pause: float = 2.0) -> bool:
    """``GET <url>/livez`` answers 200 within a few tries (the address this machine was told to use really works)."""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(f"{url}/livez", timeout=timeout) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if attempt + 1 < attempts:
            time.sleep(pause)
    return False


def failure_message(error: subprocess.CalledProcessError) -> str:
    """The failed command and the end of what it said (its last FAILURE_LINES lines, stderr then stdout); a streamed
    command's output is already on the terminal."""
    said = [
        line
        for text in (error.stderr, error.stdout)
        if isinstance(text, str)
        for line in text.strip().splitlines()[-FAILURE_LINES:]
    ]
    command = " ".join(map(str, error.cmd))
    if not said:
        return f"make localdev: `{command}` failed (exit code {error.returncode}; its output is above)"
    return f"make localdev: `{command}` failed (exit code {error.returncode}):\n" + "\n".join(
        f"  {line}" for line in said
    )


def profile_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value):
        raise ValueError(f"{value!r} is not a Minikube profile name (letters, digits, '.', '_', '-')")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("localdev", description=(__doc__ or "").splitlines()[0])
    parser.add_variable("STACK", "--stack", default="minikube", help="the Pulumi stack to create or reuse")
    parser.add_variable("EMULATOR_PORT", "--emulator-port", port, default=4566, help="the emulator's port")
    parser.add_variable(
        "MINIKUBE_PROFILE", "--profile", profile_name, default="minikube", help="the Minikube profile (minikube -p)"
    )
    parser.add_argument(
        "--check", action="store_true", help="only check the prerequisites (before the toolchain is installed)"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            check_minikube_running(need_minikube(), args.profile)
            check_pulumi_ready(need("pulumi", PULUMI_HOW))
            return 0
        localdev(args.stack, args.emulator_port, args.profile)
    except (LocaldevError, EmulatorError, ProfileError) as exc:
        print(f"make localdev: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(failure_message(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
