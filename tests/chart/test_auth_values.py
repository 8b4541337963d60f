"""The chart rendered with the eks backend's values when authentication and the WAF web ACL are on: the annotation
the load balancer controller reads lands on the Ingress, and the pods get the AUTH_* variables."""

from __future__ import annotations

import importlib

import helm_python as helm
import kubernetes_validate

from backends.config import parse
from backends.plugin import AppImage
from tests.chart.support import ROLE_ARN, render

RECONCILER_ROLE_ARN = "arn:aws:iam::123456789012:role/users-api-reconciler"
ACL_ARN = "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/users-api-waf/3ab78708-85b0-49d3-b4e1-7a9615a6613b"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE"


def test_the_web_acl_annotation_and_the_auth_settings_render_on_the_ingress_and_the_pods(chart: helm.Chart) -> None:
    eks = importlib.import_module("backends.eks")
    spec = parse({"backend": "eks", "authIssuer": ISSUER, "authAudience": "client-id", "eks": {"wafRateLimit": "500"}})
    image = AppImage(repository="123456789012.dkr.ecr.eu-west-1.amazonaws.com/users-api-app", tag="t", digest="")
    values = eks.chart_values(
        spec,
        image,
        "eu-west-1",
        "users-1a2b",
        "avatars-3c4d",
        ROLE_ARN,
        reconciler_role_arn=RECONCILER_ROLE_ARN,
        waf_acl_arn=ACL_ARN,
    )

    release = render(chart, values, "users-api")

    for manifest in release.manifests:
        kubernetes_validate.validate(manifest, "1.33", strict=True)
    annotations = release.one("Ingress")["metadata"]["annotations"]
    environment = release.one("ConfigMap")["data"]
    assert annotations["alb.ingress.kubernetes.io/wafv2-acl-arn"] == ACL_ARN
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip", "the chart's own annotations are kept"
    assert (environment["AUTH_ISSUER"], environment["AUTH_AUDIENCE"]) == (ISSUER, "client-id")


def test_without_authentication_the_pods_get_no_auth_variable(chart: helm.Chart) -> None:
    eks = importlib.import_module("backends.eks")
    image = AppImage(repository="123456789012.dkr.ecr.eu-west-1.amazonaws.com/users-api-app", tag="t", digest="")
    values = eks.chart_values(
        parse({"backend": "eks"}),
        image,
        "eu-west-1",
        "users-1a2b",
        "avatars-3c4d",
        ROLE_ARN,
        reconciler_role_arn=RECONCILER_ROLE_ARN,
    )

    release = render(chart, values, "users-api")

    assert [name for name in release.one("ConfigMap")["data"] if name.startswith("AUTH_")] == []
    assert "alb.ingress.kubernetes.io/wafv2-acl-arn" not in release.one("Ingress")["metadata"]["annotations"]
