"""``/admin``: run-time control of the sandbox for tests, benchmarks and demos (no auth: local tool).

- ``GET /admin/stats``: requests per service and path, each service's own stats, injected faults.
- ``GET /admin/faults``; ``PUT /admin/faults/{service}`` with fault settings (see sandbox.faults).
- ``POST /admin/reset``: every service back to the scenario seed, faults back to the scenario's.
- ``GET /admin/portal/clients/{id}/connection``: the portal connection with ``credentialsFingerprint``
  (sha256 of the canonical JSON of the credentials), so a test can check which credentials the portal
  holds without the sandbox ever echoing them.
- ``PUT /admin/portal/clients/{id}/training`` ``{"status": "DEPLOYED"}``: every model of the client to that
  status (PENDING ... DEPLOYED, FAILED, CANCELLED), instead of waiting ``trainingSeconds``.
- ``POST /admin/portal/clients/{id}/dimensions``: FabricAI has read the client's dimensions from its ERP
  now, instead of ``dimensionsReadSeconds`` after connecting.
- ``PATCH /admin/procountor/companies/{businessId}`` ``{"billableInterfaces": false, "revokeApiKeys": true,
  "rightsOverrides": {"purchases.productRegister": "NO_ACCESS"}}`` (any of them): what a company's users
  change in Procountor after onboarding (the rights apply to every user of the company).
- ``PATCH /admin/netvisor/companies/{businessId}`` ``{"resourceRights": {"<partnerId>": {"purchaseInvoices":
  "denied"}}}``: a company's integration-specific API resource rights changed in Netvisor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.faults import FaultSettings, describe
from sandbox.netvisor.scenario import ResourceRight, RightStatus
from sandbox.netvisor.service import NetvisorService
from sandbox.portal.service import PORTAL_ID_CONVERTOR
from sandbox.portal.state import ApiError
from sandbox.procountor import ProcountorService
from sandbox.procountor.scenario import CompanyChange

if TYPE_CHECKING:
    from sandbox.app import Sandbox


# A portal client id as the portal's own routes take it: at most 18 digits (a longer one is 404, never an
# overflow of SQLite's integers).
CLIENT = f"/portal/clients/{{client_id:{PORTAL_ID_CONVERTOR}}}"


def admin_app(sandbox: Sandbox) -> Starlette:
    async def stats(request: Request) -> Response:
        return JSONResponse(sandbox.stats())

    async def faults(request: Request) -> Response:
        return JSONResponse({name: describe(injector) for name, injector in sandbox.faults.items()})

    async def set_faults(request: Request) -> Response:
        service = request.path_params["service"]
        injector = sandbox.faults.get(service)
        if injector is None:
            return JSONResponse({"error": f"unknown service {service!r}"}, status_code=404)
        try:
            settings = FaultSettings.model_validate(await request.json())
        except (ValueError, ValidationError) as error:
            return JSONResponse({"error": f"invalid fault settings: {error}"}, status_code=400)
        injector.configure(settings)
        return JSONResponse(describe(injector))

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return Response(status_code=204)

    async def portal_connection(request: Request) -> Response:
        found = sandbox.portal.connection_for_admin(request.path_params["client_id"])
        if found is None:
            return JSONResponse({"error": "no connection"}, status_code=404)
        return JSONResponse({"data": found})

    async def portal_training(request: Request) -> Response:
        try:
            payload = await request.json()
            models = sandbox.portal.force_training(request.path_params["client_id"], payload)
        except ValueError:
            return JSONResponse({"error": "the request body must be a JSON object"}, status_code=400)
        except ApiError as error:
            return JSONResponse(error.body, status_code=error.status)
        return JSONResponse({"data": {"models": models}})

    async def portal_dimensions(request: Request) -> Response:
        try:
            sandbox.portal.read_dimensions_now(request.path_params["client_id"])
        except ApiError as error:
            return JSONResponse(error.body, status_code=error.status)
        return Response(status_code=204)

    async def procountor_company(request: Request) -> Response:
        service = sandbox.services["procountor"]
        assert isinstance(service, ProcountorService)
        try:
            change = CompanyChange.model_validate(await request.json())
        except (ValueError, ValidationError) as error:
            return JSONResponse({"error": f"invalid change: {error}"}, status_code=400)
        if not service.change_company(request.path_params["business_id"], change):
            return JSONResponse({"error": "no such company"}, status_code=404)
        return Response(status_code=204)

    async def netvisor_company(request: Request) -> Response:
        service = sandbox.services["netvisor"]
        assert isinstance(service, NetvisorService)
        try:
            payload = await request.json()
            by_partner = {
                str(partner): {ResourceRight(right): RightStatus(status) for right, status in rights.items()}
                for partner, rights in payload["resourceRights"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return JSONResponse({"error": f"invalid change: {error}"}, status_code=400)
        business_id = request.path_params["business_id"]
        for partner, rights in by_partner.items():
            if not service.set_resource_rights(business_id, partner, rights):
                return JSONResponse({"error": "no such company"}, status_code=404)
        return Response(status_code=204)

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "not found"}, status_code=404)

    return Starlette(
        exception_handlers={404: not_found},
        routes=[
            Route("/stats", stats, methods=["GET"]),
            Route("/faults", faults, methods=["GET"]),
            Route("/faults/{service}", set_faults, methods=["PUT"]),
            Route("/reset", reset, methods=["POST"]),
            Route(f"{CLIENT}/connection", portal_connection, methods=["GET"]),
            Route(f"{CLIENT}/training", portal_training, methods=["PUT"]),
            Route(f"{CLIENT}/dimensions", portal_dimensions, methods=["POST"]),
            Route("/procountor/companies/{business_id}", procountor_company, methods=["PATCH"]),
            Route("/netvisor/companies/{business_id}", netvisor_company, methods=["PATCH"]),
        ],
    )
