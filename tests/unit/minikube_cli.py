"""A fake ``minikube`` for make localdev and make address, answering as minikube v1.38.1 does (nothing here can run it).

``profile list -o json``: ``cmd/minikube/cmd/config/profile_list.go`` marshals ``{"invalid": [...], "valid":
[...]}`` of ``config.Profile`` (``Name``, ``Status``, ``Config``, ``Active``, ``ActiveKubeContext``); ``Config`` is
``config.ClusterConfig`` (``pkg/minikube/config/types.go``), of which the fields below are a subset (the real one has
~60 more, which the code ignores). ``Status`` "OK" is ``cluster.OK``'s name (``pkg/minikube/cluster/status.go``).
``ExposedPorts`` holds ``--ports`` values verbatim (``start_flags.go``: ``viper.GetStringSlice(ports)``).
The node IPs are minikube's defaults: 192.168.49.2 for the docker driver (its first KIC subnet, 192.168.49.0/24,
``--subnet``'s help in ``start_flags.go``), 192.168.64.x/192.168.59.x for VM drivers (examples, any IP works).
``minikube -p P ssh -- curl ... -w %{http_code}`` prints curl's status code (000 when nothing answers).

The node is a container named after the profile, so a fake ``docker`` (or ``podman``) answers too:
``docker port P 30080/tcp`` prints one ``<host ip>:<host port>`` line per binding (docker's ``port`` command:
``0.0.0.0:30080`` then ``[::]:30080`` for an all-interfaces one), or "Error: No public port '30080/tcp' published
for P" and exit code 1; ``docker system info --format '{{json .}}'`` prints docker's ``Info`` (of which minikube reads
``OperatingSystem`` and ``SecurityOptions``, ``pkg/drivers/kic/oci/info.go`` at v1.38.1).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

NODE_IPS = {"docker": "192.168.49.2", "podman": "192.168.49.2", "hyperkit": "192.168.64.5", "qemu2": "192.168.105.2"}


def profile_list(
    driver: str,
    name: str = "minikube",
    cpus: int = 4,
    memory_mb: int = 6144,
    ports: tuple[str, ...] = (),
    network: str | None = None,
) -> str:
    """``network``: ``Network``, which minikube fills for qemu2 only (default here: socket_vmnet, whose node IPs are
    192.168.105.x)."""
    profile = {
        "Name": name,
        "Status": "OK",
        "Config": {
            "Name": name,
            "KeepContext": False,
            "Memory": memory_mb,
            "CPUs": cpus,
            "DiskSize": 20000,
            "Driver": driver,
            "ExposedPorts": list(ports),
            "Network": network if network is not None else ("socket_vmnet" if driver == "qemu2" else ""),
            "KubernetesConfig": {"KubernetesVersion": "v1.35.0", "ClusterName": name, "ContainerRuntime": "docker"},
            "Nodes": [{"Name": "", "IP": NODE_IPS.get(driver, "192.168.59.100"), "Port": 8443, "ControlPlane": True}],
        },
        "Active": name == "minikube",
        "ActiveKubeContext": True,
    }
    return json.dumps({"invalid": [], "valid": [profile]})


def write_fake_minikube(
    folder: Path,
    driver: str,
    *,
    name: str = "minikube",
    ports: tuple[str, ...] = (),
    cpus: int = 4,
    from_node: str = "200",
    bound: str = "",
    daemon_info: dict[str, object] | None = None,
    network: str | None = None,
) -> Path:
    """A ``minikube`` on PATH in ``folder``, logging its arguments to ``minikube.log``; ``from_node`` is what curl
    inside the node prints for the emulator. With the docker or podman driver, that CLI too: ``bound`` is what
    ``port`` prints ("": no binding), ``daemon_info`` what ``system info`` does."""
    if driver in ("docker", "podman"):
        write_fake_container_cli(folder, driver, name, bound, daemon_info or {"OperatingSystem": "Ubuntu 24.04 LTS"})
    (folder / "profiles.json").write_text(profile_list(driver, name=name, cpus=cpus, ports=ports, network=network))
    script = folder / "minikube"
    script.write_text(
        f"#!{shutil.which('sh') or '/bin/sh'}\n"
        f'echo "$@" >> "{folder / "minikube.log"}"\n'
        'case "$*" in\n'
        f'  "profile list -o json") cat "{folder / "profiles.json"}" ;;\n'
        f'  "-p {name} ip") echo {NODE_IPS.get(driver, "192.168.59.100")} ;;\n'
        f'  "-p {name} ssh -- curl"*) printf %s "{from_node}" ;;\n'
        f'  "-p {name} status"|"-p {name} addons enable metrics-server"|"-p {name} image build"*) ;;\n'
        '  *) echo "X Exiting due to MK_USAGE: unexpected $*" >&2; exit 14 ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return script


def write_fake_container_cli(
    folder: Path, driver: str, profile: str, bound: str, daemon_info: dict[str, object]
) -> Path:
    (folder / f"{driver}-info.json").write_text(json.dumps(daemon_info))
    port_file = folder / f"{driver}-port.txt"
    port_file.write_text(bound)
    no_port = f"Error: No public port '$3' published for {profile}"
    script = folder / driver
    script.write_text(
        f"#!{shutil.which('sh') or '/bin/sh'}\n"
        f'echo "$@" >> "{folder / (driver + ".log")}"\n'
        'case "$1 $2" in\n'
        f'  "port {profile}") if [ -s "{port_file}" ]; then cat "{port_file}";'
        f' else echo "{no_port}" >&2; exit 1; fi ;;\n'
        f'  "system info") cat "{folder / (driver + "-info.json")}" ;;\n'
        '  *) echo "unexpected: $*" >&2; exit 125 ;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return script
