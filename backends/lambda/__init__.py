"""The lambda backend: the app in AWS Lambda behind an API Gateway HTTP API, through apig-wsgi.

Imported by name (``importlib.import_module("backends.lambda")``): ``lambda``
is a keyword, so no import statement can name this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from backends.plugin import AppSpec, AuthSpec, BackendPlugin, Deployment, Storage, app_policy_statements

from .package import Package, build
from .policies import assume_role_policy, function_policy
from .reconciler import ScheduledReconciler
from .settings import MOVED_KEYS, LambdaSettings, reserved_concurrency_note

HANDLER = "users_api.lambda_handler.handler"
# API Gateway gives up on an integration after 30 s: stop waiting just after the function's own timeout.
INTEGRATION_TIMEOUT_CAP_MS = 30_000
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)

Packager = Callable[[AppSpec], Package]
# The app's routes that need a token (app/users_api/auth.py): writes need the write scope, reads (when protected)
# any valid token. HTTP API route keys: "{email+}" is a greedy path variable, so "a/b@x" and ".../avatar" match it.
WRITE_ROUTES = {"create-user": "POST /user", "delete-user": "DELETE /users/{email+}"}
READ_ROUTES = {"list-users": "GET /users", "get-user": "GET /users/{email+}"}


def jwt_routes(auth: AuthSpec) -> dict[str, tuple[str, list[str]]]:
    """Name -> (route key, the scopes API Gateway requires; empty: any valid token). Everything else stays on
    $default without an authorizer (health checks, docs, and the reads unless protected)."""
    routes = {name: (key, [auth.write_scope]) for name, key in WRITE_ROUTES.items()}
    if auth.protect_reads:
        routes.update({name: (key, []) for name, key in READ_ROUTES.items()})
    return routes


def build_package(spec: AppSpec) -> Package:
    """The deployment package for the spec's runtime and architecture (see package.py)."""
    settings = spec.settings_as(LambdaSettings)
    return build(settings.runtime, settings.architecture, app_dir=spec.app_dir)


def app_function_policy(log_group_arn: str, table_arn: str, bucket_arn: str) -> str:
    """Exactly what the function does: write its own log streams, use its table and its avatar objects."""
    return function_policy(log_group_arn, app_policy_statements(table_arn, bucket_arn))


