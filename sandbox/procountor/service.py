"""The Procountor REST API stand-in: M2M tokens from API keys, company, rights and bookkeeping reads.

Served under ``/api`` and the versioned prefixes ``/{latest|supported|vYYMM}/api``, as Procountor does.
What it enforces, like the real service:

- ``POST oauth/token`` takes its credentials only as an ``application/x-www-form-urlencoded`` body (a
  charset parameter is accepted); credentials in the query string are refused (400). Bad client
  credentials or an unknown, revoked or other application's API key are refused in the scenario's
  ``refusalStyle``: Procountor's ``{"errors": [...]}`` with 401 and the same words for every cause
  (default), or OAuth's ``invalid_client`` (401) / ``invalid_grant`` (400).
- Paths are served with and without a trailing slash.
- Every other call needs ``Authorization: Bearer <token>``; missing, unknown and expired tokens get 401.
- A company whose billable interfaces are off answers every API call after the token with nginx's HTML
  500 page (the guide's "Internal server error").
- Each endpoint needs the rights the Procountor UI grants for it (``ENDPOINT_RIGHTS``, an assumption);
  403 "Insufficient user rights" otherwise.
- Optionally, at most ``rateLimitPerSecond`` requests per second per client application (429 beyond,
  counted in stats).
"""

from __future__ import annotations

import collections
import hmac
import math
import secrets
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.db import Database
from sandbox.procountor import payloads
from sandbox.procountor.rights import grants, rights_document
from sandbox.procountor.scenario import CompanyChange, ProcountorApiKey, ProcountorCompany, ProcountorScenario
from sandbox.procountor.state import (
    BILLABLE_INTERFACES_OFF_PAGE,
    CREDENTIAL_PARAMS,
    ENDPOINT_RIGHTS,
    FORM_CONTENT_TYPE,
    SCHEMA,
    VERSION_PREFIX,
    BillableInterfacesOff,
    OAuthError,
    ProcountorError,
    RateWindow,
    Session,
    error_response,
    token_hash,
)

Endpoint = Callable[[Request], Awaitable[Response]]
# A token request is four short fields; a larger body is refused unread (ASSUMPTION: Procountor's own limit
# is not public; a 4xx in its error shape, never a 500).
MAX_TOKEN_BODY_BYTES = 64 * 1024


