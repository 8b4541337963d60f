"""The IAM documents of this backend's functions: who may assume their roles, and what each may do."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def assume_role_policy() -> str:
    """Lambda's service, and nothing else, may assume a function's role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def function_policy(log_group_arn: str, statements: Sequence[Mapping[str, Any]]) -> str:
    """Write the function's own log streams, and exactly ``statements``."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnLogStreams",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*",
                },
                *statements,
            ],
        }
    )
