"""The cluster and its nodes: pulumi-eks with access entries and OIDC, one managed node group in private subnets.

The node group's desired size belongs to cluster-autoscaler once the cluster
runs: Pulumi never scales it back (see node_scaling for what is sent). Its launch
template requires IMDSv2 with a hop limit of 1: a pod (one network hop further
than the node) cannot reach the instance metadata service, so it cannot take
the node role's credentials; pods get AWS access through IRSA only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx
import pulumi_eks as eks

from .settings import EksSettings

# What a node needs to join the cluster, run the VPC CNI and pull images; nothing the app needs (that is IRSA).
NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
# EKS's managed access policy equal to Kubernetes' cluster-admin, associated cluster-wide.
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
AMI_TYPES = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}  # AL2 ends with Kubernetes 1.32
ROOT_DEVICE = "/dev/xvda"  # the root volume of the EKS-optimised AL2023 AMIs


def node_role(
    name: str, partition: pulumi.Input[str], tags: Mapping[str, str], parent: pulumi.Resource
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The nodes' role and its policy attachments: the node group depends on both (a node without the CNI
    policy never becomes ready, and on destroy the policies must outlive the nodes)."""
    role = aws.iam.Role(
        f"{name}-node-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
        description="EKS nodes: join the cluster, run the VPC CNI, pull images",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-node-{policy}",
            role=role.name,
            policy_arn=pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy),
            opts=pulumi.ResourceOptions(parent=role),
        )
        for policy in NODE_MANAGED_POLICIES
    ]
    return role, attachments


