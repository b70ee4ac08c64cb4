"""Procountor's pace: at most 20 requests per second per client application (its "API requests" page).

Every request (tokens included) takes a slot from the process-wide limiter of its partner app first, so
the engine's four threads together never exceed the pace in any one-second window at the server (how
Procountor counts is not published: this is the strictest reading), while the few reads of one
verification still leave together.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from provider.context import process_context
from provider.defaults import PROCOUNTOR_BURST


class RateLimiter:
    """At most ``per_second`` requests in any second as the server counts them, in short bursts.

    Two rules, both kept under one lock:

    - a **token bucket** (refilled at ``per_second``, holding ``burst``): up to ``burst`` requests leave at
      once, and the long-run average is ``per_second``;
    - a **one-second window over answered requests**: a slot counts from the moment it is taken until one
      second after its answer came back, and at most ``per_second`` slots count at a time. The server sees
      a request between those two moments, so however the network delays requests, no one-second window
      at the server holds more than ``per_second`` of them.

    Use it as ``with limiter.slot(): send(...)``.
    """

    def __init__(self, per_second: float, burst: int = PROCOUNTOR_BURST) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be above 0")
        self.per_second = per_second
        self.window_limit = max(1, math.floor(per_second))
        self.burst = max(1, min(burst, self.window_limit))
        self._cond = threading.Condition()
        self._tokens = float(self.burst)
        self._refilled_at = time.monotonic()
        self._in_flight = 0
        self._answered: collections.deque[float] = collections.deque()  # answer times, last second

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._acquire()
        try:
            yield
        finally:
            self._release()

    def _acquire(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._refilled_at) * self.per_second)
                self._refilled_at = now
                while self._answered and self._answered[0] <= now - 1.0:
                    self._answered.popleft()
                counted = self._in_flight + len(self._answered)
                if counted < self.window_limit and self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self._in_flight += 1
                    return
                waits = []
                if self._tokens < 1.0:
                    waits.append((1.0 - self._tokens) / self.per_second)
                if counted >= self.window_limit and self._answered:
                    waits.append(self._answered[0] + 1.0 - now)
                # Otherwise every counted slot is in flight: its release wakes this thread.
                self._cond.wait(max(min(waits), 0.0005) if waits else None)

    def _release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._answered.append(time.monotonic())
            self._cond.notify_all()


def limiter_for(base_url: str, client_id: str, per_second: float) -> RateLimiter:
    """The process-wide limiter of one client application at one Procountor host (in provider.context)."""
    return process_context().procountor_limiters.get((base_url, client_id), lambda: RateLimiter(per_second))
