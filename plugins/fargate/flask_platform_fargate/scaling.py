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
    """awsx's FargateService sets the ECS service's desiredCount (awsx/ecs/fargateService.ts: ``desiredCount: 1,
    ...args``) with no ignoreChanges, so each `pulumi up` would reset what the autoscaler chose; this transform,
    which reaches awsx's child service, leaves desiredCount to Application Auto Scaling after creation."""
    if args.type_ != ECS_SERVICE:
        return None
    ignored = [*(args.opts.ignore_changes or []), "desiredCount"]
    return pulumi.ResourceTransformResult(
        props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(ignore_changes=ignored))
    )