def admin_access_entries(principals: tuple[str, ...]) -> dict[str, eks.AccessEntryArgs]:
    """One STANDARD access entry per principal, with cluster admin over the whole cluster.

    The keys name the entries' resources (pulumi-eks makes one aws.eks.AccessEntry per key): derived from the
    ARN, not the list's order, so adding or removing a principal leaves the others' entries untouched."""
    entries = {}
    for principal in principals:
        partition, kind_and_name = principal.split(":")[1], principal.split(":", 5)[5]
        kind, _, path_and_name = kind_and_name.partition("/")
        readable = re.sub(r"[^A-Za-z0-9-]", "-", path_and_name.rsplit("/", 1)[-1])[:40]
        key = f"admin-{kind}-{readable}-{hashlib.sha256(principal.encode()).hexdigest()[:8]}"
        entries[key] = eks.AccessEntryArgs(
            principal_arn=principal,
            type=eks.AccessEntryType.STANDARD,
            access_policies={
                "cluster-admin": eks.AccessPolicyAssociationArgs(
                    policy_arn=f"arn:{partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                )
            },
        )
    return entries


# The tags that say a resource is this stack's (backends/config.py puts them on everything it creates).
OWNER_TAGS = ("project", "app", "stack")


def owned_by(found: Mapping[str, str] | None, tags: Mapping[str, str]) -> bool:
    """Whether a resource found in the account carries this stack's owner tags."""
    return all((found or {}).get(key) == tags.get(key) for key in OWNER_TAGS)


def control_plane_log_group(
    name: str, settings: EksSettings, retention_days: int, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.cloudwatch.LogGroup | None:
    """The group EKS writes the control-plane logs to, made before the cluster so that it is ours.

    EKS sends control-plane logs to ``/aws/eks/<cluster>/cluster`` and creates that group itself when it does
    not exist, with no retention (kept forever) and outside the stack (left behind by destroy). Created here
    first, under that exact name, it has a retention and goes with the stack.

    But a group of that name may already exist and not be ours: EKS made it for a stack deployed before this
    resource existed, or made it again after a destroy (its service-linked role writes the cluster's last logs
    once the cluster is gone: terraform-aws-modules/terraform-aws-eks#2486, #2763). Creating it then fails
    (ResourceAlreadyExistsException), and importing it needs inputs equal to what it has. So a group found with
    this stack's tags is managed as usual; one found without them is left alone, with a warning saying how to
    give it a retention or hand it over, and the cluster does not wait for it."""
    group_name = f"/aws/eks/{settings.cluster_name}/cluster"
    invoke = pulumi.InvokeOptions(parent=parent)
    existing = aws.cloudwatch.get_log_groups(log_group_name_prefix=group_name, opts=invoke).log_group_names or []
    if group_name in existing:
        found = aws.cloudwatch.get_log_group(name=group_name, opts=invoke)
        if not owned_by(found.tags, tags):
            pulumi.log.warn(
                f"the log group {group_name} exists and is not this stack's (EKS made it): its control-plane logs"
                f" keep its retention ({found.retention_in_days or 'never expire'}). Set one with `aws logs"
                f" put-retention-policy --log-group-name {group_name} --retention-in-days {retention_days}`, or"
                " delete the group and run `pulumi up` again to have the stack create and manage it.",
                resource=parent,
            )
            return None
    return aws.cloudwatch.LogGroup(
        f"{name}-control-plane-logs",
        name=group_name,
        retention_in_days=retention_days,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def create_cluster(
    name: str,
    settings: EksSettings,
    vpc: awsx.ec2.Vpc,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    log_group: aws.cloudwatch.LogGroup | None = None,
) -> eks.Cluster:
    """``log_group``: the control-plane log group (control_plane_log_group), which the cluster must wait for."""
    return eks.Cluster(
        f"{name}-cluster",
        name=settings.cluster_name,
        version=settings.kubernetes_version,
        vpc_id=vpc.vpc_id,
        public_subnet_ids=vpc.public_subnet_ids,  # for internet-facing load balancers only
        private_subnet_ids=vpc.private_subnet_ids,  # nodes and pods
        node_associate_public_ip_address=False,
        skip_default_node_group=True,  # the managed node group below instead
        create_oidc_provider=True,  # IRSA
        authentication_mode=eks.AuthenticationMode.API,  # access entries, not the aws-auth ConfigMap
        # The creator gets admin from EKS itself (bootstrapClusterCreatorAdminPermissions); these are the others.
        access_entries=admin_access_entries(settings.admin_principals) or None,
        endpoint_public_access=True,
        endpoint_private_access=True,  # nodes reach the API server inside the VPC
        public_access_cidrs=list(settings.public_access_cidrs),
        enabled_cluster_log_types=list(settings.log_types),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_group] if log_group else None),
    )


def node_launch_template(
    name: str, settings: EksSettings, tags: Mapping[str, str], parent: pulumi.Resource
) -> aws.ec2.LaunchTemplate:
    return aws.ec2.LaunchTemplate(
        f"{name}-nodes",
        description="EKS nodes: IMDSv2 only, hop limit 1 (pods cannot reach the node's credentials), encrypted root",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=settings.node_disk_gib,
                    volume_type="gp3",
                    encrypted="true",
                    delete_on_termination="true",
                ),
            )
        ],
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=dict(tags))
            for kind in ("instance", "volume")
        ],
        update_default_version=True,
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True)
class NodeScaling:
    """The node group's scaling config as EKS reports it, or as it is to be sent."""

    min_size: int
    desired_size: int
    max_size: int


def live_node_scaling(
    name: str, settings: EksSettings, tags: Mapping[str, str], parent: pulumi.Resource
) -> NodeScaling | None:
    """The node group's scaling config as EKS has it now, or None before the node group exists.

    Read with plain invokes at program time (a preview reads too): whether Pulumi may send the desired size is a
    resource option, which cannot wait for an Output. The group is this stack's by its tags (OWNER_TAGS, which
    the ManagedNodeGroup passes on), among those named ``<name>-nodes`` plus Pulumi's random suffix; an ACTIVE
    one is preferred (a failed replacement can leave a second). A cluster of the configured name that carries
    another stack's tags is refused: sharing it would mix two stacks' node groups and logs. A group not found
    (none yet, or a custom autonaming pattern) is treated as new: the configured sizes with the desired size
    ignored, which is how every update behaved before; a min/max change then needs the desired size set by hand."""
    invoke = pulumi.InvokeOptions(parent=parent)
    if settings.cluster_name not in (aws.eks.get_clusters(opts=invoke).names or []):
        return None
    cluster = aws.eks.get_cluster(name=settings.cluster_name, opts=invoke)
    if not owned_by(cluster.tags, tags):
        owner = (cluster.tags or {}).get("stack", "no stack's tags")
        raise pulumi.RunError(
            f"an EKS cluster named {settings.cluster_name!r} already exists in this account and region and is not"
            f" this stack's ({owner}): choose another name with `pulumi config set --path eks.clusterName <name>`"
        )
    named = re.compile(rf"{re.escape(name)}-nodes-[0-9a-f]+")
    groups = aws.eks.get_node_groups(cluster_name=settings.cluster_name, opts=invoke).names or []
    candidates = [
        aws.eks.get_node_group(cluster_name=settings.cluster_name, node_group_name=group, opts=invoke)
        for group in sorted(groups)
        if named.fullmatch(group)
    ]
    ours = sorted((group for group in candidates if owned_by(group.tags, tags)), key=lambda g: g.status != "ACTIVE")
    if not ours:
        return None
    config = ours[0].scaling_configs[0]
    return NodeScaling(min_size=config.min_size, desired_size=config.desired_size, max_size=config.max_size)


