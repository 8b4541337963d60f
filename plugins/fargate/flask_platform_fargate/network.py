"""The fargate backend's network: a VPC of its own (awsx), the ALB, and the ALB's and the tasks' security groups.

The ALB is made of pulumi-aws resources (load balancer, target group, listener), not awsx's
ApplicationLoadBalancer: awsx returns its parts as resource outputs, which the tests' mock engine (no resource
references) cannot produce, so neither the target group's health check nor the URL could be checked; the
resources are the same ones awsx makes (awsx/lb/applicationLoadBalancer.ts: a target group of type ip, a listener
forwarding to it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from backends.plugin import CONTAINER_PORT, LIVENESS_PATH

from .settings import FargateSettings

NAT_STRATEGIES = {"single": awsx.ec2.NatGatewayStrategy.SINGLE, "onePerAz": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ}
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")  # the app's data stays off the NAT gateway (no per-GB charge)
HTTP_PORT = 80
HTTPS_PORT = 443
# TLS 1.3 and 1.2 only. Without an explicit policy, an API-created HTTPS listener gets ELBSecurityPolicy-2016-08
# (TLS 1.0 and 1.1 too: "Security policies for your Application Load Balancer", Elastic Load Balancing guide); the
# same policy the eks backend's Ingress sets (charts/flask-app/templates/ingress.yaml).
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The ALB's view of a task, and on ECS also its liveness: a target the ALB finds unhealthy is stopped and replaced
# ("Health checks for Application Load Balancer target groups" + ECS's "Load balancer health check" docs), unlike a
# Kubernetes readiness failure. /readyz answers 503 while DynamoDB or S3 is down, so checking it would cycle every task
# through a dependency outage longer than 45 s; /livez answers while the process serves, as the eks backend's pods'
# readiness does (backends/eks/__init__.py). During an outage, requests get the app's own 503 with Retry-After.
HEALTH_CHECK = aws.lb.TargetGroupHealthCheckArgs(
    path=LIVENESS_PATH,
    matcher="200",
    interval=15,
    timeout=5,
    healthy_threshold=2,
    unhealthy_threshold=3,
)
# A task leaving the service is first drained by the ALB for this long (no new requests, in-flight ones finish),
# and only then does ECS send SIGTERM. It must cover the longest request gunicorn lets run (its worker `timeout`,
# 30 s in app/users_api/gunicorn_conf.py); gunicorn's graceful_timeout (25 s) then has to fit in the container's
# stop timeout (Fargate's default, 30 s, before SIGKILL). The ALB's default, 300 s, would slow every rollout and
# every scale-in for nothing.
DEREGISTRATION_DELAY_SECONDS = 30


def create_vpc(
    name: str, settings: FargateSettings, region: str, tags: Mapping[str, str], parent: pulumi.Resource
) -> awsx.ec2.Vpc:
    """Public subnets for the ALB, private ones for the tasks (no public IP), one NAT gateway or one per zone."""
    prefix = ipaddress.IPv4Network(settings.vpc_cidr).prefixlen
    return awsx.ec2.Vpc(
        f"{name}-vpc",
        awsx.ec2.VpcArgs(
            cidr_block=settings.vpc_cidr,
            number_of_availability_zones=settings.availability_zones,
            enable_dns_hostnames=True,  # AWS's default is false in a new VPC; public DNS names for what runs in it
            enable_dns_support=True,
            subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
            subnet_specs=[
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=prefix + 3, tags=dict(tags)),
                awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=prefix + 6, tags=dict(tags)),
            ],
            nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=NAT_STRATEGIES[settings.nat_gateways]),
            vpc_endpoint_strategy=awsx.ec2.VpcEndpointStrategy.AUTO,
            vpc_endpoint_specs=[
                awsx.ec2.VpcEndpointSpecArgs(
                    service_name=f"com.amazonaws.{region}.{service}", vpc_endpoint_type="Gateway", tags=dict(tags)
                )
                for service in GATEWAY_ENDPOINT_SERVICES
            ],
            tags=dict(tags),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def load_balancer_security_group(
    name: str, vpc: awsx.ec2.Vpc, settings: FargateSettings, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """HTTP (and HTTPS with a certificate) from anywhere in; out only to the tasks' port inside the VPC."""
    ports = [HTTP_PORT, HTTPS_PORT] if settings.certificate_arn else [HTTP_PORT]
    return aws.ec2.SecurityGroup(
        f"{name}-alb",
        description="The users API's load balancer: HTTP in, the tasks' port out",
        vpc_id=vpc.vpc_id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=port, to_port=port, cidr_blocks=["0.0.0.0/0"])
            for port in ports
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp", from_port=CONTAINER_PORT, to_port=CONTAINER_PORT, cidr_blocks=[settings.vpc_cidr]
            )
        ],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def task_security_group(
    name: str, vpc: awsx.ec2.Vpc, alb: aws.ec2.SecurityGroup, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.ec2.SecurityGroup:
    """The app's port from the ALB only; out only HTTPS (the AWS APIs, ECR, CloudWatch Logs)."""
    return aws.ec2.SecurityGroup(
        f"{name}-tasks",
        description="The users API's tasks: the app's port from the load balancer, HTTPS out",
        vpc_id=vpc.vpc_id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=CONTAINER_PORT, to_port=CONTAINER_PORT, security_groups=[alb.id]
            )
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="tcp", from_port=HTTPS_PORT, to_port=HTTPS_PORT, cidr_blocks=["0.0.0.0/0"]
            )
        ],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def application_load_balancer(
    name: str,
    vpc: awsx.ec2.Vpc,
    group: aws.ec2.SecurityGroup,
    certificate_arn: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> tuple[aws.lb.TargetGroup, aws.lb.LoadBalancer]:
    """An internet-facing ALB in the public subnets forwarding to the tasks' target group: on HTTP, or, with a
    certificate, on HTTPS with HTTP answered by a permanent redirect to it."""
    load_balancer = aws.lb.LoadBalancer(
        f"{name}-alb",
        load_balancer_type="application",
        internal=False,
        subnets=vpc.public_subnet_ids,
        security_groups=[group.id],
        drop_invalid_header_fields=True,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    target_group = aws.lb.TargetGroup(
        f"{name}-tasks",
        vpc_id=vpc.vpc_id,
        port=CONTAINER_PORT,
        protocol="HTTP",
        target_type="ip",  # Fargate's awsvpc tasks register by IP
        deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
        health_check=HEALTH_CHECK,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=load_balancer),
    )
    forward = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)
    if certificate_arn:
        aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=load_balancer.arn,
            port=HTTPS_PORT,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=certificate_arn,
            default_actions=[forward],
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=load_balancer),
        )
    redirect = aws.lb.ListenerDefaultActionArgs(
        type="redirect",
        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
            protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301"
        ),
    )
    aws.lb.Listener(
        f"{name}-http",
        load_balancer_arn=load_balancer.arn,
        port=HTTP_PORT,
        protocol="HTTP",
        default_actions=[redirect if certificate_arn else forward],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=load_balancer),
    )
    return target_group, load_balancer
