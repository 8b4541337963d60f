"""A Minikube profile as ``minikube profile list -o json`` describes it, and the address its NodePort answers on here.

Standard library only (``make address`` runs before the virtual environment exists). Upstream, minikube v1.38.1:

- ``cmd/minikube/cmd/config/profile_list.go`` prints ``{"invalid": [...], "valid": [...]}``, each a
  ``config.Profile`` (``Name``, ``Status``, ``Config``); ``Config`` is a ``ClusterConfig``
  (``pkg/minikube/config/types.go``): ``Driver``, ``CPUs``, ``Memory`` (MB), ``ExposedPorts`` (``--ports``, "Only used
  by the docker and podman driver", in docker's ``[ip:]hostPort:containerPort[/proto]`` form).
- ``pkg/minikube/driver/driver.go:243-263``, ``NeedsPortForward``: with a container driver (docker, podman) the
  node's IP is not reachable from the host when the daemon is remote (``oci.IsExternalDaemonHost``: ``DOCKER_HOST``,
  or podman's ``CONTAINER_HOST``, is a URL with a host), on macOS, Windows or WSL (``detect.IsMicrosoftWSL``:
  ``WSL_DISTRO_NAME`` or ``WSLPATH`` set), on Linux with Docker Desktop (``docker system info``'s
  ``OperatingSystem``) and with a rootless daemon (docker's ``SecurityOptions`` has ``name=rootless``, podman's
  ``host.security.rootless``; ``pkg/drivers/kic/oci/info.go``). ``minikube service --url`` then opens a tunnel that
  lives only while that command runs (``cmd/minikube/cmd/service.go``: "the terminal needs to be open to run it").
- A port published at ``minikube start --ports`` needs no open terminal, but only when the cluster is created:
  ``--ports`` becomes the node container's ``docker run -p`` arguments (``pkg/drivers/kic/types.go:70``
  ``PortMappings``), while on an existing profile ``start_flags.go:879`` only records it in ``ExposedPorts``. So
  the binding is read from the container itself, ``docker port <profile> <nodePort>/tcp`` (the node container is
  named after the profile), which prints one ``<host ip>:<host port>`` line per binding (``0.0.0.0:30080``,
  ``[::]:30080``) and fails with "no public port" when there is none.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

CONTAINER_DRIVERS = ("docker", "podman")  # minikube's "KIC" drivers: the node is a container
MINIKUBE_START = "minikube start --cpus 4 --memory 6g"  # room for the HPA's maximum at the chart's requests


Ask = Callable[[list[str]], str]  # runs a command, returns its stdout ("" when it failed)


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
    network: str = ""  # ClusterConfig.Network: for qemu2, "builtin" (user mode) or "socket_vmnet"


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
            network=str(config.get("Network") or ""),
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


def external_daemon_host(driver: str, environ: Mapping[str, str]) -> bool:
    """``oci.IsExternalDaemonHost``: the daemon's URL (``DOCKER_HOST``, podman's ``CONTAINER_HOST``) has a host."""
    value = environ.get("CONTAINER_HOST" if driver == "podman" else "DOCKER_HOST", "")
    return bool(value) and bool(urlsplit(value).netloc)


def daemon_hides_the_node(driver: str, ask: Ask) -> bool:
    """Docker Desktop or a rootless daemon, as ``oci.CachedDaemonInfo`` reads ``<driver> system info``."""
    if driver == "podman":
        text = ask(["podman", "system", "info", "--format", "json"])
    else:
        text = ask(["docker", "system", "info", "--format", "{{json .}}"])
    try:
        info = json.loads(text or "{}")
    except json.JSONDecodeError:
        return False
    if not isinstance(info, dict):
        return False
    if driver == "podman":
        return bool(((info.get("host") or {}).get("security") or {}).get("rootless"))
    rootless = any(str(option).startswith("name=rootless") for option in info.get("SecurityOptions") or [])
    return rootless or info.get("OperatingSystem") == "Docker Desktop"


def unreachable_qemu_network(profile: Profile) -> bool:
    """qemu on its builtin network (``validateQemuNetwork``, ``start_flags.go:503-530``, stores "builtin" for it, and
    ``pkgnetwork.IsBuiltinQEMU`` also counts "user"): no ``minikube service`` (``service.go:92-93``) and no route from
    the host to the node."""
    return profile.driver in ("qemu2", "qemu") and profile.network in ("builtin", "user")


def needs_port_forward(
    profile: Profile, system: str, ask: Ask | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """True where minikube says the node's IP is not reachable from here (``NeedsPortForward``'s conditions)."""
    if profile.driver not in CONTAINER_DRIVERS:
        return False
    if external_daemon_host(profile.driver, os.environ if environ is None else environ):
        return True
    if system in ("darwin", "windows", "wsl"):
        return True
    return ask is not None and daemon_hides_the_node(profile.driver, ask)


def port_command(profile: Profile, node_port: int) -> list[str]:
    """``docker port`` (or ``podman port``) of the profile's node container: where ``node_port`` is really bound."""
    return [profile.driver, "port", profile.name, f"{node_port}/tcp"]