def node_scaling(settings: EksSettings, live: NodeScaling | None) -> tuple[NodeScaling, bool]:
    """What the node group is given, and whether Pulumi must leave its desired size alone (``ignore_scaling_changes``).

    pulumi-eks 4.4's ``ignore_scaling_changes`` is Pulumi's ``ignoreChanges: ["scalingConfig.desiredSize"]`` on
    the aws.eks.NodeGroup it makes (nodejs/eks/nodes/nodegroup.ts), and the engine then sends the desired size of
    the *old inputs* (pkg/resource/deploy/step_generator.go, processIgnoreChanges): the size from creation, not
    the autoscaler's. Sent with a new minimum above it EKS refuses the update ("Minimum capacity N can't be greater
    than desired size M"); sent with any min/max change it resets the group to its creation size. So:

    - no node group yet: eks.nodeMin/nodeDesired/nodeMax, as created (then cluster-autoscaler owns the desired size);
    - min and max unchanged: the desired size is ignored, so nothing is sent and no update happens;
    - min or max changed: the live desired size (the autoscaler's), moved into the new [min, max], is sent with
      them, so EKS accepts the update and the autoscaler's choice survives unless the new bounds exclude it.

    What is sent therefore always satisfies min <= desired <= max. Only when the bounds change, a size the
    autoscaler sets between this read and the update (the run's first seconds to minutes) is overwritten; it
    sets it again on its next loop (10 s by default)."""
    wanted_min, wanted_max = settings.node_min, settings.node_max
    if live is None:
        return NodeScaling(wanted_min, settings.node_desired, wanted_max), True
    if (live.min_size, live.max_size) == (wanted_min, wanted_max):
        return NodeScaling(wanted_min, live.desired_size, wanted_max), True
    desired = min(max(live.desired_size, wanted_min), wanted_max)
    return NodeScaling(wanted_min, desired, wanted_max), False


def create_node_group(
    name: str,
    settings: EksSettings,
    cluster: eks.Cluster,
    vpc: awsx.ec2.Vpc,
    role: tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]],
    launch_template: aws.ec2.LaunchTemplate,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> eks.ManagedNodeGroup:
    """EKS tags the group's Auto Scaling group with k8s.io/cluster-autoscaler/<cluster>=owned and .../enabled:
    cluster-autoscaler discovers it by those tags, and its IAM policy may only touch groups tagged so."""
    node_role_, attachments = role
    scaling, ignore_desired = node_scaling(settings, live_node_scaling(name, settings, tags, parent))
    return eks.ManagedNodeGroup(
        f"{name}-nodes",
        cluster=cluster,
        node_role=node_role_,
        # pulumi-eks fills in the version only without a launch template: without this, a Kubernetes upgrade
        # would move the control plane and leave the nodes behind.
        version=settings.kubernetes_version,
        subnet_ids=vpc.private_subnet_ids,
        instance_types=list(settings.instance_types),
        ami_type=AMI_TYPES[settings.architecture],
        capacity_type="ON_DEMAND",
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(
            min_size=scaling.min_size, desired_size=scaling.desired_size, max_size=scaling.max_size
        ),
        ignore_scaling_changes=ignore_desired,  # see node_scaling: cluster-autoscaler owns the desired size
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
            id=launch_template.id, version=launch_template.latest_version.apply(str)
        ),
        labels={"flask-platform/node-group": "app"},
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(attachments)),
    )
