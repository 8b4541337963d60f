"""The reconciler on AWS: the deployment package's ``RECONCILE_HANDLER`` as its own function, run every
``RECONCILE_EVERY_MINUTES`` by an EventBridge rule, with its own role (``reconciler_policy_statements`` and its log
streams) and its own log group.

Its timeout (5 minutes) is below the schedule's period, so two passes never overlap; each of its decisions is
final anyway (see app/users_api/reconcile.py). EventBridge invokes it asynchronously: a failed pass is retried by
Lambda (twice) and counted in the function's Errors metric; the next schedule runs a fresh pass.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from backends.plugin import (
    RECONCILE_EVERY_MINUTES,
    RECONCILE_HANDLER,
    AppSpec,
    Storage,
    reconciler_policy_statements,
)

from .package import Package
from .policies import assume_role_policy, function_policy

TIMEOUT_SECONDS = 300
MEMORY_MB = 256
SCHEDULE = f"rate({RECONCILE_EVERY_MINUTES} minutes)"


def reconciler_policy(log_group_arn: str, table_arn: str, bucket_arn: str) -> str:
    """The reconciler's own log streams and exactly its statements (the plugin API's)."""
    return function_policy(log_group_arn, reconciler_policy_statements(table_arn, bucket_arn))


class ScheduledReconciler(pulumi.ComponentResource):
    """The reconcile function, its role, its log group, and the rule that runs it."""

    def __init__(
        self,
        name: str,
        spec: AppSpec,
        storage: Storage,
        package: Package,
        *,
        runtime: str,
        architecture: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("flask-platform:reconciler:ScheduledReconciler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(spec.tags)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name_prefix=f"/aws/lambda/{name}-",
            retention_in_days=spec.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy(), tags=tags, opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(logs.arn, storage.table.arn, storage.bucket.arn).apply(
                lambda arns: reconciler_policy(*arns)
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            role=role.arn,
            runtime=runtime,
            handler=RECONCILE_HANDLER,
            architectures=[architecture],
            memory_size=MEMORY_MB,
            timeout=TIMEOUT_SECONDS,
            code=pulumi.FileArchive(str(package.path)),
            source_code_hash=package.sha256_base64,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "DYNAMODB_TABLE": storage.table.name,
                    "S3_BUCKET": storage.bucket.bucket,
                    **spec.app_environment(),
                }
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=logs.name),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, logs]),
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            description="Resolve pending avatars (app/users_api/reconcile.py)",
            schedule_expression=SCHEDULE,
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target", rule=self.rule.name, arn=self.function.arn, opts=pulumi.ResourceOptions(parent=self.rule)
        )
        aws.lambda_.Permission(
            f"{name}-invoke-permission",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=pulumi.ResourceOptions(parent=self.function),
        )
        self.register_outputs({"functionName": self.function.name})
