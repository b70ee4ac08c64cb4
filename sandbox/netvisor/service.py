"""The Netvisor stand-in's HTTP side: signed ``.nv`` resources over the scenario's companies.

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
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sandbox.db import Database
from sandbox.netvisor import payloads
from sandbox.netvisor.auth import CUSTOMER_ID, USE_HTTP_STATUS, Authenticated, authenticate
from sandbox.netvisor.payloads import MEDIA_TYPE, failed_response, ok_response
from sandbox.netvisor.scenario import (
    ApiService,
    NetvisorCompany,
    NetvisorScenario,
    ResourceRight,
    RightStatus,
)
from sandbox.netvisor.state import ErrorCode, NetvisorFailure, NetvisorState

log = logging.getLogger(__name__)

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
        self.state = NetvisorState(scenario, db)

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
        self.state.count_failure(failure.code)
        response = failed_response(failure, _utc_now(), use_http_status=use_http_status)
        if failure.http_status == 405:
            response.headers["Allow"] = "GET"
        return response

    def reset(self) -> None:
        self.state.reset()

    def set_resource_rights(
        self, business_id: str, partner_id: str, rights: Mapping[ResourceRight, RightStatus]
    ) -> bool:
        """Run-time change of a company's resource rights (``/admin``); ``reset`` restores the seed."""
        return self.state.set_resource_rights(business_id, partner_id, rights)

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    async def _handle(self, resource: Resource, request: Request) -> Response:
        use_http_status = request.headers.get(USE_HTTP_STATUS) == "1"
        customer_id = request.headers.get(CUSTOMER_ID, "")
        # Only a known customer id names a customer environment; anything else fails authentication.
        environment = customer_id if self.state.scenario.customer(customer_id) else None
        self.state.count_request(resource.path)
        in_flight = self.state.enter(environment) if environment is not None else 0
        try:
            if environment is not None and in_flight > 1:
                self.state.count_violation(environment)
                raise NetvisorFailure(
                    ErrorCode.TECHNICAL_ERROR,
                    "Another request for this customer environment is still being processed. "
                    "Send one request at a time and wait for the response before sending the next.",
                    http_status=429,
                )
            if self.state.scenario.processing_delay_ms:
                await asyncio.sleep(self.state.scenario.processing_delay_ms / 1000)
            payload = self._process(resource, request)
            return ok_response([payload], _utc_now())
        except NetvisorFailure as failure:
            self.state.count_failure(failure.code)
            return failed_response(failure, _utc_now(), use_http_status=use_http_status)
        finally:
            if environment is not None:
                self.state.leave(environment)

    def _process(self, resource: Resource, request: Request) -> ET.Element:
        auth = authenticate(request.headers, request_url(request), self.state.scenario, _utc_now())
        self.state.consume_transaction_id(auth.partner.id, auth.customer.id, auth.transaction_id)
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

    def _reachable_company(self, auth: Authenticated) -> NetvisorCompany:
        company = self.state.scenario.company(auth.organisation_id)
        if company is None or company.business_id not in auth.customer.companies:
            raise NetvisorFailure(
                ErrorCode.AUTHENTICATION_FAILED,
                f"The user of these API credentials has no rights to organisation {auth.organisation_id}.",
            )
        return company
