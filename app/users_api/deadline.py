"""A request's overall deadline, shared by every AWS call the request makes.

Each request gets ``REQUEST_DEADLINE_SECONDS`` (10 s by default), below the
platform's own limits: gunicorn's graceful timeout (25 s), the Lambda
function's timeout (15 s) and API Gateway's integration timeout (30 s). An AWS
call is attempted only while a whole attempt (connect + read timeout) still
fits, and retried only while another one does: a slow dependency costs the
request at most its deadline, never three timed-out attempts per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends_at - self._clock())

    def allows(self, seconds: float) -> bool:
        """Whether something that may take ``seconds`` still ends before the deadline."""
        return self.remaining() >= seconds


def unlimited() -> Deadline:
    """For callers outside a request (the reconciler, tests): a day is as good as no deadline."""
    return Deadline(24 * 3600.0)
