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

from backends.plugin import CONTAINER_PORT, READINESS_PATH

from .settings import FargateSettings

NAT_STRATEGIES = {"single": awsx.ec2.NatGatewayStrategy.SINGLE, "onePerAz": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ}
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")  # the app's data stays off the NAT gateway (no per-GB charge)
HTTP_PORT = 80
HTTPS_PORT = 443
HEALTH_CHECK = aws.lb.TargetGroupHealthCheckArgs(  # the ALB's view of a task; /readyz checks DynamoDB and S3
    path=READINESS_PATH,
    matcher="200",
    interval=15,
    timeout=5,
    healthy_threshold=2,
    unhealthy_threshold=3,
)
DEREGISTRATION_DELAY_SECONDS = 30  # gunicorn's graceful timeout is shorter; the default 300 s slows every rollout


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
            enable_dns_hostnames=True,  # awsx's default is false; the gateway endpoints' names need it
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
    """HTTP from anywhere in; out only to the tasks' port inside the VPC."""
    return aws.ec2.SecurityGroup(
        f"{name}-alb",
        description="The users API's load balancer: HTTP in, the tasks' port out",
        vpc_id=vpc.vpc_id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=HTTP_PORT, to_port=HTTP_PORT, cidr_blocks=["0.0.0.0/0"]
            )
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
    name: str, vpc: awsx.ec2.Vpc, group: aws.ec2.SecurityGroup, tags: Mapping[str, str], parent: pulumi.Resource
) -> tuple[aws.lb.TargetGroup, aws.lb.LoadBalancer]:
    """An internet-facing ALB in the public subnets, its listener on HTTP forwarding to the tasks' target group."""
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
    aws.lb.Listener(
        f"{name}-http",
        load_balancer_arn=load_balancer.arn,
        port=HTTP_PORT,
        protocol="HTTP",
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=load_balancer),
    )
    return target_group, load_balancer
