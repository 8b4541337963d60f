"""make localdev's emulator check against a real moto server: identified by its /moto-api/, then asked for again
from inside Minikube (faked: nothing here runs Minikube) before anything is created in it."""

from __future__ import annotations

import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.emulator_probe import MOTO_API, EmulatorError, check_reachable_from_pods, identify

pytestmark = pytest.mark.integration


def node_curl(prints: str) -> Any:
    """`minikube ssh -- curl -w %{http_code}` as it prints: 200, or 000 when nothing answers from the node."""

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        assert command[3:5] == ["ssh", "--"]
        return subprocess.CompletedProcess(command, 0 if prints == "200" else 7, prints, "")

    return run


def test_a_moto_server_is_identified_by_its_api(moto_server: str) -> None:
    emulator = identify(int(urlsplit(moto_server).port or 0))

    assert (emulator.kind, emulator.probe_path) == ("moto server", MOTO_API)


def test_make_locals_moto_on_127_0_0_1_is_refused_with_the_command_that_serves_the_pods(moto_server: str) -> None:
    port = int(urlsplit(moto_server).port or 0)
    emulator = identify(port)

    with pytest.raises(EmulatorError) as refused:
        check_reachable_from_pods("minikube", "minikube", port, emulator, node_curl("000"))

    assert "answers on this machine but not from Minikube" in str(refused.value)
    assert f".venv/bin/moto_server -H 0.0.0.0 -p {port}" in str(refused.value)
