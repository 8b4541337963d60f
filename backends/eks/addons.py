"""The cluster's controllers, each from its official Helm chart at a pinned version, on its own IRSA role.

- AWS Load Balancer Controller: turns the app's Ingress into an ALB. Its IAM
  policy is the project's own ``docs/install/iam_policy.json`` at the chart's
  tag, kept beside this file (policies/SOURCE.md says where it came from).
- cluster-autoscaler: adds nodes when pods are pending and removes idle ones,
  finding the node group by the cluster's tags; it may only resize groups
  tagged as this cluster's (``aws:ResourceTag`` condition).
- metrics-server: the CPU metrics the app's HPA scales on.

Pinned versions: bump a chart, its image and (for the controller) the policy
file together, with a copy of the chart's values.yaml at its tag under
tests/infra/upstream/ (every value key set here is checked against it), and note
the source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

SYSTEM_NAMESPACE = "kube-system"
POLICY_DIR = Path(__file__).resolve().parent / "policies"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
RELEASE_TIMEOUT_SECONDS = 600  # pods wait for nodes to join and images to pull


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str
    service_account: str = ""


LOAD_BALANCER_CONTROLLER = Chart(
    name="aws-load-balancer-controller",
    # Since 3.0.0 the chart's version is the controller's: chart 3.5.0 = v3.5.0 (the newest release tag), whose
    # docs/install/iam_policy.json is policies/aws-load-balancer-controller.json (policies/SOURCE.md).
    version="3.5.0",
    repository="https://aws.github.io/eks-charts",
    service_account="aws-load-balancer-controller",
)
CLUSTER_AUTOSCALER = Chart(
    name="cluster-autoscaler",
    # The newest chart tag (cluster-autoscaler-chart-9.59.0 in kubernetes/autoscaler); its appVersion still
    # reads 1.35.0, so image.tag below is always set, from the cluster's minor.
    version="9.59.0",
    repository="https://kubernetes.github.io/autoscaler",
    service_account="cluster-autoscaler",
)
METRICS_SERVER = Chart(
    name="metrics-server",
    # metrics-server v0.8.0. Confirmed upstream: tag metrics-server-helm-chart-3.13.0 (commit 1a64100c33ac) in
    # kubernetes-sigs/metrics-server, whose charts/metrics-server/Chart.yaml reads version 3.13.0, appVersion 0.8.0.
    version="3.13.0",
    repository="https://kubernetes-sigs.github.io/metrics-server/",
)
# cluster-autoscaler's minor must match the cluster's (its own compatibility rule); the newest patch of each.
# Confirmed upstream: kubernetes/autoscaler tags cluster-autoscaler-1.33.6, -1.34.5 and -1.35.2 (2026-07-22), each
# the newest patch of its minor, whose cluster-autoscaler/version/version.go reads that version.
CLUSTER_AUTOSCALER_IMAGES = {
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
}


def load_balancer_controller_policy() -> dict[str, Any]:
    """The controller's official IAM policy, as published for the pinned version."""
    policy: dict[str, Any] = json.loads((POLICY_DIR / "aws-load-balancer-controller.json").read_text())
    return policy


def cluster_autoscaler_policy(cluster_name: str, partition: str, region: str, account_id: str) -> dict[str, Any]:
    """What cluster-autoscaler needs on AWS (its cloud provider's documented policy), narrowed to this cluster."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ResizeOnlyThisClustersGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
            },
            {
                "Sid": "DescribeThisClustersNodeGroups",
                "Effect": "Allow",
                "Action": ["eks:DescribeNodegroup"],
                "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*",
            },
            {
                # Describe calls have no resource-level permissions: AWS accepts only "*" for them.
                "Sid": "DescribeAutoScalingAndInstanceTypes",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
        ],
    }


def _service_account(chart: Chart, role_arn: str) -> dict[str, Any]:
    return {"create": True, "name": chart.service_account, "annotations": {ROLE_ARN_ANNOTATION: role_arn}}


def load_balancer_controller_values(cluster_name: str, region: str, vpc_id: str, role_arn: str) -> dict[str, Any]:
    # region and vpcId set explicitly: the pods cannot ask the instance metadata service (hop limit 1).
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,  # its webhook admits every Service and Ingress: one pod down must not block deploys
        # ... and a node drain (cluster-autoscaler's scale-down) must leave one running. The chart renders the
        # budget only with replicaCount > 1; its default anti-affinity is preferred, so two nodes suffice.
        "podDisruptionBudget": {"maxUnavailable": 1},
        # The readiness gate webhook acts only in namespaces labelled for it (the app's). The chart's default,
        # Ignore, lets a pod created while the controller is unreachable start without its gate, so a rollout
        # could stop old pods for new ones the ALB does not route to (the controller registers targets, so such
        # pods take no ALB traffic anyway). Fail makes the ReplicaSet retry until the controller answers, which
        # pod_readiness_gate.md at v3.5.0 recommends.
        "podMutatorWebhookConfig": {"failurePolicy": "Fail"},
        # With failurePolicy Fail both replicas must not share a node (the chart's anti-affinity is only
        # preferred): that node's loss would block every new app pod until the controller is back.
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": LOAD_BALANCER_CONTROLLER.name}},
            }
        ],
        # v3.5.0's chart otherwise generates a new webhook CA and certificate on every render (keepTLSSecret
        # false, templates/_helpers.tpl genCA): an upgrade changing only values makes the new caBundle live while
        # the pods still serve the old certificate, and every Fail-policy webhook refuses requests meanwhile.
        "keepTLSSecret": True,
        "serviceAccount": _service_account(LOAD_BALANCER_CONTROLLER, role_arn),
    }


def cluster_autoscaler_values(cluster_name: str, region: str, kubernetes_version: str, role_arn: str) -> dict[str, Any]:
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},  # groups tagged k8s.io/cluster-autoscaler/<name>
        "image": {"tag": CLUSTER_AUTOSCALER_IMAGES[kubernetes_version]},
        "rbac": {"serviceAccount": _service_account(CLUSTER_AUTOSCALER, role_arn)},
        "extraArgs": {
            "balance-similar-node-groups": True,
            "skip-nodes-with-system-pods": False,
            "expander": "least-waste",
            "scale-down-unneeded-time": "5m",
        },
    }


def metrics_server_values() -> dict[str, Any]:
    return {"replicas": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}}


def release(
    name: str,
    chart: Chart,
    values: pulumi.Input[dict[str, Any]],
    provider: k8s.Provider,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> k8s.helm.v3.Release:
    """The chart's release, done only when its pods are Ready (``skip_await=False`` is Helm's ``--wait``).

    That wait is what makes ``depends_on`` on the load balancer controller's release mean "its webhooks answer":
    the controller's pods report Ready only once its webhook server has started (v3.5.0 main.go adds the
    ``ready-webhook`` check), so a Service created after it finds endpoints behind the webhook's Service.
    """
    return k8s.helm.v3.Release(
        f"{name}-{chart.name}",
        name=chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=SYSTEM_NAMESPACE,
        values=values,
        skip_await=False,  # the default, said here because the ordering above relies on it
        atomic=True,  # a failed install or upgrade rolls back instead of leaving a half-released controller
        timeout=RELEASE_TIMEOUT_SECONDS,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on),
    )
