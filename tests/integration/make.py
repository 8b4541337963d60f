"""`make` run as a user runs it: one target and VAR=value pairs, in the repository or in a clone of it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from devtools.processes import REPO_ROOT

MAKE = shutil.which("make") or "make"
# A user's shell has none of these; inherited from `make test`, they would reach the inner make.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


def make(
    target: str,
    *variables: str,
    directory: Path = REPO_ROOT,
    env: Mapping[str, str] | None = None,
    prefix: tuple[str, ...] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``make -C directory target VAR=value ...`` (``prefix`` runs it under a wrapper such as setpriv)."""
    return subprocess.run(
        [*prefix, MAKE, "--no-print-directory", "-C", str(directory), target, *variables],
        env=dict(env) if env is not None else user_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def user_environment() -> dict[str, str]:
    """This process's environment as a user's shell has it: without `make test`'s own make variables
    (inherited, they make the inner make a sub-make: ``make[1]: ***`` lines, other flags) or HOST_ADDRESS."""
    return {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES and k != "HOST_ADDRESS"}


def said(stderr: str) -> list[str]:
    """The lines a command printed on stderr, without make's own ``make: *** [Makefile:N: target] Error 2``."""
    return [line for line in stderr.splitlines() if not line.startswith("make: *** ")]


def recipe_status(stderr: str) -> int | None:
    """The exit status make reports for a failed recipe (``... Error 2``), or None if none failed."""
    for line in stderr.splitlines():
        if line.startswith("make: *** ") and " Error " in line:
            return int(line.rsplit(" Error ", 1)[1].split()[0])
    return None


def start_in_terminal(target: str, *variables: str) -> subprocess.Popen[str]:
    """``make target VAR=value ...`` started as a shell's foreground job: its own process group, output piped."""
    return subprocess.Popen(
        [MAKE, target, *variables],
        cwd=REPO_ROOT,
        env=user_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def ctrl_c(process: subprocess.Popen[str]) -> None:
    """What Ctrl-C in a terminal does: SIGINT to the foreground process group (make and what it runs)."""
    os.killpg(process.pid, signal.SIGINT)
