"""The HPA can reach its maximum on the documented `minikube start`: every pod's CPU and memory request fits.

A pod is scheduled only when the node's allocatable minus every pod's requests holds its own requests; a pod that
does not fit stays Pending, whatever the HPA asks. Minikube's node is the whole VM/container: allocatable is its
CPUs and memory (minikube sets no system-reserved; the kubelet's default hard eviction keeps 100Mi of memory).
What else runs there and requests resources, at their upstream values:

- kubeadm's control plane: kube-apiserver 250m, kube-controller-manager 200m, kube-scheduler 100m
  (``cmd/kubeadm/app/phases/controlplane/manifests.go``, ``staticpodutil.ComponentResources``), etcd 100m and 100Mi
  (``cmd/kubeadm/app/phases/etcd/local.go``), CoreDNS 100m and 70Mi (kubeadm's ``addons/dns`` manifest);
- metrics-server (minikube v1.38.1, ``deploy/addons/metrics-server/metrics-server-deployment.yaml.tmpl``): 100m,
  200Mi. kube-proxy and the storage provisioner request nothing.

A rollout at the maximum also needs the Deployment's surge pods. Upstream figures are read as cited, not measured
on a real Minikube (none runs here).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import helm_python as helm

from backends.config import parse
from devtools.minikube_profile import MINIKUBE_START
from tests.chart.support import render

minikube = importlib.import_module("backends.minikube")

SYSTEM_CPU_MILLI = 250 + 200 + 100 + 100 + 100 + 100
SYSTEM_MEMORY_MI = 100 + 70 + 200
EVICTION_HARD_MI = 100


def milli_cpu(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


def documented_start() -> tuple[int, int]:
    """(CPUs, memory MiB) of the `minikube start` the docs and make localdev give."""
    cpus = re.search(r"--cpus[ =](\d+)", MINIKUBE_START)
    memory = re.search(r"--memory[ =](\d+)g", MINIKUBE_START)
    assert cpus, MINIKUBE_START
    assert memory, MINIKUBE_START
    return int(cpus.group(1)), int(memory.group(1)) * 1024


def pods_that_fit(cpus: int, memory_mi: int, cpu_request: int, memory_request: int) -> int:
    return min(
        (cpus * 1000 - SYSTEM_CPU_MILLI) // cpu_request,
        (memory_mi - EVICTION_HARD_MI - SYSTEM_MEMORY_MI) // memory_request,
    )


def rendered(chart: helm.Chart, **config: str) -> tuple[dict[str, Any], int, int]:
    spec = parse({"backend": "minikube", "minikube": config})
    release = render(chart, minikube.chart_values(spec, "users-1a2b", "avatars-3c4d"), "minikube-sizing")
    deployment = release.one("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    requests = container["resources"]["requests"]
    return deployment, milli_cpu(str(requests["cpu"])), mebibytes(str(requests["memory"]))


def test_the_hpas_maximum_and_a_rollouts_surge_fit_the_documented_minikube_start(chart: helm.Chart) -> None:
    deployment, cpu_request, memory_request = rendered(chart)
    spec = parse({"backend": "minikube"})
    maximum = spec.settings_as(minikube.MinikubeSettings).max_replicas
    surge_value = str(deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"])
    surge = -(-maximum * int(surge_value[:-1]) // 100) if surge_value.endswith("%") else int(surge_value)  # rounded up

    assert pods_that_fit(*documented_start(), cpu_request, memory_request) >= maximum + surge


def test_the_old_two_cpu_start_left_room_for_about_four_pods(chart: helm.Chart) -> None:
    """Why the documented start changed: at `--cpus 2` scale-out pods stayed Pending (make localdev warns)."""
    _, cpu_request, memory_request = rendered(chart)

    assert pods_that_fit(2, 4096, cpu_request, memory_request) == 4
