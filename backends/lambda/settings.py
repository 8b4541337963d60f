"""The lambda backend's settings: config object ``lambda`` (``pulumi config set --path lambda.memoryMb 1024``),
or FlaskPlatform's ``backend_config``. Each setting's type, default, bounds and description are declared here once."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from backends.plugin import AppSettings, BackendSettings, SettingProblem

# Lambda's synchronous invoke payload is 6 MB; API Gateway base64-encodes binary bodies (4/3 larger),
# and the multipart envelope and event JSON need room: about 4.4 MB of raw upload fit.
MAX_AVATAR_BYTES = 4_400_000
# API Gateway HTTP API waits at most 30 s for its integration; the function must answer before that.
MAX_TIMEOUT_SECONDS = 29
# Lambda's ReservedConcurrentExecutions: 0 is accepted by AWS but throttles every invoke. The ceiling is the account's
# concurrency quota minus the 100 AWS keeps unreserved: 900 with the default quota of 1,000, more where the quota was
# raised. The quota is not known here, so only what is invalid whatever the quota is refused.
DEFAULT_ACCOUNT_CONCURRENCY = 1000
UNRESERVED_MINIMUM = 100
MAX_RESERVED_CONCURRENCY = 1_000_000  # a bound against typos only; AWS checks the account's real quota
MOVED_KEYS = {  # the flat keys of earlier releases -> this object's keys
    "lambdaRuntime": "runtime",
    "lambdaArchitecture": "architecture",
    "lambdaMemoryMb": "memoryMb",
    "lambdaTimeoutSeconds": "timeoutSeconds",
    "lambdaReservedConcurrency": "reservedConcurrency",
    "apiThrottleRateLimit": "throttleRateLimit",
    "apiThrottleBurstLimit": "throttleBurstLimit",
}


class LambdaSettings(BackendSettings):
    """The function and its HTTP API."""

    # python3.12+ run on Amazon Linux 2023 (glibc 2.34); python3.11's Amazon Linux 2 (glibc 2.26) cannot load the
    # manylinux_2_28 wheels the pinned Pillow ships.
    runtime: Literal["python3.12", "python3.13"] = Field(
        "python3.12", description="Lambda runtime, on Amazon Linux 2023; the package is built for it."
    )
    architecture: Literal["arm64", "x86_64"] = Field(
        "arm64", description="The function's architecture; the package's wheels are chosen for it."
    )
    memory_mb: int = Field(512, ge=128, le=10240, description="Memory in MB; CPU grows with it.")
    timeout_seconds: int = Field(
        15, ge=1, le=MAX_TIMEOUT_SECONDS, description="Timeout in seconds (API Gateway gives up at 30)."
    )
    reserved_concurrency: int = Field(
        -1,
        ge=-1,
        le=MAX_RESERVED_CONCURRENCY,
        description="Reserved concurrency, a floor and a cap; -1: the account's shared pool; 0 is refused (it "
        "throttles every request). AWS keeps 100 unreserved: a default account (quota 1000) reserves at most 900.",
    )
    throttle_rate_limit: int = Field(
        100, ge=1, le=10000, description="API Gateway steady-state requests per second for the API's routes."
    )
    throttle_burst_limit: int = Field(200, ge=1, le=5000, description="API Gateway burst capacity for the routes.")

    @field_validator("reserved_concurrency")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError(
                "0 lets no invocation run: every request is throttled (429); -1 for the account's shared pool, or a "
                "positive number to reserve (and cap) that many concurrent executions"
            )
        return value

    @property
    def reserved(self) -> int | None:
        """The reservation, or None for the account's shared pool (-1, as in Lambda's own API)."""
        return None if self.reserved_concurrency == -1 else self.reserved_concurrency

    def check_app(self, app: AppSettings) -> None:
        if app.max_avatar_bytes is not None and app.max_avatar_bytes > MAX_AVATAR_BYTES:
            raise SettingProblem(
                "max_avatar_bytes",
                f"{app.max_avatar_bytes} is above what the lambda backend can receive: a Lambda invoke payload is "
                f"at most 6 MB and API Gateway base64-encodes uploads (4/3 larger), so about {MAX_AVATAR_BYTES} "
                "bytes fit",
                MAX_AVATAR_BYTES,
                app_setting=True,
            )


def reserved_concurrency_note(reserved: int | None) -> str | None:
    """What a reservation above a default account's ceiling needs; None when any account can grant it.

    Not refused: accounts whose concurrency quota was raised may reserve more. AWS refuses the function's
    update at deploy time when the quota is too small, so the note says where to look first."""
    ceiling = DEFAULT_ACCOUNT_CONCURRENCY - UNRESERVED_MINIMUM
    if reserved is None or reserved <= ceiling:
        return None
    return (
        f"lambda.reservedConcurrency={reserved} needs an account concurrency quota of at least "
        f"{reserved + UNRESERVED_MINIMUM} (AWS keeps {UNRESERVED_MINIMUM} unreserved; the default "
        f"quota is {DEFAULT_ACCOUNT_CONCURRENCY}, so {ceiling} is the most a default account reserves). "
        "Check Service Quotas > AWS Lambda > Concurrent executions in this region, or lower "
        f"lambda.reservedConcurrency to {ceiling}"
    )