def published_host(port_output: str, node_port: int) -> str | None:
    """The host address ``port_command``'s output binds ``node_port`` on, on the same port number, or None."""
    for line in port_output.splitlines():
        ip, _, port = line.strip().rpartition(":")
        if port != str(node_port) or not ip:
            continue
        ip = ip.strip("[]")
        return "127.0.0.1" if ip in ("0.0.0.0", "::") else ip
    return None


def start_command(profile: str, node_port: int, system: str, driver: str, forward: bool = False) -> str:
    """The documented ``minikube start`` for this machine: with a container driver on macOS/Windows/WSL (or
    ``forward``: wherever ``needs_port_forward``), the NodePort published on 127.0.0.1."""
    flags = f" -p {profile}" if profile != "minikube" else ""
    if driver in CONTAINER_DRIVERS and (forward or system in ("darwin", "windows", "wsl")):
        flags += f" --driver={driver} --ports=127.0.0.1:{node_port}:{node_port}"
    return MINIKUBE_START + flags


def refuse_unreachable_network(profile: Profile, node_port: int) -> None:
    """ProfileError naming the fixes for a profile whose network no NodePort can be reached through."""
    if unreachable_qemu_network(profile):
        raise ProfileError(
            f"profile {profile.name!r} runs the {profile.driver} driver on its builtin (user-mode) network, where "
            "nothing on this machine reaches a NodePort and `minikube service` is not implemented (minikube's "
            f"start and service commands say so). Recreate it: `minikube -p {profile.name} delete && "
            f"{MINIKUBE_START}{'' if profile.name == 'minikube' else f' -p {profile.name}'} --driver=qemu2 "
            "--network socket_vmnet` (macOS, with socket_vmnet installed), or `--driver=vfkit`, or "
            f"`{start_command(profile.name, node_port, 'darwin', 'docker')}`; then `make localdev` again"
        )


def node_port_host(
    profile: Profile,
    node_port: int,
    node_ip: Callable[[], str],
    system: str,
    namespace: str,
    service: str,
    ask: Ask | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The host this machine reaches ``node_port`` on; ProfileError naming both fixes where there is none.

    ``ask`` runs ``docker``/``podman`` (``port``, ``system info``); without it nothing is asked of the daemon."""
    refuse_unreachable_network(profile, node_port)
    if not needs_port_forward(profile, system, ask, environ):
        return node_ip()
    host = published_host(ask(port_command(profile, node_port)) if ask else "", node_port)
    if host is not None:
        return host
    minikube = f"minikube -p {profile.name}"
    recorded = any(spec.split("/", 1)[0].endswith(f":{node_port}") for spec in profile.exposed_ports)
    why = (
        f"its config lists --ports for {node_port}, but `{' '.join(port_command(profile, node_port))}` shows no "
        "binding: --ports given to an existing cluster is recorded, never published (only at creation)"
        if recorded
        else f"profile {profile.name!r} does not publish NodePort {node_port}"
    )
    raise ProfileError(
        f"with the {profile.driver} driver on {system}, Minikube's node IP is not reachable from this machine "
        f"(minikube's NeedsPortForward) and {why}. Either keep "
        f"`{minikube} service -n {namespace} {service} --url` running in another terminal and use the URL it "
        f"prints, or recreate the cluster with the port published: `{minikube} delete && "
        f"{start_command(profile.name, node_port, system, profile.driver, forward=True)}`, then `make localdev` again"
    )


def profile_command(minikube: str, profile: str, *words: str) -> Sequence[str]:
    return [minikube, "-p", profile, *words]
