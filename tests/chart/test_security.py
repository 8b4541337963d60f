"""Security properties: the restricted Pod Security Standard, where credentials go, IRSA, the NetworkPolicy."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.chart.support import (
    CREDENTIAL_KEYS,
    FULLNAME,
    VALUE_SETS,
    Manifest,
    Release,
    annotations_of,
    as_yaml,
    decoded,
    render,
)

# Volume types the "restricted" profile allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """What breaks the Pod Security Standard "restricted" (plus this image's own needs) in a pod spec."""
    found: list[str] = []
    pod = spec.get("securityContext") or {}
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(f"{field} is set")
    if pod.get("runAsNonRoot") is not True:
        found.append("pod runAsNonRoot is not true")
    if pod.get("runAsUser") != 10001:
        found.append("pod runAsUser is not the image's user 10001")
    if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        found.append("pod seccompProfile is not RuntimeDefault")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume {volume['name']} is of a type restricted forbids: {sorted(kinds)}")
    for container in spec["containers"] + spec.get("initContainers", []):
        name = container["name"]
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if context.get("privileged"):
            found.append(f"{name}: privileged")
        if "ALL" not in (context.get("capabilities") or {}).get("drop", []):
            found.append(f"{name}: capabilities do not drop ALL")
        if set((context.get("capabilities") or {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds capabilities")
        if context.get("runAsNonRoot") is False or context.get("runAsUser") == 0:
            found.append(f"{name}: may run as root")
        if (context.get("seccompProfile") or {}).get("type", "RuntimeDefault") != "RuntimeDefault":
            found.append(f"{name}: seccompProfile is not RuntimeDefault")
        if context.get("readOnlyRootFilesystem") is not True:
            found.append(f"{name}: the root filesystem is writable")
        if any("hostPort" in port for port in container.get("ports", [])):
            found.append(f"{name}: uses a host port")
    return found


def test_every_pod_meets_the_restricted_pod_security_standard(release: Release) -> None:
    reconciler = {f"CronJob/{FULLNAME}-reconciler"} if release.values["reconciler"]["enabled"] else set()
    assert set(release.pod_specs) == {"Deployment", f"Pod/{FULLNAME}-test-readyz"} | reconciler
    for owner, spec in release.pod_specs.items():
        assert restricted_violations(spec) == [], owner


def test_the_only_writable_path_is_an_empty_dir_at_tmp(release: Release) -> None:
    spec = release.one("Deployment")["spec"]["template"]["spec"]

    assert release.app_container()["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    (volume,) = spec["volumes"]
    assert volume["name"] == "tmp"
    assert volume["emptyDir"].keys() == {"medium", "sizeLimit"}
    assert volume["emptyDir"]["medium"] == "Memory"


def test_the_restricted_check_itself_catches_a_root_container() -> None:
    spec = {"securityContext": {}, "containers": [{"name": "bad", "securityContext": {"runAsUser": 0}}]}

    assert "bad: may run as root" in restricted_violations(spec)
    assert "pod runAsNonRoot is not true" in restricted_violations(spec)


def test_credentials_are_only_ever_in_a_secret_that_holds_them(release: Release) -> None:
    env = release.values["env"]
    given = {key: env[key] for key in CREDENTIAL_KEYS if env[key]}
    for config_map in release.of_kind("ConfigMap"):
        assert not set(CREDENTIAL_KEYS) & set(config_map["data"])
    for spec in release.pod_specs.values():
        for container in spec["containers"]:
            for variable in container.get("env", []):
                assert "value" not in variable or variable["name"] not in CREDENTIAL_KEYS
                if variable["name"] in CREDENTIAL_KEYS:
                    assert variable["valueFrom"]["secretKeyRef"] == {"name": FULLNAME, "key": variable["name"]}
    secrets = release.of_kind("Secret")
    if given:
        (secret,) = secrets
        assert decoded(secret) == given
    else:
        assert secrets == []
        assert "env" not in release.app_container()


def test_no_literal_credential_appears_outside_the_secret(chart: helm.Chart) -> None:
    canary = {"AWS_ACCESS_KEY_ID": "AKIACANARYACCESSKEY1", "AWS_SECRET_ACCESS_KEY": "canary/Secret+Access/Key0"}
    rendered = render(chart, VALUE_SETS["minikube"] | {"env": canary})

    others: list[Manifest] = [manifest for manifest in rendered.manifests if manifest["kind"] != "Secret"]
    text = as_yaml(others) + rendered.notes
    for value in canary.values():
        assert value not in text
    assert decoded(rendered.one("Secret")) == canary


def test_an_existing_secret_is_referenced_and_none_is_rendered(chart: helm.Chart) -> None:
    rendered = render(chart, {"existingSecret": "users-api-aws"})

    assert rendered.of_kind("Secret") == []
    assert [variable["valueFrom"]["secretKeyRef"] for variable in rendered.app_container()["env"]] == [
        {"name": "users-api-aws", "key": key} for key in CREDENTIAL_KEYS
    ]


def test_without_credentials_the_pods_get_none(chart: helm.Chart) -> None:
    rendered = render(chart, {})

    assert rendered.of_kind("Secret") == []
    assert "env" not in rendered.app_container()


def test_no_pod_gets_a_kubernetes_api_token_by_default_not_even_with_irsa(release: Release) -> None:
    # EKS's pod identity webhook adds its own projected token (volume aws-iam-token, audience sts.amazonaws.com) to
    # pods whose ServiceAccount carries eks.amazonaws.com/role-arn, whatever automountServiceAccountToken says.
    role_arn = release.values["serviceAccount"]["roleArn"]
    reconciler_role_arn = release.values["reconciler"]["serviceAccount"]["roleArn"]

    for owner, spec in release.pod_specs.items():
        assert spec["automountServiceAccountToken"] is False, owner
    for account in release.of_kind("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
        reconciler = account["metadata"]["labels"].get("app.kubernetes.io/component") == "reconciler"
        expected = reconciler_role_arn if reconciler else role_arn
        assert annotations_of(account).get("eks.amazonaws.com/role-arn") == (expected or None)
    for manifest in release.manifests:
        assert "CKV_K8S_38" not in " ".join(annotations_of(manifest).values()), "nothing to skip: no token is mounted"


def test_the_api_token_is_mounted_only_when_asked_for_and_checkov_is_told_why(chart: helm.Chart) -> None:
    rendered = render(chart, {"serviceAccount": {"automountToken": True}})
    deployment = rendered.one("Deployment")

    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    assert rendered.one("ServiceAccount")["automountServiceAccountToken"] is True
    assert any(value.startswith("CKV_K8S_38=") for value in annotations_of(deployment).values())


def test_pods_run_as_the_charts_service_account_or_the_named_one(chart: helm.Chart) -> None:
    def account(values: dict[str, Any]) -> str:
        name: str = render(chart, values).one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
        return name

    assert account({}) == FULLNAME
    assert account({"serviceAccount": {"name": "users"}}) == "users"
    assert account({"serviceAccount": {"enabled": False}}) == "default"
    assert account({"serviceAccount": {"enabled": False, "name": "shared"}}) == "shared"


def test_the_test_hook_checks_readyz_through_the_service_with_the_apps_image(release: Release) -> None:
    (pod,) = release.test_pods
    (container,) = pod["spec"]["containers"]
    port = release.values["service"]["port"]

    assert container["image"] == release.app_container()["image"]
    assert container["command"][:2] == ["python", "-c"]
    assert "urllib.request.urlopen" in container["command"][2]
    assert container["command"][3] == f"http://{FULLNAME}:{port}/readyz"
    assert pod["spec"]["restartPolicy"] == "Never"


def test_the_service_never_selects_the_test_hook(release: Release) -> None:
    selector = release.one("Service")["spec"]["selector"]
    for pod in release.test_pods:
        assert not selector.items() <= pod["metadata"]["labels"].items()


def test_the_network_policy_admits_only_the_app_port_and_lets_out_only_dns_and_https(release: Release) -> None:
    if not release.values["networkPolicy"]["enabled"]:
        assert release.of_kind("NetworkPolicy") == []
        return
    app_policy = next(policy for policy in release.of_kind("NetworkPolicy") if policy["metadata"]["name"] == FULLNAME)

    assert app_policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert app_policy["spec"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]
    assert _egress_ports(app_policy) == {("UDP", 53), ("TCP", 53), ("TCP", 443)}


@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [
        pytest.param("http://host.minikube.internal:4566", {("TCP", 4566)}, id="localstack-port"),
        pytest.param("http://moto", {("TCP", 80)}, id="http-default-port"),
        pytest.param("https://emulator.example:443", set(), id="already-https"),
        pytest.param("", set(), id="real-aws"),
    ],
)
def test_the_network_policy_lets_out_to_the_emulator_port(
    chart: helm.Chart, endpoint: str, extra: set[tuple[str, int]]
) -> None:
    rendered = render(chart, {"networkPolicy": {"enabled": True}, "env": {"AWS_ENDPOINT_URL": endpoint}})
    app_policy = next(policy for policy in rendered.of_kind("NetworkPolicy") if policy["metadata"]["name"] == FULLNAME)

    assert _egress_ports(app_policy) == {("UDP", 53), ("TCP", 53), ("TCP", 443)} | extra


def test_with_network_policies_the_test_hook_is_fenced_too(chart: helm.Chart) -> None:
    rendered = render(chart, {"networkPolicy": {"enabled": True}})
    policies = rendered.of_kind("NetworkPolicy")
    (hook_policy,) = [policy for policy in policies if annotations_of(policy).get("helm.sh/hook") == "test"]
    (pod,) = rendered.test_pods

    assert hook_policy["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert int(annotations_of(hook_policy)["helm.sh/hook-weight"]) < int(annotations_of(pod)["helm.sh/hook-weight"])
    assert "ingress" not in hook_policy["spec"]


def _egress_ports(policy: Manifest) -> set[tuple[str, int]]:
    return {(port["protocol"], port["port"]) for rule in policy["spec"]["egress"] for port in rule["ports"]}
