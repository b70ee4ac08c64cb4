"""The rules and stored state of the Netvisor stand-in: its error codes, the transaction ids already used
(in the SQLite store, so a restart keeps them), the requests in flight per customer environment (one at a
time is the rule; a second is refused and counted as a violation), the companies' resource rights as
changed at run time, and the statistics tests read."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.db import Database
from sandbox.netvisor.scenario import NetvisorCompany, NetvisorScenario, ResourceRight, RightStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS netvisor_transactions (
    partner_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id, transaction_id)
);
"""


class ErrorCode(StrEnum):
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    INVALID_DATA = "INVALID_DATA"
    REQUEST_NOT_UNIQUE = "REQUEST_NOT_UNIQUE"
    SERVICE_ACCESS_ERROR = "SERVICE_ACCESS_ERROR"
    TECHNICAL_ERROR = "TECHNICAL_ERROR"


# Used only when the client sends X-Netvisor-Authentication-UseHTTPResponseStatusCodes: 1; otherwise
# every answer is HTTP 200 and the envelope alone tells success from failure.
HTTP_STATUS = {
    ErrorCode.AUTHENTICATION_FAILED: 401,
    ErrorCode.INVALID_DATA: 400,
    ErrorCode.REQUEST_NOT_UNIQUE: 409,
    ErrorCode.SERVICE_ACCESS_ERROR: 403,
    ErrorCode.TECHNICAL_ERROR: 500,
}


class NetvisorFailure(Exception):
    """A request Netvisor answers with a FAILED envelope.

    ``http_status`` overrides the code's usual status (the in-flight refusal answers 429).
    """

    def __init__(self, code: ErrorCode, text: str, *, http_status: int | None = None) -> None:
        super().__init__(f"{code} :: {text}")
        self.code = code
        self.text = text
        self.http_status = http_status if http_status is not None else HTTP_STATUS[code]


@dataclass
class _CustomerStats:
    requests: int = 0
    concurrency_violations: int = 0
    max_in_flight: int = 0


@dataclass
class _Stats:
    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    concurrency_violations: int = 0
    max_in_flight_per_customer: int = 0
    customers: dict[str, _CustomerStats] = field(default_factory=dict)


class NetvisorState:
    """What the service remembers between requests; thread-safe (admin calls come from other threads)."""

    def __init__(self, seed: NetvisorScenario, db: Database) -> None:
        self._seed = seed
        self.scenario = seed
        self._db = db
        self._db.migrate(SCHEMA)
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._stats = _Stats()

    def reset(self) -> None:
        """Back to the seed: forget used transaction ids, run-time changes and the counters."""
        self._db.execute("DELETE FROM netvisor_transactions")
        with self._lock:
            self._stats = _Stats()
            self.scenario = self._seed

    def set_resource_rights(
        self, business_id: str, partner_id: str, rights: Mapping[ResourceRight, RightStatus]
    ) -> bool:
        """A partner's integration-specific resource rights in one company, changed as its main user would
        on "API resource rights"; False if no such company."""
        with self._lock:
            company = self.scenario.company(business_id)
            if company is None:
                return False
            specific = {
                **company.resource_rights,
                partner_id: {**company.resource_rights.get(partner_id, {}), **rights},
            }
            changed: NetvisorCompany = company.model_copy(update={"resource_rights": specific})
            companies = [changed if c is company else c for c in self.scenario.companies]
            self.scenario = self.scenario.model_copy(update={"companies": companies})
        return True

    # ---- transaction ids ----

    def consume_transaction_id(self, partner_id: str, customer_id: str, transaction_id: str) -> None:
        """Record the id; a second use by the same partner and customer is REQUEST_NOT_UNIQUE."""
        key = (partner_id, customer_id, transaction_id)
        with self._db.transaction() as conn:
            seen = conn.execute(
                "SELECT 1 FROM netvisor_transactions"
                " WHERE partner_id = ? AND customer_id = ? AND transaction_id = ?",
                key,
            ).fetchone()
            if seen is None:
                conn.execute(
                    "INSERT INTO netvisor_transactions (partner_id, customer_id, transaction_id, received_at)"
                    " VALUES (?, ?, ?, ?)",
                    (*key, dt.datetime.now(dt.UTC).isoformat()),
                )
        if seen is not None:
            raise NetvisorFailure(
                ErrorCode.REQUEST_NOT_UNIQUE,
                f"Transaction id {transaction_id} has already been used; every request needs a new one.",
            )

    # ---- requests in flight per customer environment ----

    def enter(self, environment: str) -> int:
        """Count a request of this customer environment as in flight; returns how many now are."""
        with self._lock:
            self._in_flight[environment] += 1
            in_flight = self._in_flight[environment]
            customer = self._stats.customers.setdefault(environment, _CustomerStats())
            customer.requests += 1
            customer.max_in_flight = max(customer.max_in_flight, in_flight)
            self._stats.max_in_flight_per_customer = max(self._stats.max_in_flight_per_customer, in_flight)
            return in_flight

    def leave(self, environment: str) -> None:
        with self._lock:
            self._in_flight[environment] -= 1

    def count_violation(self, environment: str) -> None:
        with self._lock:
            self._stats.concurrency_violations += 1
            self._stats.customers.setdefault(environment, _CustomerStats()).concurrency_violations += 1

    # ---- statistics ----

    def count_request(self, resource: str) -> None:
        with self._lock:
            self._stats.requests[resource] += 1

    def count_failure(self, code: ErrorCode) -> None:
        with self._lock:
            self._stats.failures[code.value] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            stats = self._stats
            return {
                "requests": dict(stats.requests),
                "failures": dict(stats.failures),
                "concurrencyViolations": stats.concurrency_violations,
                "maxInFlightPerCustomer": stats.max_in_flight_per_customer,
                "customers": {
                    customer_id: {
                        "requests": customer.requests,
                        "concurrencyViolations": customer.concurrency_violations,
                        "maxInFlight": customer.max_in_flight,
                    }
                    for customer_id, customer in stats.customers.items()
                },
            }
