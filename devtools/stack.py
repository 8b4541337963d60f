"""The selected Pulumi stack, as ``make address`` and ``make kubeconfig`` read it: its name and its outputs.

Standard library only: these commands work before the virtual environment exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .processes import REPO_ROOT


class StackError(SystemExit):
    """The stack cannot be read; the message says why and what to do."""


def selected_stack() -> tuple[str | None, str]:
    """(stack name or None, why not): the stack `pulumi` would act on in this project."""
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
    return stack.stdout.strip(), ""


def stack_outputs(command: str, *, show_secrets: bool = False) -> dict[str, Any]:
    """The selected stack's outputs (``--show-secrets`` only when the caller needs a secret, like the kubeconfig)."""
    pulumi = shutil.which("pulumi") or "pulumi"
    arguments = [pulumi, "stack", "output", "--json", *(["--show-secrets"] if show_secrets else [])]
    outputs = subprocess.run(arguments, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if outputs.returncode != 0:
        raise StackError(f"{command}: `pulumi stack output` failed: {outputs.stderr.strip()}")
    try:
        values = json.loads(outputs.stdout or "{}")
    except json.JSONDecodeError as error:
        raise StackError(f"{command}: `pulumi stack output --json` did not print JSON ({error})") from None
    if not isinstance(values, dict):
        raise StackError(f"{command}: `pulumi stack output --json` printed {type(values).__name__}, not an object")
    return values


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
