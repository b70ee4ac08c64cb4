"""The one retry policy every remote call goes through (tenacity underneath).

What is retried: transport faults (connection refused or dropped, timeouts), 429 and the 5xx statuses a
client names. A call that is not idempotent (a POST that may have been processed before its answer was
lost) is sent again only after a failure that proves it was not processed (the connection never made, or
429); after any other failure (a timeout, a dropped answer, a proxy's 502/504) the server may still be
processing it, so it is never sent again in the same run: its ``recover`` hook looks for its result before
each retry (e.g. the business ID in the client list), and if the result has not appeared when the retries
run out, the last error is raised and the caller says the write may or may not have happened (the next run
finds it). A call without ``recover`` (the connection PUT) is not retried after such a failure. A lost 201,
or a POST that lands after its timeout, never leads to a second registration.

Waits grow exponentially with full jitter, a Retry-After header is honoured (capped), and both the number
of attempts and the total time are bounded.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import tenacity

from provider import defaults

T = TypeVar("T")

log = logging.getLogger(__name__)

# Transport faults after which the request certainly did not reach the server's handler.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryableStatus(Exception):
    """Raised inside an attempt for an HTTP answer worth retrying (429, 5xx)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and pacing of retries. One instance per client; tests shrink the waits."""

    max_attempts: int = defaults.RETRY_MAX_ATTEMPTS
    initial_wait: float = defaults.RETRY_INITIAL_WAIT_SECONDS
    max_wait: float = defaults.RETRY_MAX_WAIT_SECONDS
    max_total_seconds: float = defaults.RETRY_MAX_TOTAL_SECONDS
    max_retry_after: float = defaults.RETRY_MAX_RETRY_AFTER_SECONDS
    retry_statuses: Collection[int] = field(default_factory=lambda: defaults.RETRY_STATUSES)

    def should_retry_status(self, status_code: int) -> bool:
        return status_code in self.retry_statuses

    def _wait(self, state: tenacity.RetryCallState) -> float:
        backoff = tenacity.wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait)(state)
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableStatus) and error.retry_after is not None:
            return min(max(error.retry_after, backoff), self.max_retry_after)
        return backoff

    def call(
        self,
        attempt: Callable[[], T],
        *,
        idempotent: bool,
        describe: str,
        recover: Callable[[], T | None] | None = None,
    ) -> T:
        """Run ``attempt`` until it returns, retrying per this policy.

        ``describe`` names the call in log lines (no secrets: method and path only). ``recover`` runs before
        every retry of a non-idempotent call and may return the result the lost attempt produced.
        When retries are exhausted the last error is raised as it was.
        """

        def proves_not_processed(error: BaseException) -> bool:
            if isinstance(error, RetryableStatus):
                return error.response.status_code == 429
            return isinstance(error, _NOT_SENT)

        def retryable(error: BaseException) -> bool:
            if isinstance(error, RetryableStatus):
                return idempotent or recover is not None or error.response.status_code == 429
            if isinstance(error, _NOT_SENT):
                return True
            if isinstance(error, httpx.TransportError):
                return idempotent or recover is not None
            return False

        def before_sleep(state: tenacity.RetryCallState) -> None:
            outcome = state.outcome
            error = outcome.exception() if outcome is not None else None
            sleep = state.next_action.sleep if state.next_action else 0.0
            log.warning(
                "%s failed (%s); retry %d in %.1fs", describe, _describe(error), state.attempt_number, sleep
            )

        tries = 0
        # A failure after which a non-idempotent attempt may still be processed by the server: from then on
        # it is only looked for (``recover``), never sent again.
        maybe_processed: BaseException | None = None

        def run_once() -> T:
            nonlocal tries, maybe_processed
            tries += 1
            if recover is not None and tries > 1:
                found = recover()
                if found is not None:
                    return found
            if maybe_processed is not None:
                raise maybe_processed
            try:
                return attempt()
            except BaseException as error:
                if not idempotent and not proves_not_processed(error):
                    maybe_processed = error
                raise

        attempts = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts)
            | tenacity.stop_after_delay(self.max_total_seconds),
            wait=self._wait,
            retry=tenacity.retry_if_exception(retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        return attempts(run_once)


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "no answer"
    if isinstance(error, RetryableStatus):
        return str(error)
    return type(error).__name__
