"""The network: an awsx VPC across zones, subnets tagged for load balancers, NAT, S3 and DynamoDB endpoints.

Pods get VPC addresses (the VPC CNI), so the private subnets are the big
ones. The gateway endpoints keep the app's traffic to its table and bucket
inside AWS's network and off the NAT gateway (which bills per GB).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

import pulumi
import pulumi_awsx as awsx

from .settings import EksSettings

NAT_STRATEGIES = {"single": awsx.ec2.NatGatewayStrategy.SINGLE, "onePerAz": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ}
# The AWS Load Balancer Controller finds subnets by these tags: internet-facing ALBs in public ones.
PUBLIC_SUBNET_TAGS = {"kubernetes.io/role/elb": "1"}
PRIVATE_SUBNET_TAGS = {"kubernetes.io/role/internal-elb": "1"}
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")


def subnet_masks(vpc_cidr: str) -> tuple[int, int]:
    """(private, public) prefix lengths: an eighth of the VPC per zone for pods, a sixty-fourth for load balancers.

    awsx gives each zone a block of prefix + ceil(log2(zones)) bits, so up to four zones both fit in each zone's
    block (config caps the count there), and a /20 VPC still leaves each public subnet the /27 an ALB needs.
    """
    prefix = ipaddress.IPv4Network(vpc_cidr).prefixlen
    return prefix + 3, prefix + 6


def vpc_args(settings: EksSettings, region: str, tags: Mapping[str, str]) -> awsx.ec2.VpcArgs:
    private_mask, public_mask = subnet_masks(settings.vpc_cidr)
    return awsx.ec2.VpcArgs(
        cidr_block=settings.vpc_cidr,
        number_of_availability_zones=settings.availability_zones,
        enable_dns_hostnames=True,  # awsx's default is false; EKS nodes and the endpoints need it
        enable_dns_support=True,
        subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
        subnet_specs=[
            awsx.ec2.SubnetSpecArgs(
                type=awsx.ec2.SubnetType.PRIVATE, cidr_mask=private_mask, tags={**tags, **PRIVATE_SUBNET_TAGS}
            ),
            awsx.ec2.SubnetSpecArgs(
                type=awsx.ec2.SubnetType.PUBLIC, cidr_mask=public_mask, tags={**tags, **PUBLIC_SUBNET_TAGS}
            ),
        ],
        nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=NAT_STRATEGIES[settings.nat_gateways]),
        # Auto: awsx fills each gateway endpoint's route tables with the VPC's own.
        vpc_endpoint_strategy=awsx.ec2.VpcEndpointStrategy.AUTO,
        vpc_endpoint_specs=[
            awsx.ec2.VpcEndpointSpecArgs(
                service_name=f"com.amazonaws.{region}.{service}", vpc_endpoint_type="Gateway", tags=dict(tags)
            )
            for service in GATEWAY_ENDPOINT_SERVICES
        ],
        tags=dict(tags),
    )


def create_vpc(
    name: str, settings: EksSettings, region: str, tags: Mapping[str, str], parent: pulumi.Resource
) -> awsx.ec2.Vpc:
    return awsx.ec2.Vpc(f"{name}-vpc", vpc_args(settings, region, tags), opts=pulumi.ResourceOptions(parent=parent))
