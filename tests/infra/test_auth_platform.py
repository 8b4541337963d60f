"""Authentication and abuse limits on the platform, under Pulumi mocks: the settings, what every backend passes to
the app, lambda's JWT authorizer on the write routes, eks's WAF web ACL and its Ingress annotation, and the warning
a public backend gives when it deploys with authentication off."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

from backends.component import FlaskPlatform, FlaskPlatformArgs
from backends.config import ConfigError, parse
from tests.infra.conftest import RecordingMocks
from tests.infra.test_eks_backend import deploy as deploy_eks
from tests.infra.test_eks_backend import releases
from tests.infra.test_lambda_backend import deploy as deploy_lambda

lambda_backend = importlib.import_module("backends.lambda")
package = importlib.import_module("backends.lambda.package")
eks_waf = importlib.import_module("backends.eks.waf")

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE"
AUTH = {"authIssuer": ISSUER, "authAudience": "7example1client2id"}
ROUTE = "aws:apigatewayv2/route:Route"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


# -- settings ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "environment"),
    [
        ({}, {}),
        (AUTH, {"AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": "7example1client2id"}),
        (
            {**AUTH, "authScope": "users:admin", "authProtectReads": "true", "authJwksUrl": ISSUER + "/keys"},
            {
                "AUTH_ISSUER": ISSUER,
                "AUTH_AUDIENCE": "7example1client2id",
                "AUTH_SCOPE": "users:admin",
                "AUTH_PROTECT_READS": "true",
                "AUTH_JWKS_URL": ISSUER + "/keys",
            },
        ),
    ],
)
def test_auth_settings_reach_the_app_only_when_set(config: dict[str, str], environment: dict[str, str]) -> None:
    spec = parse({"backend": "minikube", **config})

    assert {key: value for key, value in spec.app_environment().items() if key.startswith("AUTH_")} == environment


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (
            {"authIssuer": ISSUER},
            "go together (authentication needs both): set authAudience too, `pulumi config set authAudience users-api`",
        ),
        ({"authAudience": "api"}, "set authIssuer too"),
        ({"authScope": "users:write"}, "authScope is set but authentication is off"),
        ({"authProtectReads": "true"}, "authProtectReads is set but authentication is off"),
        (
            {**AUTH, "authIssuer": "http://issuer.example.com"},
            "authIssuer='http://issuer.example.com': must be an https",
        ),
        ({**AUTH, "authIssuer": "https://issuer.example.com/?tenant=1"}, "without query or fragment"),
        ({**AUTH, "authScope": "users write"}, "authScope='users write': must be one OAuth scope"),
        ({**AUTH, "authAudience": ""}, "authAudience=''"),
    ],
)
def test_a_wrong_auth_setting_is_named_with_the_fix(config: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=None) as raised:
        parse({"backend": "minikube", **config})

    assert says in str(raised.value)


# -- every backend passes the settings -----------------------------------------------------------------------------


def test_the_lambda_function_gets_the_auth_environment(mocks: RecordingMocks) -> None:
    deploy_lambda(mocks, **AUTH)

    variables = mocks.one_named("aws:lambda/function:Function", "users-api-function")["environment"]["variables"]
    assert variables["AUTH_ISSUER"] == ISSUER
    assert variables["AUTH_AUDIENCE"] == "7example1client2id"


def test_the_eks_chart_gets_the_auth_environment(mocks: RecordingMocks) -> None:
    deploy_eks(mocks, **AUTH)

    env = releases(mocks)["users-api"]["values"]["env"]
    assert env["AUTH_ISSUER"] == ISSUER
    assert env["AUTH_AUDIENCE"] == "7example1client2id"


# -- lambda: API Gateway's JWT authorizer --------------------------------------------------------------------------


def routes(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    return {resource.inputs["routeKey"]: resource.inputs for resource in mocks.of_type(ROUTE)}


def test_without_auth_the_api_has_only_its_default_route_and_no_authorizer(mocks: RecordingMocks) -> None:
    deploy_lambda(mocks)

    assert list(routes(mocks)) == ["$default"]
    assert mocks.of_type(AUTHORIZER) == []


def test_the_jwt_authorizer_checks_the_issuer_and_audience_from_the_authorization_header(mocks: RecordingMocks) -> None:
    deploy_lambda(mocks, **AUTH)

    authorizer = mocks.one(AUTHORIZER).inputs
    assert authorizer["authorizerType"] == "JWT"
    assert authorizer["identitySources"] == ["$request.header.Authorization"]
    assert authorizer["jwtConfiguration"] == {"issuer": ISSUER, "audiences": ["7example1client2id"]}


@pytest.mark.parametrize(
    ("config", "protected"),
    [
        ({}, {"POST /user": ["users:write"], "DELETE /users/{email+}": ["users:write"]}),
        ({"authScope": "users:admin"}, {"POST /user": ["users:admin"], "DELETE /users/{email+}": ["users:admin"]}),
        (
            {"authProtectReads": "true"},
            {
                "POST /user": ["users:write"],
                "DELETE /users/{email+}": ["users:write"],
                "GET /users": None,  # any valid token
                "GET /users/{email+}": None,
            },
        ),
    ],
)
def test_the_write_routes_need_a_token_with_the_scope_and_the_rest_stays_on_default(
    mocks: RecordingMocks, config: dict[str, str], protected: dict[str, list[str] | None]
) -> None:
    deploy_lambda(mocks, **AUTH, **config)

    found = routes(mocks)
    default = found.pop("$default")
    assert "authorizationType" not in default  # health checks and docs: no token
    assert {key: route.get("authorizationScopes") for key, route in found.items()} == protected
    for route in found.values():
        assert route["authorizationType"] == "JWT"
        assert route["authorizerId"] == f"{mocks.one(AUTHORIZER).name}-1a2b3c-id"  # the mock's id for it
        assert route["target"] == default["target"]  # the same function: the app checks the token again


# -- eks: the WAF web ACL ------------------------------------------------------------------------------------------


def test_without_a_rate_limit_there_is_no_web_acl(mocks: RecordingMocks) -> None:
    deploy_eks(mocks)

    assert mocks.of_type(WEB_ACL) == []
    assert "annotations" not in releases(mocks)["users-api"]["values"]["ingress"]


def test_a_rate_limit_makes_a_regional_web_acl_the_ingress_names(mocks: RecordingMocks) -> None:
    deploy_eks(mocks, wafRateLimit="2000", wafRateWindowSeconds="60")

    acl = mocks.one(WEB_ACL)
    rule = acl.inputs["rules"][0]
    annotations = releases(mocks)["users-api"]["values"]["ingress"]["annotations"]
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    assert rule["statement"]["rateBasedStatement"] == {
        "aggregateKeyType": "IP",
        "limit": 2000,
        "evaluationWindowSec": 60,
    }
    block = rule["action"]["block"]["customResponse"]
    assert block["responseCode"] == 429
    body = {item["key"]: item for item in acl.inputs["customResponseBodies"]}[block["customResponseBodyKey"]]
    assert json.loads(body["content"])["error"]["code"] == "rate_limited"
    assert annotations == {"alb.ingress.kubernetes.io/wafv2-acl-arn": acl.outputs["arn"]}


def test_the_controller_may_associate_the_web_acl() -> None:
    """The controller's official policy (v3.5.0, committed) grants what the annotation needs: nothing to add."""
    policy = json.loads(
        (Path(__file__).parents[2] / "backends/eks/policies/aws-load-balancer-controller.json").read_text()
    )
    granted = {action for statement in policy["Statement"] for action in _actions(statement)}

    assert {
        "wafv2:GetWebACL",
        "wafv2:GetWebACLForResource",
        "wafv2:AssociateWebACL",
        "wafv2:DisassociateWebACL",
    } <= granted


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize(
    ("limit", "window", "says"),
    [
        ("9", "300", "count from 10 requests"),
        ("2000000001", "300", "less than or equal to 2000000000"),
        ("-1", "300", "greater than or equal to 0"),
        ("100", "30", "eks.wafRateWindowSeconds='30'"),
    ],
)
def test_a_rate_limit_outside_wafs_bounds_is_refused(limit: str, window: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse({"backend": "eks", "eks": {"wafRateLimit": limit, "wafRateWindowSeconds": window}})

    assert says in str(raised.value)


@pytest.mark.parametrize("limit", ["0", "10", "2000000000"])
def test_rate_limits_at_wafs_bounds_are_accepted(limit: str) -> None:
    parse({"backend": "eks", "eks": {"wafRateLimit": limit}})


# -- the warning ---------------------------------------------------------------------------------------------------


@pytest.fixture
def warnings_logged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: logged.append(message))
    monkeypatch.setattr(lambda_backend, "build_package", lambda spec: package.Package(Path("x.zip"), 1, "aA==", True))
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return logged


def _component(args: FlaskPlatformArgs) -> None:
    @pulumi.runtime.test
    def run() -> None:
        FlaskPlatform("users-api", args)

    run()


@pytest.mark.parametrize("backend", ["lambda", "eks"])
def test_a_public_backend_without_auth_warns_once(
    mocks: RecordingMocks, warnings_logged: list[str], backend: str
) -> None:
    _component(FlaskPlatformArgs(backend=backend))

    about_auth = [message for message in warnings_logged if "authentication is off" in message]
    assert len(about_auth) == 1
    assert "pulumi config set authIssuer" in about_auth[0]


@pytest.mark.parametrize(
    "args",
    [
        FlaskPlatformArgs(backend="lambda", auth_issuer=ISSUER, auth_audience="api"),
        FlaskPlatformArgs(backend="minikube"),  # on the developer's machine only
    ],
    ids=["lambda-with-auth", "minikube"],
)
def test_no_warning_with_auth_on_or_off_the_internet(
    mocks: RecordingMocks, warnings_logged: list[str], args: FlaskPlatformArgs
) -> None:
    _component(args)

    assert [message for message in warnings_logged if "authentication is off" in message] == []