class ProcountorService:
    name = "procountor"

    def __init__(self, scenario: ProcountorScenario, db: Database) -> None:
        self.scenario = scenario
        self.db = db
        db.migrate(SCHEMA)
        self._apps = {app.client_id: app for app in scenario.apps}
        self._keys: dict[str, tuple[ProcountorCompany, ProcountorApiKey]] = {}
        self._companies: dict[int, ProcountorCompany] = {}
        self._seed_companies(scenario.companies)
        self._window = RateWindow(scenario.rate_limit_per_second)
        self._counters: collections.Counter[str] = collections.Counter()
        routes: list[Route] = []
        for path, endpoint, method in (
            ("/oauth/token", self._token, "POST"),
            ("/company", self._company, "GET"),
            ("/sessioninfo", self._sessioninfo, "GET"),
            ("/users/rights", self._rights, "GET"),
            ("/dimensions", self._dimensions, "GET"),
            ("/invoices", self._invoices, "GET"),
            ("/ledgerreceipts", self._ledgerreceipts, "GET"),
            ("/coa", self._coa, "GET"),
            ("/businesspartners", self._businesspartners, "GET"),
            ("/products", self._products, "GET"),
        ):
            # ASSUMPTION: a trailing slash is served like the bare path (vilkasgroup's client posts to
            # oauth/token/); no public source shows whether Procountor redirects, serves or refuses it.
            for slash in ("", "/"):
                routes.append(Route(f"/api{path}{slash}", endpoint, methods=[method]))
                routes.append(
                    Route(f"/{{version}}/api{path}{slash}", self._versioned(endpoint), methods=[method])
                )
        self.app = Starlette(
            routes=routes,
            exception_handlers={
                ProcountorError: self._procountor_error,
                OAuthError: self._oauth_error,
                BillableInterfacesOff: self._billable_off,
                HTTPException: self._http_error,
            },
        )

    # ---- lifecycle ----

    def reset(self) -> None:
        self.db.execute("DELETE FROM procountor_tokens")
        self._seed_companies(self.scenario.companies)
        self._window.clear()
        self._counters.clear()

    def _seed_companies(self, companies: Sequence[ProcountorCompany]) -> None:
        self._keys = {key.key: (company, key) for company in companies for key in company.api_keys}
        self._companies = {company.id: company for company in companies}

    def change_company(self, business_id: str, changes: CompanyChange) -> bool:
        """Change a company at run time (``/admin``), as its users would in Procountor; False if unknown.

        Billable interfaces on or off, every API key revoked (or restored), rights of every user
        overridden. ``reset`` goes back to the scenario's seed."""
        found = next((c for c in self._companies.values() if c.business_id == business_id), None)
        if found is None:
            return False
        update: dict[str, Any] = {}
        if changes.billable_interfaces is not None:
            update["billable_interfaces"] = changes.billable_interfaces
        if changes.revoke_api_keys is not None:
            revoked = changes.revoke_api_keys
            update["api_keys"] = [key.model_copy(update={"revoked": revoked}) for key in found.api_keys]
        if changes.rights_overrides:
            update["users"] = [
                user.model_copy(
                    update={"rights_overrides": {**user.rights_overrides, **changes.rights_overrides}}
                )
                for user in found.users
            ]
        changed = found.model_copy(update=update)
        self._seed_companies([changed if c.id == found.id else c for c in self._companies.values()])
        return True

    def stats(self) -> dict[str, Any]:
        return {
            **self._counters,
            "requestsByApp": dict(self._window.admitted),
            "rateLimited": dict(self._window.refused),
            "peakRequestsPerSecond": dict(self._window.peak),
        }

    # ---- plumbing ----

    @staticmethod
    def _versioned(endpoint: Endpoint) -> Endpoint:
        async def versioned(request: Request) -> Response:
            if not VERSION_PREFIX.fullmatch(request.path_params["version"]):
                raise ProcountorError(404, "Not found")
            return await endpoint(request)

        return versioned

    async def _procountor_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProcountorError)
        return error_response(exc.status, exc.message, exc.field)

    async def _oauth_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError)
        return JSONResponse(
            {"error": exc.error, "error_description": exc.description}, status_code=exc.status
        )

    async def _billable_off(self, request: Request, exc: Exception) -> Response:
        return HTMLResponse(BILLABLE_INTERFACES_OFF_PAGE, status_code=500)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail))

    def _admit(self, client_id: str) -> None:
        if not self._window.admit(client_id):
            raise ProcountorError(429, "Too many requests for this client application")

    def _session(self, request: Request, *rights_keys: str) -> Session:
        """Authenticate the bearer token, then apply the rate limit, billable interfaces and rights."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ProcountorError(401, "Unauthorized: bearer token required")
        row = self.db.query_one("SELECT * FROM procountor_tokens WHERE token_hash = ?", (token_hash(token),))
        if row is None:
            raise ProcountorError(401, "Unauthorized: invalid access token")
        if row["expires_at"] <= time.time():
            raise ProcountorError(401, "Unauthorized: access token expired")
        company = self._companies.get(row["company_id"])
        user = company.find_user(row["user_name"]) if company is not None else None
        if company is None or user is None:
            # Issued before a restart with a scenario that no longer has its company or user.
            raise ProcountorError(401, "Unauthorized: invalid access token")
        session = Session(row["client_id"], company, user)
        self._admit(session.client_id)
        if not company.billable_interfaces:
            raise BillableInterfacesOff
        rights = session.user.effective_rights()
        for dotted, needed in (need for key in rights_keys for need in ENDPOINT_RIGHTS[key]):
            if not grants(rights, dotted, needed):
                raise ProcountorError(403, "Insufficient user rights")
        return session

    # ---- oauth ----

    def _refuse_token(self, request_body: str, *, client_side: bool) -> Exception:
        """A refused token request in the scenario's style; the same words whichever credential is wrong."""
        self._counters["tokensRefused"] += 1
        echo = f" (request: {request_body})" if self.scenario.refusal_echoes_request else ""
        if self.scenario.refusal_style == "oauth":
            if client_side:
                return OAuthError(401, "invalid_client", f"Bad client credentials{echo}")
            return OAuthError(400, "invalid_grant", f"Invalid API key{echo}")
        return ProcountorError(401, f"Invalid credentials{echo}")

    async def _token(self, request: Request) -> Response:
        if any(param in request.query_params for param in CREDENTIAL_PARAMS):
            raise ProcountorError(400, "Credentials must be sent in the request body, not in the URL")
        # ASSUMPTION: a charset parameter is accepted (httpx, requests and axios differ in sending one).
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != FORM_CONTENT_TYPE:
            raise ProcountorError(400, f"Content-Type must be {FORM_CONTENT_TYPE}")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_TOKEN_BODY_BYTES:
            raise ProcountorError(413, "Request entity too large")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_TOKEN_BODY_BYTES:
                raise ProcountorError(413, "Request entity too large")
        body = bytes(raw).decode("utf-8", "replace")
        form = urllib.parse.parse_qs(body)
        fields = {
            name: form.get(name, [""])[0] for name in ("grant_type", "client_id", "client_secret", "api_key")
        }
        if fields["grant_type"] != "client_credentials":
            raise ProcountorError(400, "Unsupported grant_type", field="grant_type")
        for name, value in fields.items():
            if not value:
                raise ProcountorError(400, f"Missing {name}", field=name)
        client_id, client_secret, api_key = fields["client_id"], fields["client_secret"], fields["api_key"]
        app = self._apps.get(client_id)
        if app is None or not hmac.compare_digest(app.client_secret.encode(), client_secret.encode()):
            raise self._refuse_token(body, client_side=True)
        self._admit(client_id)
        found = self._keys.get(api_key)
        if found is None or found[1].revoked or found[1].client_id != client_id:
            raise self._refuse_token(body, client_side=False)
        company, key = found
        token = secrets.token_urlsafe(32)
        lifetime = self.scenario.token_lifetime_seconds
        self.db.execute(
            "INSERT INTO procountor_tokens (token_hash, client_id, company_id, user_name, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash(token), client_id, company.id, key.user_name, time.time() + lifetime),
        )
        self._counters["tokensIssued"] += 1
        return JSONResponse(
            {"access_token": token, "expires_in": max(1, math.ceil(lifetime))},
            headers={"Cache-Control": "no-store"},
        )

    # ---- company and user ----

    async def _company(self, request: Request) -> Response:
        return JSONResponse(payloads.company(self._session(request, "company").company))

    async def _sessioninfo(self, request: Request) -> Response:
        session = self._session(request, "sessioninfo")
        user_id = session.company.id * 1000 + session.company.users.index(session.user) + 1
        return JSONResponse(payloads.sessioninfo(session.company, user_id, session.user.user_name))

    async def _rights(self, request: Request) -> Response:
        user = self._session(request, "users/rights").user
        return JSONResponse(rights_document(user.role, user.effective_rights()))

    async def _dimensions(self, request: Request) -> Response:
        return JSONResponse(payloads.dimensions(self._session(request, "dimensions").company))

    # ---- bookkeeping reads (generated, deterministic per company) ----

    async def _invoices(self, request: Request) -> Response:
        requested = request.query_params.get("types", "PURCHASE_INVOICE,SALES_INVOICE")
        types = [t.strip() for t in requested.split(",") if t.strip()]
        for invoice_type in types:
            if f"invoices:{invoice_type}" not in ENDPOINT_RIGHTS:
                raise ProcountorError(400, f"Unsupported invoice type {invoice_type}", field="types")
        if not types:
            raise ProcountorError(400, "types must name at least one invoice type", field="types")
        start, end = payloads.date_param(request, "startDate"), payloads.date_param(request, "endDate")
        if start is not None and end is not None and start > end:
            raise ProcountorError(400, "must not be after endDate", field="startDate")
        session = self._session(request, *(f"invoices:{invoice_type}" for invoice_type in types))
        rows = payloads.purchase_invoices(session.company, start, end) if "PURCHASE_INVOICE" in types else []
        return payloads.page(request, rows)

    async def _ledgerreceipts(self, request: Request) -> Response:
        company = self._session(request, "ledgerreceipts").company
        return payloads.page(request, payloads.ledger_receipts(company))

    async def _coa(self, request: Request) -> Response:
        self._session(request, "coa")
        return JSONResponse(payloads.chart_of_accounts())

    async def _businesspartners(self, request: Request) -> Response:
        partner_type = request.query_params.get("type", "SUPPLIER")
        if f"businesspartners:{partner_type}" not in ENDPOINT_RIGHTS:
            raise ProcountorError(400, f"Unsupported partner type {partner_type}", field="type")
        company = self._session(request, f"businesspartners:{partner_type}").company
        rows = payloads.suppliers(company) if partner_type == "SUPPLIER" else []
        return payloads.page(request, rows)

    async def _products(self, request: Request) -> Response:
        product_type = request.query_params.get("type", "PURCHASE")
        if f"products:{product_type}" not in ENDPOINT_RIGHTS:
            raise ProcountorError(400, f"Unsupported product type {product_type}", field="type")
        company = self._session(request, f"products:{product_type}").company
        rows = payloads.products(company) if product_type == "PURCHASE" else []
        return payloads.page_after_previous_id(request, rows)
