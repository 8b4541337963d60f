"""``make address``: print ``export HOST_ADDRESS=...`` for the selected Pulumi stack, or the local address.

Standard library only, so it works before the virtual environment exists. The
stack's address comes from its ``url`` output (the contract every backend
exports); with no Pulumi CLI or no selected stack, it is the local stack's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys

from .processes import REPO_ROOT, parse_port


def selected_stack_url() -> tuple[str | None, str]:
    """(url or None, why): the selected stack's ``url`` output, if there is a stack to ask."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None, "no Pulumi CLI on PATH"
    stack = subprocess.run(
        [pulumi, "stack", "--show-name", "--non-interactive"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if stack.returncode != 0 or not stack.stdout.strip():
        return None, "no Pulumi stack selected"
    outputs = subprocess.run(
        [pulumi, "stack", "output", "--json"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if outputs.returncode != 0:
        raise SystemExit(f"make address: `pulumi stack output` failed: {outputs.stderr.strip()}")
    values = json.loads(outputs.stdout or "{}")
    url = values.get("url")
    if not url and values.get("backend") == "minikube":
        url = minikube_url(values)
    if not url:
        raise SystemExit(
            f"make address: stack {stack.stdout.strip()!r} has no `url` output yet: run `pulumi up` "
            "(a load balancer's address can take a few minutes to appear), then try again"
        )
    return str(url), f"stack {stack.stdout.strip()}"


def minikube_url(outputs: dict[str, object]) -> str | None:
    """The Minikube node's IP (asked of minikube itself) and the release's NodePort."""
    minikube = shutil.which("minikube")
    node_port = outputs.get("nodePort")
    if minikube is None or node_port is None:
        return None
    ip = subprocess.run([minikube, "ip"], capture_output=True, text=True, check=False).stdout.strip()
    return f"http://{ip}:{node_port}" if ip else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make address")
    parser.add_argument("--port", default="5000", help="the local stack's port (Make: PORT)")
    args = parser.parse_args(argv)
    try:
        parse_port(args.port)
    except ValueError as exc:
        print(f"make address: PORT={exc}", file=sys.stderr)
        return 2
    url, why = selected_stack_url()
    if url is None:
        url = f"http://127.0.0.1:{args.port}"
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", int(args.port))) != 0:
                print(f"# {why}; nothing listens on {url} yet: start it with `make local`", file=sys.stderr)
    print(f"export HOST_ADDRESS={url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
