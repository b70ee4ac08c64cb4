"""FabricAI's side of the connection extension: the guide's checks, run against the ERPs over HTTP.

``Verifier.verify`` tries a firm's ERP credentials with FabricAI's partner credentials (the scenario's
``portal.verifier``) and answers the contract's ``Verification``: a verdict, the company the credentials
opened, and one ``Finding`` per check that ran, in the contract's order. The ERP parts are in
``verifier_procountor`` and ``verifier_netvisor``; this module holds what they share:
- the verdict: FAILED only when a check the ERP decided does not hold; otherwise INCONCLUSIVE when
  ``partner_app`` or ``erp_reachable`` does not hold; else PASSED. An outage is never a false FAILED;
- the pace FabricAI owes the ERPs: Procountor at most ``requestsPerSecond`` for its one application across
  all clients (``RequestWindow``), Netvisor one request at a time per customer id (``CustomerLocks``);
- ``ErpCalls``: every request with a total deadline, retried briefly on 429 (Retry-After honoured up to a
  cap), 5xx and transport faults; what still fails becomes an ``erp_reachable`` reason, never an exception.
Nothing a finding, an error or a log line holds comes from a credential or from what an ERP echoed: facts
are built from fixed vocabularies, parsed numbers and the company data the checks are about.
Written from the vendors' documentation without importing ``provider`` (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import email.utils
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from sandbox.portal.scenario import VerifierSettings

Verdict = Literal["PASSED", "FAILED", "INCONCLUSIVE"]
UnreachableReason = Literal["timeout", "unavailable", "rate_limited", "bad_answer"]

# The contract's checks in the order findings are listed.
CHECK_ORDER = (
    "partner_app",
    "erp_reachable",
    "credentials",
    "billable_interfaces",
    "company_identity",
    "company_access",
    "user_rights",
    "resource_rights",
    "dimensions",
)
# Checks whose failure is FabricAI's or the network's, not the firm's: they never make a FAILED.
NOT_ERP_DECIDED = frozenset({"partner_app", "erp_reachable"})
# An answer larger than this is no answer these checks expect (a bounded read, never a memory hazard).
MAX_ANSWER_BYTES = 2 * 1024 * 1024
_BACKOFF_SECONDS = 0.2


@dataclass(frozen=True)
class Finding:
    check: str
    holds: bool
    facts: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"check": self.check, "holds": self.holds, "facts": dict(self.facts)}


@dataclass(frozen=True)
class Company:
    erp_company_id: str
    name: str | None
    business_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {"erpCompanyId": self.erp_company_id, "name": self.name, "businessId": self.business_id}


@dataclass
class Outcome:
    """What one ERP's checks found; ``findings`` in any order (sorted when answered)."""

    findings: list[Finding] = field(default_factory=list)
    company: Company | None = None

    def add(self, check: str, holds: bool, **facts: Any) -> None:
        self.findings.append(Finding(check, holds, facts))


def verdict_of(findings: Sequence[Finding]) -> Verdict:
    if any(not f.holds and f.check not in NOT_ERP_DECIDED for f in findings):
        return "FAILED"
    if any(not f.holds for f in findings):
        return "INCONCLUSIVE"
    return "PASSED"


def verification(system: str, outcome: Outcome, checked_at: dt.datetime) -> dict[str, Any]:
    """The contract's ``Verification`` object."""
    findings = sorted(outcome.findings, key=lambda f: CHECK_ORDER.index(f.check))
    return {
        "verdict": verdict_of(findings),
        "checkedAt": checked_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "system": system,
        "company": None if outcome.company is None else outcome.company.as_json(),
        "findings": [f.as_json() for f in findings],
    }


# ---- pace ----


class RequestWindow:
    """At most ``limit`` requests in any window of ``seconds``, as the ERP counts them on arrival.

    A request is counted from its start until ``seconds`` after its answer arrived: the ERP admitted it
    before that answer, so a request started later than that cannot share the ERP's window with it. A token
    bucket would let twice the limit through around a refill; this never lets one too many through."""

    def __init__(self, limit: int, seconds: float = 1.0) -> None:
        self.limit = limit
        self.seconds = seconds
        self._answered: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        # Made on first use, inside the server's event loop.
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        changed = self._condition()
        async with changed:
            while True:
                now = time.monotonic()
                while self._answered and self._answered[0] <= now - self.seconds:
                    self._answered.popleft()
                if self._in_flight + len(self._answered) < self.limit:
                    self._in_flight += 1
                    break
                wait = self._answered[0] + self.seconds - now if self._answered else None
                with suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=wait)
        try:
            yield
        finally:
            async with changed:
                self._in_flight -= 1
                self._answered.append(time.monotonic())
                changed.notify_all()


