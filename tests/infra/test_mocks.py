"""The mocks a backend package tests under (README, "Write your own backend", step 4): a resource type the project's
mocks do not know gets its inputs and an ARN back; a subclass computes the outputs its backend reads."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.infra.conftest import RecordingMocks, install_mocks

SERVICE_URL = "abcdefgh12.us-east-1.awsapprunner.com"


class AppRunnerMocks(RecordingMocks):
    """The README's example: what App Runner computes for a service, added to what the base echoes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        physical_id, state = super().new_resource(args)
        if args.typ == "aws:apprunner/service:Service":
            state = {**state, "serviceUrl": SERVICE_URL}
            self.resources[-1].outputs = state
        return physical_id, state


def service_url(recording: RecordingMocks) -> tuple[str | None, dict[str, Any]]:
    """The service's URL as the program sees it, and what the mocks recorded for it."""
    seen: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[None]:
        service = aws.apprunner.Service(
            "users-api",
            service_name="users-api",
            source_configuration=aws.apprunner.ServiceSourceConfigurationArgs(
                image_repository=aws.apprunner.ServiceSourceConfigurationImageRepositoryArgs(
                    image_identifier="123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api-app:1",
                    image_repository_type="ECR",
                )
            ),
        )
        return service.service_url.apply(lambda url: seen.update(url=url))

    program()
    return seen.get("url"), recording.one("aws:apprunner/service:Service").outputs


def test_a_type_the_mocks_do_not_know_gets_its_inputs_and_an_arn_but_no_computed_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, outputs = service_url(install_mocks(monkeypatch, RecordingMocks()))

    assert url is None
    assert outputs["serviceName"] == "users-api"
    assert outputs["arn"].startswith("arn:aws:apprunner:us-east-1:123456789012:")


def test_a_subclass_computes_the_outputs_of_its_backends_resource_types(monkeypatch: pytest.MonkeyPatch) -> None:
    url, outputs = service_url(install_mocks(monkeypatch, AppRunnerMocks()))

    assert url == SERVICE_URL
    assert outputs["serviceUrl"] == SERVICE_URL
