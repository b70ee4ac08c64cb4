"""The sandbox's Netvisor service: signed ``.nv`` resources over the scenario's companies.

Resource names and query parameter names are matched without regard to case
(``PurchaseInvoiceList.nv?BeginInvoiceDate=...`` is ``purchaseinvoicelist.nv?begininvoicedate=...``), as
Netvisor does for the spellings independent clients use. Every answer is Netvisor's XML envelope: an
unknown path or a method other than GET too (never a plain 404/405 page), and a request the sandbox
cannot make sense of is a FAILED answer, never an HTTP 500. A HEAD is answered without a body and
without authenticating, so it uses up no transaction id.

Each GET goes through, in order: the in-flight rule (one request at a time per customer environment),
authentication (headers, keys, timestamp window, MAC), transaction-id uniqueness (persisted in SQLite),
the organisation the credential's user reaches, the company's API service, the partner's resource right
for that company (integration-specific, else general), and finally the resource's own parameters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sandbox.db import Database
from sandbox.netvisor import payloads
from sandbox.netvisor.auth import CUSTOMER_ID, USE_HTTP_STATUS, Authenticated, authenticate
from sandbox.netvisor.responses import (
    MEDIA_TYPE,
    ErrorCode,
    NetvisorFailure,
    failed_response,
    ok_response,
)
from sandbox.netvisor.scenario import (
    ApiService,
    NetvisorCompany,
    NetvisorScenario,
    ResourceRight,
    RightStatus,
)

log = logging.getLogger(__name__)

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
BY_NAME = {resource.path: resource for resource in RESOURCES}

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


def route_path(scope: Scope) -> str:
    """The path below the service's mount point (``/netvisor``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def lowercase_params(request: Request) -> dict[str, str]:
    """Query parameters by lower-cased name; the first of a repeated name wins."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name.lower(), value)
    return params


class NetvisorService:
    """Netvisor's integration API as the sandbox serves it under ``/netvisor``."""

    name = "netvisor"

    def __init__(self, scenario: NetvisorScenario, db: Database) -> None:
        self._seed = scenario
        self._scenario = scenario
        self._db = db
        self._db.migrate(SCHEMA)
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._stats = _Stats()

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: every path and method is answered here, in Netvisor's envelope."""
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request)
        except Exception:  # a fault of the sandbox itself: said as Netvisor would, and logged
            log.exception("netvisor sandbox failed on %s %s", request.method, request.url.path)
            failure = NetvisorFailure(ErrorCode.TECHNICAL_ERROR, "Technical error; try again later.")
            response = failed_response(
                failure, _utc_now(), use_http_status=request.headers.get(USE_HTTP_STATUS) == "1"
            )
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        use_http_status = request.headers.get(USE_HTTP_STATUS) == "1"
        name = route_path(request.scope).strip("/").lower()
        resource = BY_NAME.get(name)
        if request.method == "HEAD":
            # No body, no authentication, nothing used up: the status a GET would start from.
            status = 200 if resource is not None or not use_http_status else 404
            return Response(status_code=status, media_type=MEDIA_TYPE, headers={"Allow": "GET"})
        if resource is None:
            failure = NetvisorFailure(
                ErrorCode.INVALID_DATA, f"Unknown resource {name[:80]!r}.", http_status=404
            )
        elif request.method != "GET":
            failure = NetvisorFailure(
                ErrorCode.INVALID_DATA, f"Resource {resource.path} is read with GET.", http_status=405
            )
        else:
            return await self._handle(resource, request)
        with self._lock:
            self._stats.failures[failure.code.value] += 1
        response = failed_response(failure, _utc_now(), use_http_status=use_http_status)
        if failure.http_status == 405:
            response.headers["Allow"] = "GET"
        return response

    def reset(self) -> None:
        """Back to the seed: forget used transaction ids and the counters."""
        self._db.execute("DELETE FROM netvisor_transactions")
        with self._lock:
            self._stats = _Stats()
            self._scenario = self._seed

    def set_resource_rights(
        self, business_id: str, partner_id: str, rights: Mapping[ResourceRight, RightStatus]
    ) -> bool:
        """Set a partner's integration-specific resource rights in one company at run time (``/admin``), as
        its main user would on "API resource rights"; False if no such company. ``reset`` restores the
        seed."""
        with self._lock:
            company = self._scenario.company(business_id)
            if company is None:
                return False
            specific = {
                **company.resource_rights,
                partner_id: {**company.resource_rights.get(partner_id, {}), **rights},
            }
            changed = company.model_copy(update={"resource_rights": specific})
            companies = [changed if c is company else c for c in self._scenario.companies]
            self._scenario = self._scenario.model_copy(update={"companies": companies})
        return True

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
        if company.api_service is not ApiService.OPEN:
            why = "closed" if company.api_service is ApiService.CLOSED else "not in the service package"
            raise NetvisorFailure(
                ErrorCode.SERVICE_ACCESS_ERROR,
                f"No access: the API service of organisation {company.business_id} is {why}.",
            )
        if not company.allows(auth.partner.id, resource.right):
            raise NetvisorFailure(
                ErrorCode.SERVICE_ACCESS_ERROR,
                f"Resource {resource.path} is not allowed: the API resource right "
                f"'{RIGHT_UI_NAMES[resource.right]}' of this partner is not set to allowed "
                f"in organisation {company.business_id}.",
            )
        return resource.build(company, payloads.ResourceQuery(lowercase_params(request), base_url(request)))

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