class CustomerLocks:
    """One request at a time per Netvisor customer id (its "customer environment")."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    def of(self, customer_id: str) -> asyncio.Lock:
        return self._locks.setdefault(customer_id, asyncio.Lock())


# ---- requests ----


@dataclass(frozen=True)
class Unreachable:
    """No usable answer after the attempts: the ``erp_reachable`` facts."""

    reason: UnreachableReason
    status: int | None = None

    def facts(self) -> dict[str, Any]:
        return (
            {"reason": self.reason} if self.status is None else {"reason": self.reason, "status": self.status}
        )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes


class AnswerTooLarge(Exception):
    pass


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


class ErpCalls:
    """The requests of one verification: one HTTP client, one deadline, bounded attempts per request."""

    def __init__(self, settings: VerifierSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self.deadline = time.monotonic() + settings.deadline_seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    async def _read(self, request: httpx.Request) -> Answer:
        response = await self.http.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise AnswerTooLarge
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise AnswerTooLarge
            return Answer(response.status_code, response.headers, bytes(body))
        finally:
            await response.aclose()

    async def call(
        self,
        build: Callable[[], httpx.Request],
        *,
        paced: Callable[[], Any],
        retryable_status: Callable[[int], bool],
        retry_answer: Callable[[Answer], bool] = lambda answer: False,
    ) -> Answer | Unreachable:
        """Send the request ``build`` makes (a fresh one per attempt: Netvisor needs a new transaction id
        and MAC each time) within ``paced()`` (an async context manager: the ERP's pace). Retry
        ``retryable_status`` answers, answers ``retry_answer`` says are passing faults, and transport
        faults, with backoff and full jitter, Retry-After honoured up to the cap and the deadline."""
        last: Unreachable = Unreachable("timeout")
        for attempt in range(self.settings.attempts):
            remaining = self.remaining()
            if remaining <= 0:
                return last
            timeout = min(self.settings.timeout_seconds, remaining)
            wait: float | None = None
            try:
                async with paced():
                    answer = await asyncio.wait_for(self._read(build()), timeout=timeout)
            except (TimeoutError, httpx.TimeoutException):
                last = Unreachable("timeout")
            except AnswerTooLarge:
                return Unreachable("bad_answer")
            except httpx.TransportError:
                last = Unreachable("unavailable")
            else:
                if answer.status == 429:
                    last = Unreachable("rate_limited", 429)
                    wait = retry_after_seconds(answer.headers.get("retry-after"), time.time())
                    if wait is not None and wait > self.settings.max_retry_after_seconds:
                        return last
                elif retryable_status(answer.status) or retry_answer(answer):
                    last = Unreachable("unavailable", answer.status)
                else:
                    return answer
            if attempt + 1 < self.settings.attempts:
                pause = wait if wait is not None else random.uniform(0, _BACKOFF_SECONDS * 2**attempt)
                if pause >= self.remaining():
                    return last
                await asyncio.sleep(pause)
        return last


# ---- the entry point ----


ErpCheck = Callable[[ErpCalls], Awaitable[Outcome]]


class Verifier:
    """FabricAI's verifier for one sandbox: its partner settings and the pace shared by every verification."""

    def __init__(self, settings: VerifierSettings) -> None:
        self.settings = settings
        self.procountor_window = RequestWindow(
            settings.procountor.requests_per_second if settings.procountor else 1
        )
        self.netvisor_locks = CustomerLocks()
        # One pooled client for every verification, made in the server's event loop when first needed: a
        # client per verification built an SSL context each time (about 51 ms of CPU) inside the loop that
        # also answers the portal and the ERPs (docs/PERFORMANCE.md, "A firm's stack").
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None or self._http.is_closed:
            # No redirects: a credential is sent to the address configured and nowhere else.
            self._http = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.settings.timeout_seconds,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def verify(self, system: str, check: ErpCheck | None) -> dict[str, Any]:
        """Run one ERP's checks (``check`` None: FabricAI holds no partner credentials for that ERP, so
        the run stops at ``partner_app``) and answer the ``Verification``."""
        started = dt.datetime.now(dt.UTC)
        if check is None:
            outcome = Outcome()
            outcome.add("partner_app", False)
            return verification(system, outcome, started)
        outcome = await check(ErpCalls(self.settings, self._client()))
        return verification(system, outcome, started)
