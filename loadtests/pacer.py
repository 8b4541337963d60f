"""Arrivals started on schedule on a pool of Locust users (k6's virtual users), or counted as dropped.

Each load-generating process (the local runner, or each worker) runs one
``Pacer``: a greenlet that sleeps until the next arrival of its share of the
plan (``loadtests/arrivals.py``) and hands it to an idle user of the pool. The
pool is the cap on in-flight work: an arrival due while every user is busy is
not queued (a queue would hide the overload and start it late) but dropped
and counted, as k6's ``dropped_iterations``. Arrivals already late when the
pacer wakes (a busy load generator) start at once, so slow responses never
lower the offered rate: the schedule, not the responses, sets it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable

import gevent
import gevent.queue

from .arrivals import Plan, arrival_times

OnArrival = Callable[[float, bool, float], None]  # (seconds since the start it was due, started?, seconds late)


class Pacer:
    def __init__(self, actions: Iterable[str]) -> None:
        self._actions = itertools.cycle(tuple(actions))
        self._queue: gevent.queue.Queue[str] = gevent.queue.Queue()
        self._idle = 0
        self._greenlet: gevent.Greenlet | None = None

    def start(self, plan: Plan, share: float, offset: float, on_arrival: OnArrival) -> None:
        self.stop()
        self._greenlet = gevent.spawn(self._run, plan, share, offset, on_arrival)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _run(self, plan: Plan, share: float, offset: float, on_arrival: OnArrival) -> None:
        started = time.monotonic()
        for due in arrival_times(plan, share, offset):
            delay = started + due - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            late = max(0.0, time.monotonic() - started - due)
            if self._idle > 0:
                self._idle -= 1  # reserved now: two arrivals due together never count the same idle user
                self._queue.put(next(self._actions))
                on_arrival(due, True, late)
            else:
                on_arrival(due, False, late)

    def take(self) -> str:
        """Wait, idle, for the next arrival; its action's name."""
        self._idle += 1
        try:
            action: str = self._queue.get()
            return action
        except BaseException:  # the user was stopped while idle
            self._idle = max(0, self._idle - 1)
            raise
