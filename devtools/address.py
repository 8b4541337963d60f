"""``make address``: print ``export HOST_ADDRESS=...`` for the selected Pulumi stack, or the local address.

Standard library only, so it works before the virtual environment exists. The
stack's address comes from its ``url`` output (the contract every backend
exports); with no Pulumi CLI or no selected stack, it is the local stack's.
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from .make_args import MakeArgumentParser, port
from .minikube_profile import ProfileError, host_system, node_port_host, parse_profiles
from .stack import StackError, kubeconfig_text, run_cli, selected_stack, stack_outputs, write_private

COMMAND = "make address"
ALB_WAIT = (
    "the AWS Load Balancer Controller creates the ALB within a minute or two of the Ingress, and its DNS name "
    "answers a few minutes later"
)


def selected_stack_url() -> tuple[str | None, str]:
    """(url or None, why): the selected stack's ``url`` output, if there is a stack to ask."""
    stack, why = selected_stack(COMMAND)
    if stack is None:
        return None, why
    values = stack_outputs(COMMAND)
    url = values.get("url")
    if values.get("backend") == "minikube":  # asked of minikube now: its IP and driver outlive no restart
        url = minikube_url(values) or url
    if not url and values.get("backend") == "eks":
        url = ingress_url(stack)
    if not url:
        raise StackError(
            f"{COMMAND}: stack {stack!r} has no `url` output yet: run `pulumi up` "
            "(a load balancer's address can take a few minutes to appear), then try again"
        )
    return str(url), f"stack {stack}"


def ingress_url(stack: str) -> str:
    """The ALB's address read from the Ingress itself, for when `pulumi up` finished before the ALB existed."""
    outputs = stack_outputs(COMMAND, show_secrets=True)
    kubectl = shutil.which("kubectl")
    kubeconfig = kubeconfig_text(outputs)
    namespace, name = outputs.get("namespace"), outputs.get("releaseName")
    if kubectl is None or kubeconfig is None or not namespace or not name:
        raise StackError(
            f"{COMMAND}: stack {stack!r} has no ALB address yet: {ALB_WAIT}. Run `pulumi up` again to record it "
            "(or install kubectl, and `make address` reads it from the Ingress)"
        )
    with tempfile.TemporaryDirectory() as private:  # the kubeconfig is a secret output: 700 and 600
        config = Path(private) / "kubeconfig"
        write_private(config, kubeconfig)
        found = run_cli(
            COMMAND,
            [
                kubectl,
                *("--kubeconfig", str(config), "-n", str(namespace), "get", "ingress", str(name)),
                *("-o", "jsonpath={.status.loadBalancer.ingress[0].hostname}"),
            ],
            "kubectl get ingress",
            "check that the cluster answers (`make kubeconfig`, then `kubectl get nodes`) "
            "and that your AWS credentials are valid (`aws sts get-caller-identity`)",
        )
    hostname = found.stdout.strip()
    if found.returncode != 0 or not hostname:
        detail = found.stderr.strip() or "the Ingress has no address in its status"
        raise StackError(
            f"{COMMAND}: the ALB of stack {stack!r} is not provisioned yet ({detail}): {ALB_WAIT}. Try again in a "
            f"minute; `kubectl -n {namespace} describe ingress {name}` shows the controller's events"
        )
    https = outputs.get("https") is True
    return f"{'https' if https else 'http'}://{hostname}"


def warn_if_unresolved(url: str) -> None:
    """A new ALB's DNS name takes minutes to answer: say so rather than let curl fail mysteriously."""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if not host.endswith(".elb.amazonaws.com"):
        return
    try:
        socket.getaddrinfo(host, 80)
    except OSError:
        print(f"# {host} does not resolve yet: {ALB_WAIT}", file=sys.stderr)


def minikube_url(outputs: dict[str, Any]) -> str | None:
    """The address this machine reaches the release's NodePort on, asked of minikube now (the profile is the stack's
    kube context): the node's IP, or where the docker/podman node container really binds the port (``docker port``)
    wherever minikube's NeedsPortForward holds (macOS, Windows, WSL, Docker Desktop, rootless or remote daemons)."""
    minikube = shutil.which("minikube")
    node_port = outputs.get("nodePort")
    if minikube is None or node_port is None:
        return None
    profile = str(outputs.get("kubeContext") or "minikube")
    listed = run_cli(
        COMMAND, [minikube, "profile", "list", "-o", "json"], "minikube profile list", "check `minikube status`"
    )
    try:
        cluster = parse_profiles(listed.stdout).get(profile)
    except ProfileError as error:
        raise StackError(f"{COMMAND}: {error}") from None
    if cluster is None:
        raise StackError(
            f"{COMMAND}: the stack deploys to Minikube profile {profile!r}, which does not exist: "
            f"`minikube start -p {profile}`, then `make localdev MINIKUBE_PROFILE={profile}`"
        )

    def node_ip() -> str:
        return run_cli(
            COMMAND, [minikube, "-p", profile, "ip"], "minikube ip", "check `minikube status`"
        ).stdout.strip()

    def ask(command: list[str]) -> str:  # docker/podman port and system info: "" when absent or failing
        if shutil.which(command[0]) is None:
            return ""
        answer = run_cli(COMMAND, command, " ".join(command[:2]), f"check that `{command[0]} info` answers")
        return answer.stdout if answer.returncode == 0 else ""

    try:
        host = node_port_host(
            cluster,
            int(node_port),
            node_ip,
            host_system(),
            str(outputs.get("namespace") or "users-api"),
            str(outputs.get("releaseName") or "users-api"),
            ask,
        )
    except ProfileError as error:
        raise StackError(f"{COMMAND}: {error}") from None
    return f"http://{host}:{node_port}" if host else None


def main(argv: list[str] | None = None) -> int:
    parser = MakeArgumentParser("address")
    parser.add_variable("PORT", "--port", port, default=5000, help="the local stack's port")
    args = parser.parse_args(argv)
    try:
        url, why = selected_stack_url()
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    if url is not None:
        warn_if_unresolved(url)
    else:
        url = f"http://127.0.0.1:{args.port}"
        with socket.socket() as sock:
            sock.settimeout(0.2)
            listening = sock.connect_ex(("127.0.0.1", args.port)) == 0
        state = "`make local` answers there" if listening else "nothing listens there yet: start it with `make local`"
        print(f"# {why}: the local address; {state}", file=sys.stderr)
    print(f"export HOST_ADDRESS={url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
