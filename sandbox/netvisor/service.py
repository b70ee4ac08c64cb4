"""The sandbox's Netvisor service: signed ``.nv`` resources over the scenario's companies.

Each request goes through, in order: the in-flight rule (one request at a time per customer
environment), authentication (headers, keys, timestamp window, MAC), transaction-id uniqueness
(persisted in SQLite), the organisation the credential's user reaches, the partner's resource right
for that company, and finally the resource's own parameters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.db import Database
from sandbox.netvisor import payloads
from sandbox.netvisor.auth import CUSTOMER_ID, USE_HTTP_STATUS, Authenticated, authenticate
from sandbox.netvisor.responses import ErrorCode, NetvisorFailure, failed_response, ok_response
from sandbox.netvisor.scenario import NetvisorCompany, NetvisorScenario, ResourceRight

SCHEMA = """
CREATE TABLE IF NOT EXISTS netvisor_transactions (
    partner_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (partner_id, customer_id, transaction_id)
);
"""

PayloadBuilder = Callable[[NetvisorCompany, payloads.ResourceQuery], ET.Element]


@dataclass(frozen=True)
class Resource:
    """One ``.nv`` resource: the resource right that guards it and how its payload is built."""

    path: str
    right: ResourceRight
    build: PayloadBuilder


RESOURCES = (
    Resource("purchaseinvoicelist.nv", ResourceRight.PURCHASE_INVOICES, payloads.purchase_invoice_list),
    Resource("accountingledger.nv", ResourceRight.ACCOUNTING_MATERIAL, payloads.accounting_ledger),
    Resource("accountlist.nv", ResourceRight.ACCOUNTING_MATERIAL, payloads.account_list),
    Resource("dimensionlist.nv", ResourceRight.CALCULATION_TARGETS, payloads.dimension_list),
)

# How the error names a resource right: the subheading of Netvisor's "API resource rights" page.
RIGHT_UI_NAMES = {
    ResourceRight.PURCHASE_INVOICES: "purchase invoices",
    ResourceRight.ACCOUNTING_MATERIAL: "accounting material",
    ResourceRight.CALCULATION_TARGETS: "calculation targets",
}


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


def request_url(request: Request) -> str:
    """The URL as the client sent it (scheme, Host header, raw path, raw query): what the MAC covers."""
    scope = request.scope
    host = request.headers.get("host", "")
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope['scheme']}://{host}{path}" + (f"?{query}" if query else "")


def base_url(request: Request) -> str:
    """Where the service is mounted, as the client addressed it (for the URIs inside payloads)."""
    return (
        f"{request.scope['scheme']}://{request.headers.get('host', '')}{request.scope.get('root_path', '')}"
    )


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class NetvisorService:
    """Netvisor's integration API as the sandbox serves it under ``/netvisor``."""

    name = "netvisor"

    def __init__(self, scenario: NetvisorScenario, db: Database) -> None:
        self._scenario = scenario
        self._db = db
        self._db.migrate(SCHEMA)
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._stats = _Stats()
        self.app = Starlette(
            routes=[
                Route(f"/{resource.path}", self._endpoint(resource), methods=["GET"])
                for resource in RESOURCES
            ]
        )

    def reset(self) -> None:
        """Back to the seed: forget used transaction ids and the counters."""
        self._db.execute("DELETE FROM netvisor_transactions")
        with self._lock:
            self._stats = _Stats()

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

    def _endpoint(self, resource: Resource) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return await self._handle(resource, request)

        return endpoint

    async def _handle(self, resource: Resource, request: Request) -> Response:
        use_http_status = request.headers.get(USE_HTTP_STATUS) == "1"
        customer_id = request.headers.get(CUSTOMER_ID, "")
        # Only a known customer id names a customer environment; anything else fails authentication.
        environment = customer_id if self._scenario.customer(customer_id) else None
        with self._lock:
            self._stats.requests[resource.path] += 1
        in_flight = self._enter(environment) if environment is not None else 0
        try:
            if environment is not None and in_flight > 1:
                self._count_violation(environment)
                raise NetvisorFailure(
                    ErrorCode.TECHNICAL_ERROR,
                    "Another request for this customer environment is still being processed. "
                    "Send one request at a time and wait for the response before sending the next.",
                    http_status=429,
                )
            if self._scenario.processing_delay_ms:
                await asyncio.sleep(self._scenario.processing_delay_ms / 1000)
            payload = self._process(resource, request)
            return ok_response([payload], _utc_now())
        except NetvisorFailure as failure:
            with self._lock:
                self._stats.failures[failure.code.value] += 1
            return failed_response(failure, _utc_now(), use_http_status=use_http_status)
        finally:
            if environment is not None:
                self._leave(environment)

    def _process(self, resource: Resource, request: Request) -> ET.Element:
        auth = authenticate(request.headers, request_url(request), self._scenario, _utc_now())
        self._consume_transaction_id(auth)
        company = self._reachable_company(auth)
        if not company.allows(auth.partner.id, resource.right):
            raise NetvisorFailure(
                ErrorCode.SERVICE_ACCESS_ERROR,
                f"Resource {resource.path} is not allowed: the API resource right "
                f"'{RIGHT_UI_NAMES[resource.right]}' of this partner is not set to allowed "
                f"in organisation {company.business_id}.",
            )
        return resource.build(company, payloads.ResourceQuery(request.query_params, base_url(request)))

    def _consume_transaction_id(self, auth: Authenticated) -> None:
        """Record the id; a second use by the same partner and customer is REQUEST_NOT_UNIQUE."""
        key = (auth.partner.id, auth.customer.id, auth.transaction_id)
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
                    (*key, _utc_now().isoformat()),
                )
        if seen is not None:
            raise NetvisorFailure(
                ErrorCode.REQUEST_NOT_UNIQUE,
                f"Transaction id {auth.transaction_id} has already been used; every request needs a new one.",
            )

    def _reachable_company(self, auth: Authenticated) -> NetvisorCompany:
        company = self._scenario.company(auth.organisation_id)
        if company is None or company.business_id not in auth.customer.companies:
            raise NetvisorFailure(
                ErrorCode.AUTHENTICATION_FAILED,
                f"The user of these API credentials has no rights to organisation {auth.organisation_id}.",
            )
        return company

    def _enter(self, environment: str) -> int:
        """Count a request of this customer environment as in flight; returns how many now are."""
        with self._lock:
            self._in_flight[environment] += 1
            in_flight = self._in_flight[environment]
            customer = self._stats.customers.setdefault(environment, _CustomerStats())
            customer.requests += 1
            customer.max_in_flight = max(customer.max_in_flight, in_flight)
            self._stats.max_in_flight_per_customer = max(self._stats.max_in_flight_per_customer, in_flight)
            return in_flight

    def _leave(self, environment: str) -> None:
        with self._lock:
            self._in_flight[environment] -= 1

    def _count_violation(self, environment: str) -> None:
        with self._lock:
            self._stats.concurrency_violations += 1
            self._stats.customers.setdefault(environment, _CustomerStats()).concurrency_violations += 1
