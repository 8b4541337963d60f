"""A Minikube profile as ``minikube profile list -o json`` describes it, and the address its NodePort answers on here.

Standard library only (``make address`` runs before the virtual environment exists). Upstream, minikube v1.38.1:

- ``cmd/minikube/cmd/config/profile_list.go`` prints ``{"invalid": [...], "valid": [...]}``, each a
  ``config.Profile`` (``Name``, ``Status``, ``Config``); ``Config`` is a ``ClusterConfig``
  (``pkg/minikube/config/types.go``): ``Driver``, ``CPUs``, ``Memory`` (MB), ``ExposedPorts`` (``--ports``, "Only used
  by the docker and podman driver", in docker's ``[ip:]hostPort:containerPort[/proto]`` form).
- ``pkg/minikube/driver/driver.go``, ``NeedsPortForward``: with a container driver (docker, podman) on macOS,
  Windows or WSL (``detect.IsMicrosoftWSL``: ``WSL_DISTRO_NAME`` or ``WSLPATH`` set) the node's IP is not reachable
  from the host; ``minikube service --url`` then opens a tunnel that lives only while that command runs
  (``cmd/minikube/cmd/service.go``: "the terminal needs to be open to run it"). A port published at ``minikube start
  --ports`` needs no open terminal: it is the address ``make address`` prints there.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

CONTAINER_DRIVERS = ("docker", "podman")  # minikube's "KIC" drivers: the node is a container
MINIKUBE_START = "minikube start --cpus 4 --memory 6g"  # room for the HPA's maximum at the chart's requests


class ProfileError(RuntimeError):
    """The profile is missing, or its NodePort cannot be reached from here; the message names the fix."""


@dataclass(frozen=True)
class Profile:
    name: str
    status: str
    driver: str
    cpus: int
    memory_mb: int
    exposed_ports: tuple[str, ...]


def parse_profiles(text: str) -> dict[str, Profile]:
    """``minikube profile list -o json``'s valid profiles, by name."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProfileError(f"`minikube profile list -o json` did not print JSON ({error})") from None
    profiles: dict[str, Profile] = {}
    for entry in document.get("valid") or []:
        config: Mapping[str, object] = entry.get("Config") or {}
        profiles[str(entry.get("Name"))] = Profile(
            name=str(entry.get("Name")),
            status=str(entry.get("Status", "")),
            driver=str(config.get("Driver", "")),
            cpus=int(str(config.get("CPUs") or 0)),
            memory_mb=int(str(config.get("Memory") or 0)),
            exposed_ports=tuple(str(port) for port in (config.get("ExposedPorts") or [])),  # type: ignore[attr-defined]
        )
    return profiles


def host_system(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str:
    """``darwin``, ``windows``, ``wsl`` or ``linux``, as minikube tells them apart for ``NeedsPortForward``."""
    env = os.environ if environ is None else environ
    system = platform or sys.platform
    if system.startswith("win"):
        return "windows"
    if system == "darwin":
        return "darwin"
    return "wsl" if env.get("WSL_DISTRO_NAME") or env.get("WSLPATH") else "linux"


def needs_port_forward(profile: Profile, system: str) -> bool:
    """True where minikube says the node's IP is not reachable from here (docker/podman on macOS, Windows, WSL)."""
    return profile.driver in CONTAINER_DRIVERS and system in ("darwin", "windows", "wsl")


def published_host(profile: Profile, node_port: int) -> str | None:
    """The host address where ``--ports`` publishes ``node_port`` on the same port number, or None."""
    for spec in profile.exposed_ports:
        parts = spec.split("/", 1)[0].rsplit(":", 2)
        if len(parts) < 2 or parts[-1] != str(node_port) or parts[-2] != str(node_port):
            continue
        ip = parts[0] if len(parts) == 3 else ""
        return ip if ip not in ("", "0.0.0.0") else "127.0.0.1"
    return None


def start_command(profile: str, node_port: int, system: str, driver: str) -> str:
    """The documented ``minikube start`` for this machine: with a container driver on macOS/Windows/WSL, the
    NodePort published on 127.0.0.1."""
    flags = f" -p {profile}" if profile != "minikube" else ""
    if driver in CONTAINER_DRIVERS and system in ("darwin", "windows", "wsl"):
        flags += f" --driver={driver} --ports=127.0.0.1:{node_port}:{node_port}"
    return MINIKUBE_START + flags


def node_port_host(
    profile: Profile, node_port: int, node_ip: Callable[[], str], system: str, namespace: str, service: str
) -> str:
    """The host this machine reaches ``node_port`` on; ProfileError naming both fixes where there is none."""
    if not needs_port_forward(profile, system):
        return node_ip()
    host = published_host(profile, node_port)
    if host is not None:
        return host
    minikube = f"minikube -p {profile.name}"
    raise ProfileError(
        f"with the {profile.driver} driver on {system}, Minikube's node IP is not reachable from this machine "
        f"(minikube's docs) and profile {profile.name!r} does not publish NodePort {node_port}. Either keep "
        f"`{minikube} service -n {namespace} {service} --url` running in another terminal and use the URL it "
        f"prints, or recreate the cluster with the port published: `{minikube} delete && "
        f"{start_command(profile.name, node_port, system, profile.driver)}`, then `make localdev` again"
    )


def profile_command(minikube: str, profile: str, *words: str) -> Sequence[str]:
    return [minikube, "-p", profile, *words]
