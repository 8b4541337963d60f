"""The optional abuse limit in front of the ALB: a WAFv2 web ACL with one rate-based rule per client IP.

The load balancer controller associates it with the ALB it makes for the app's Ingress, through the Ingress
annotation ``alb.ingress.kubernetes.io/wafv2-acl-arn`` (its docs, guide/ingress/annotations.md, "Addons": only a
REGIONAL web ACL). The controller's WAFv2 addon is on by default (chart 3.5.0 values.yaml: ``enableWafv2``,
"default true"), and its IAM policy at v3.5.0 (policies/aws-load-balancer-controller.json, upstream's
docs/install/iam_policy.json) already grants wafv2:GetWebACL, GetWebACLForResource, AssociateWebACL and
DisassociateWebACL: nothing to add to the controller.

A rate-based rule counts requests per client IP (``aggregate_key_type="IP"``: the address the ALB saw, which a client
cannot forge with X-Forwarded-For) over the evaluation window and blocks that IP's further requests while it is above
the limit, with a 429 in the API's JSON error shape.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

ACL_ANNOTATION = "alb.ingress.kubernetes.io/wafv2-acl-arn"
RATE_LIMITED_BODY_KEY = "rate-limited"
RATE_LIMITED_BODY = json.dumps(
    {"error": {"code": "rate_limited", "message": "too many requests from this address; slow down and retry later"}}
)


def rate_limit_acl(
    name: str, limit: int, window_seconds: int, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> aws.wafv2.WebAcl:
    metric = f"{name}-per-ip-rate"
    return aws.wafv2.WebAcl(
        f"{name}-waf",
        scope="REGIONAL",  # an ALB's web ACL is regional (CLOUDFRONT is for distributions)
        description=f"{name}: at most {limit} requests per {window_seconds} s from one client IP",
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        custom_response_bodies=[
            aws.wafv2.WebAclCustomResponseBodyArgs(
                key=RATE_LIMITED_BODY_KEY, content=RATE_LIMITED_BODY, content_type="APPLICATION_JSON"
            )
        ],
        rules=[
            aws.wafv2.WebAclRuleArgs(
                name="per-ip-rate",
                priority=0,
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                        aggregate_key_type="IP", limit=limit, evaluation_window_sec=window_seconds
                    )
                ),
                action=aws.wafv2.WebAclRuleActionArgs(
                    block=aws.wafv2.WebAclRuleActionBlockArgs(
                        custom_response=aws.wafv2.WebAclRuleActionBlockCustomResponseArgs(
                            response_code=429,
                            custom_response_body_key=RATE_LIMITED_BODY_KEY,
                            response_headers=[
                                aws.wafv2.WebAclRuleActionBlockCustomResponseResponseHeaderArgs(
                                    name="Retry-After", value=str(window_seconds)
                                )
                            ],
                        )
                    )
                ),
                visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
                ),
            )
        ],
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=f"{name}-waf", sampled_requests_enabled=True
        ),
        tags=tags,
        opts=opts,
    )
