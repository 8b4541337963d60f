"""The fargate package's tests run under the project's Pulumi mocks (tests/infra/conftest.py): no engine, no cloud."""

from tests.infra.conftest import RecordingMocks, mocks

__all__ = ["RecordingMocks", "mocks"]
