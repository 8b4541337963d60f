"""The selected Pulumi stack, as ``make address``, ``make kubeconfig``, the load tests and ``make compare`` read it:
its name and its outputs. The one reader of ``pulumi stack output`` in this repository.

Standard library only: these commands work before the virtual environment exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from .make_args import number
from .processes import REPO_ROOT

TIMEOUT_VARIABLE = "CLI_TIMEOUT"  # seconds to wait for each pulumi, kubectl or minikube command
DEFAULT_TIMEOUT = 60.0
PULUMI_CHECK = "check your network, and that `pulumi whoami` answers (it reaches your state backend)"


class StackError(SystemExit):
    """The stack cannot be read; the message says why and what to do."""


def cli_timeout(command: str) -> float:
    """Seconds to wait for one CLI command: CLI_TIMEOUT from the environment (or a Make variable), else 60."""
    raw = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        return number(0, inclusive=False)(raw)
    except ValueError as exc:
        raise StackError(f"{command}: {TIMEOUT_VARIABLE}={exc}, e.g. {command} {TIMEOUT_VARIABLE}=120") from None


def run_cli(command: str, arguments: list[str], label: str, check: str) -> subprocess.CompletedProcess[str]:
    """Run a CLI (``label``, e.g. `pulumi stack output`) and capture its output, waiting at most CLI_TIMEOUT.

    On expiry the CLI and every process it started are killed (its own process
    group: a plugin it spawned could otherwise hold the output open), and a
    StackError names it, the wait, and ``check``: what to look at.
    """
    timeout = cli_timeout(command)
    process = subprocess.Popen(
        arguments,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise StackError(
            f"{command}: `{label}` did not answer in {timeout:g} s: {check} "
            f"(to wait longer: {command} {TIMEOUT_VARIABLE}={2 * timeout:g})"
        ) from None
    except BaseException:  # Ctrl-C: its own session does not get the terminal's SIGINT
        _kill_group(process)
        raise
    return subprocess.CompletedProcess(arguments, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def selected_stack(command: str) -> tuple[str | None, str]:
    """(stack name or None, why not): the stack `pulumi` would act on in this project."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        return None, "no Pulumi CLI on PATH"
    stack = run_cli(command, [pulumi, "stack", "--show-name", "--non-interactive"], "pulumi stack", PULUMI_CHECK)
    if stack.returncode != 0 or not stack.stdout.strip():
        return None, "no Pulumi stack selected"
    return stack.stdout.strip(), ""


def stack_outputs(command: str, *, show_secrets: bool = False, stack: str | None = None) -> dict[str, Any]:
    """The outputs of ``stack``, else of the selected stack (``--show-secrets`` only when the caller needs a secret,
    like the kubeconfig). A StackError says why they cannot be read."""
    pulumi = shutil.which("pulumi") or "pulumi"
    arguments = [
        pulumi,
        "stack",
        "output",
        "--json",
        *(["--show-secrets"] if show_secrets else []),
        *(["--stack", stack] if stack else []),
    ]
    outputs = run_cli(command, arguments, "pulumi stack output", PULUMI_CHECK)
    if outputs.returncode != 0:
        which = f" of stack {stack!r}" if stack else ""
        raise StackError(f"{command}: `pulumi stack output`{which} failed: {outputs.stderr.strip()}")
    try:
        values = json.loads(outputs.stdout or "{}")
    except json.JSONDecodeError as error:
        raise StackError(f"{command}: `pulumi stack output --json` did not print JSON ({error})") from None
    if not isinstance(values, dict):
        raise StackError(f"{command}: `pulumi stack output --json` printed {type(values).__name__}, not an object")
    return values


def selected_stack_outputs(command: str, *, show_secrets: bool = False) -> dict[str, Any]:
    """The selected stack's outputs, or {} when there is no Pulumi CLI or no stack selected (a local run)."""
    if shutil.which("pulumi") is None:
        return {}
    stack, _ = selected_stack(command)
    return stack_outputs(command, show_secrets=show_secrets) if stack else {}


def kubeconfig_text(outputs: dict[str, Any]) -> str | None:
    """The ``kubeconfig`` output as a file's text (pulumi-eks gives JSON, which kubectl reads too)."""
    kubeconfig = outputs.get("kubeconfig")
    if not kubeconfig:
        return None
    return kubeconfig if isinstance(kubeconfig, str) else json.dumps(kubeconfig, indent=2)


def write_private(path: Path, text: str) -> None:
    """Create or replace ``path`` with mode 600 from the first byte (never briefly readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an existing file keeps its old mode through O_CREAT
        os.write(descriptor, text.encode())
    finally:
        os.close(descriptor)
