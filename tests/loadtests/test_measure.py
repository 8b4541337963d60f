"""What a run measured: Locust's rounding and percentiles, and worker deltas that add up on the master."""

from __future__ import annotations

import json

import pytest

from loadtests.measure import Histogram, Recording, cold_starts, combined, failures, successes


@pytest.mark.parametrize(("ms", "kept"), [(47.4, 47), (147, 150), (3432, 3400), (58760, 59000)])
def test_response_times_are_rounded_as_locust_rounds_them(ms: float, kept: int) -> None:
    """locust/stats.py bucket_response_time (2.47.0): 147 -> 150, 3432 -> 3400, 58760 -> 59000."""
    histogram = Histogram()
    histogram.add(ms)

    assert list(histogram.counts) == [kept]


def test_percentiles_are_locusts_calculate_response_time_percentile() -> None:
    histogram = Histogram()
    for ms in range(1, 101):  # 1..100 ms, one each
        histogram.add(ms)

    # what locust.stats.calculate_response_time_percentile gives for the same dict (checked with 2.47.0)
    assert (histogram.percentile(0.5), histogram.percentile(0.95), histogram.percentile(0.99)) == (51, 96, 100)
    assert histogram.max == 100
    assert histogram.cdf()[-1] == (100.0, 1.0)
    assert Histogram().percentile(0.95) is None


def worker(requests: int, cold: int, dropped: int) -> Recording:
    recording = Recording()
    for n in range(requests):
        recording.add_request("steady", n % 3, "GET /users", 20.0 + n, None if n % 10 else "503: busy")
    for _ in range(cold):
        recording.add_request("steady", 0, "GET /users (cold start)", 900.0, None)
    for n in range(requests + dropped):
        recording.add_arrival("steady", 0, started=n < requests)
    return recording


def test_worker_deltas_sent_as_json_add_up_to_the_whole_run_on_the_master() -> None:
    """Defect 5: cold starts were counted only by the process receiving responses (0 on a master)."""
    workers = [worker(30, 1, 2), worker(20, 2, 0)]
    master = Recording()

    for recording in workers:
        master.merge(Recording.from_json(json.loads(json.dumps(recording.drain()))))  # one report each
        master.merge(Recording.from_json(recording.drain()))  # a later report with nothing new adds nothing

    whole = combined(master.phases.values())
    assert cold_starts(whole) == 3
    assert failures(whole) == 3 + 2
    assert successes(whole) == 50 - 5 + 3
    assert (whole.started, whole.dropped) == (50, 2)
    assert sum(failures(bucket) for bucket in master.windows.values()) == 5
