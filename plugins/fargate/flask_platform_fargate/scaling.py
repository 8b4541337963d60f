"""The service's autoscaling: Application Auto Scaling's scalable target (min..max tasks) and a CPU target-tracking
policy on the predefined metric ECSServiceAverageCPUUtilization.

The names are Application Auto Scaling's (RegisterScalableTarget: ServiceNamespace ``ecs``, ResourceId
``service/<cluster>/<service>``, ScalableDimension ``ecs:service:DesiredCount``), as pulumi-aws 7.51's
``appautoscaling.Target`` and ``Policy`` take them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from .settings import FargateSettings

SERVICE_NAMESPACE = "ecs"
SCALABLE_DIMENSION = "ecs:service:DesiredCount"
CPU_METRIC = "ECSServiceAverageCPUUtilization"
ECS_SERVICE = "aws:ecs/service:Service"
DESIRED_COUNT = "desiredCount"  # the engine's (camelCase) property name, as ignoreChanges takes it


def autoscaling(
    name: str,
    settings: FargateSettings,
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
) -> tuple[aws.appautoscaling.Target, aws.appautoscaling.Policy]:
    target = aws.appautoscaling.Target(
        f"{name}-scaling-target",
        service_namespace=SERVICE_NAMESPACE,
        scalable_dimension=SCALABLE_DIMENSION,
        resource_id=pulumi.Output.concat("service/", cluster_name, "/", service_name),
        min_capacity=settings.min_tasks,
        max_capacity=settings.max_tasks,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    policy = aws.appautoscaling.Policy(
        f"{name}-cpu-target-tracking",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
            target_value=float(settings.cpu_target_percent),
            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type=CPU_METRIC
            ),
            scale_out_cooldown=settings.scale_out_cooldown_seconds,
            scale_in_cooldown=settings.scale_in_cooldown_seconds,
        ),
        opts=pulumi.ResourceOptions(parent=target),
    )
    return target, policy


def keep_autoscaled_desired_count(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """Two options for awsx's child ECS service, which the FargateService's own options cannot reach.

    awsx's FargateService builds the service as ``new aws.ecs.Service(name, {desiredCount: 1, ...args, ...},
    {parent: this})`` (awsx/ecs/fargateService.ts at pulumi/pulumi-awsx e60adf3c, lines 73-89): no ignoreChanges,
    so each `pulumi up` would reset the count Application Auto Scaling chose. ``ignoreChanges: [desiredCount]``
    leaves it to the autoscaler after creation.

    The service has a fixed name (the app's: the scaling target and the load tests address it as
    ``service/<cluster>/<name>``), and ECS refuses a second ACTIVE service of the same name in a cluster
    ("Creation of service was not idempotent", hashicorp/terraform-provider-aws#605 and #2283), so Pulumi's
    default create-before-delete replacement would fail half-way. ``deleteBeforeReplace`` deletes the old
    service first (a short outage on the rare replacing change, e.g. a new cluster), instead of a failed `up`.

    Registered as a ``transforms`` option (not the legacy ``transformations``, which never reach the children of
    a multi-language component such as awsx's): the engine calls it back for each child of the remote component.
    """
    if args.type_ != ECS_SERVICE:
        return None
    return pulumi.ResourceTransformResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(
            args.opts, pulumi.ResourceOptions(ignore_changes=[DESIRED_COUNT], delete_before_replace=True)
        ),
    )