class Backend(pulumi.ComponentResource):
    """Storage, a least-privilege role, the function with its log group, and an HTTP API in front."""

    def __init__(
        self,
        name: str,
        spec: AppSpec,
        opts: pulumi.ResourceOptions | None = None,
        *,
        packager: Packager | None = None,
    ) -> None:
        super().__init__("flask-platform:backends:Lambda", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(spec.tags)
        settings = spec.settings_as(LambdaSettings)

        storage = Storage(name, tags=tags, deletion_protection=spec.deletion_protection, opts=child)
        function_logs = aws.cloudwatch.LogGroup(
            f"{name}-function-logs",
            name_prefix=f"/aws/lambda/{name}-",
            retention_in_days=spec.log_retention_days,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(f"{name}-function-role", assume_role_policy=assume_role_policy(), tags=tags, opts=child)
        role_policy = aws.iam.RolePolicy(
            f"{name}-function-policy",
            role=role.id,
            policy=pulumi.Output.all(function_logs.arn, storage.table.arn, storage.bucket.arn).apply(
                lambda arns: app_function_policy(*arns)
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )
        built = (packager or build_package)(spec)
        api = aws.apigatewayv2.Api(f"{name}-api", protocol_type="HTTP", tags=tags, opts=child)
        environment: dict[str, pulumi.Input[str]] = {
            "DYNAMODB_TABLE": storage.table.name,
            "S3_BUCKET": storage.bucket.bucket,
            **spec.app_environment(),  # the app's settings the user set; the app keeps its defaults for the rest
            "TRUSTED_PROXIES": "1",
            # A request's AWS calls share this deadline, which ends before the function's timeout kills it.
            "REQUEST_DEADLINE_SECONDS": str(settings.request_deadline_seconds),
            # The API's own URLs are built on its endpoint (the $default stage has no path), never a client's Host.
            "PUBLIC_URL": api.api_endpoint,
        }  # never AWS_REGION or AWS_* credentials: Lambda reserves and sets them
        self.function = aws.lambda_.Function(
            f"{name}-function",
            role=role.arn,
            runtime=settings.runtime,
            handler=HANDLER,
            architectures=[settings.architecture],
            memory_size=settings.memory_mb,
            timeout=settings.timeout_seconds,
            code=pulumi.FileArchive(str(built.path)),
            source_code_hash=built.sha256_base64,
            reserved_concurrent_executions=settings.reserved_concurrency,  # -1: the shared pool, as in Lambda's API
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=function_logs.name),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, function_logs]),
        )
        if note := reserved_concurrency_note(settings.reserved):
            pulumi.log.warn(note, resource=self.function)

        reconciler = ScheduledReconciler(
            f"{name}-reconciler",
            spec,
            storage,
            built,
            runtime=settings.runtime,
            architecture=settings.architecture,
            opts=child,
        )

        api_child = pulumi.ResourceOptions(parent=api)
        integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=self.function.invoke_arn,
            payload_format_version="2.0",  # the default is 1.0: set it, apig-wsgi reads the 2.0 shape
            timeout_milliseconds=min(INTEGRATION_TIMEOUT_CAP_MS, (settings.timeout_seconds + 1) * 1000),
            opts=api_child,
        )
        aws.apigatewayv2.Route(
            f"{name}-route",
            api_id=api.id,
            route_key="$default",
            target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
            opts=api_child,
        )
        if spec.auth is not None:
            # API Gateway checks the token first (signature from the issuer's JWKS, iss, aud or client_id, exp, nbf,
            # the route's scopes), so a refused call never invokes or bills the function; the app checks it again.
            authorizer = aws.apigatewayv2.Authorizer(
                f"{name}-jwt-authorizer",
                api_id=api.id,
                authorizer_type="JWT",
                identity_sources=["$request.header.Authorization"],
                jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                    issuer=spec.auth.issuer, audiences=[spec.auth.audience]
                ),
                name=f"{name}-jwt",
                opts=api_child,
            )
            for route_name, (key, scopes) in jwt_routes(spec.auth).items():
                aws.apigatewayv2.Route(
                    f"{name}-route-{route_name}",
                    api_id=api.id,
                    route_key=key,
                    target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                    authorization_type="JWT",
                    authorizer_id=authorizer.id,
                    authorization_scopes=scopes or None,
                    opts=api_child,
                )
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-api-access-logs",
            name_prefix=f"/aws/apigateway/{name}-",
            retention_in_days=spec.log_retention_days,
            tags=tags,
            opts=child,
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=api.id,
            name="$default",  # a named stage would land in rawPath and Flask would answer 404
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=float(settings.throttle_rate_limit),
                throttling_burst_limit=settings.throttle_burst_limit,
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            tags=tags,
            opts=api_child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke-permission",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=pulumi.ResourceOptions(parent=self.function),
        )

        scaling: dict[str, Any] = {
            "kind": "lambda",
            "reservedConcurrency": settings.reserved,
            "architecture": settings.architecture,
            "memoryMb": settings.memory_mb,
            "timeoutSeconds": settings.timeout_seconds,
            "throttleRateLimit": float(settings.throttle_rate_limit),
            "throttleBurstLimit": settings.throttle_burst_limit,
        }
        self.deployment = Deployment(
            url=stage.invoke_url.apply(lambda url: url.rstrip("/")),
            backend="lambda",
            table_name=storage.table.name,
            bucket_name=storage.bucket.bucket,
            scaling=scaling,
            extras={
                "functionName": self.function.name,
                "apiId": api.id,
                "functionLogGroup": function_logs.name,
                "reconcilerFunctionName": reconciler.function.name,
                "accessLogGroup": access_logs.name,  # the cost model measures its ingested bytes per request
                "packageBytes": built.size_bytes,
            },
        )
        self.register_outputs(self.deployment.outputs())


plugin = BackendPlugin(
    name="lambda",
    settings=LambdaSettings,
    factory=Backend,
    description="AWS Lambda behind an API Gateway HTTP API.",
    moved_keys=MOVED_KEYS,
)
