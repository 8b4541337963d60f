"""devtools/stack.py: the one reader of `pulumi stack output`, for make address, make kubeconfig, the load tests and
make compare (a fake `pulumi` on PATH answers as the real CLI does)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devtools.stack import StackError, selected_stack_outputs, stack_outputs

OUTPUTS = {"url": "http://users-api-alb-1.elb.amazonaws.com", "backend": "fargate", "scaling": {"kind": "ecs"}}


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` that logs its arguments, names the stack `dev`, and prints OUTPUTS (or fails for stack `gone`)."""
    log = tmp_path / "arguments.log"
    script = tmp_path / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        'if [ "$2" = "--show-name" ]; then echo dev; exit 0; fi\n'
        'case "$*" in *"--stack gone"*) echo "error: no stack named gone found" >&2; exit 255;; esac\n'
        f"echo '{json.dumps(OUTPUTS)}'\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    return log


def test_a_named_stacks_outputs_are_read_with_its_name(pulumi: Path) -> None:
    assert stack_outputs("make compare", show_secrets=True, stack="fargate-dev") == OUTPUTS
    assert pulumi.read_text().split() == ["stack", "output", "--json", "--show-secrets", "--stack", "fargate-dev"]


def test_a_stack_that_cannot_be_read_is_named_in_the_error(pulumi: Path) -> None:
    with pytest.raises(StackError, match=r"^make compare: `pulumi stack output` of stack 'gone' failed: error: no"):
        stack_outputs("make compare", stack="gone")


def test_the_selected_stacks_outputs_for_the_load_tests(pulumi: Path) -> None:
    assert selected_stack_outputs("make loadtest", show_secrets=True) == OUTPUTS


def test_without_the_pulumi_cli_a_load_test_runs_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    assert selected_stack_outputs("make loadtest") == {}
