"""IAM roles for service accounts (IRSA): a role only one Kubernetes service account can assume.

The trust policy names the cluster's OIDC provider and says exactly who may
assume the role: ``<issuer>:sub`` must be ``system:serviceaccount:<ns>:<sa>``
and ``<issuer>:aud`` must be ``sts.amazonaws.com`` (StringEquals, no
wildcards), so no other pod in the cluster can use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

STS_AUDIENCE = "sts.amazonaws.com"


def trust_policy(oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_account: str) -> str:
    """The role's trust policy; ``oidc_issuer`` is the issuer without ``https://`` (pulumi-eks's oidcIssuer)."""
    issuer = oidc_issuer.removeprefix("https://")
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{issuer}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


@dataclass(frozen=True)
class IrsaRole:
    """The role and its policy: whoever uses the role depends on both, so the permissions exist as long as the
    user does (on destroy, the load balancer controller still needs them to delete the ALB)."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    @property
    def resources(self) -> list[pulumi.Resource]:
        return [self.role, self.policy]


def irsa_role(
    name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    oidc_issuer: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[Mapping[str, Any]],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> IrsaRole:
    """A role for ``namespace/service_account`` with ``policy`` inline (one document, owned by the role)."""
    document = pulumi.Output.all(oidc_provider_arn, oidc_issuer).apply(
        lambda found: trust_policy(found[0], found[1], namespace, service_account)
    )
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=document,
        description=f"IRSA: only the service account {namespace}/{service_account} assumes this role",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    inline = aws.iam.RolePolicy(
        f"{name}-policy",
        role=role.id,
        policy=pulumi.Output.from_input(policy).apply(json.dumps),
        opts=pulumi.ResourceOptions(parent=role),
    )
    return IrsaRole(role, inline)
