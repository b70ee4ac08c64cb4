"""``/admin``: run-time control of the sandbox for tests, benchmarks and demos (no auth: local tool).

- ``GET /admin/stats``: requests per service and path, each service's own stats, injected faults.
- ``GET /admin/faults``; ``PUT /admin/faults/{service}`` with fault settings (see sandbox.faults).
- ``POST /admin/reset``: every service back to the scenario seed, faults back to the scenario's.
- ``GET /admin/portal/clients/{id}/connection``: the portal connection with ``credentialsFingerprint``
  (sha256 of the canonical JSON of the credentials), so a test can check which credentials the portal
  holds without the sandbox ever echoing them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.faults import FaultSettings, describe

if TYPE_CHECKING:
    from sandbox.app import Sandbox


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

    return Starlette(
        routes=[
            Route("/stats", stats, methods=["GET"]),
            Route("/faults", faults, methods=["GET"]),
            Route("/faults/{service}", set_faults, methods=["PUT"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/portal/clients/{client_id:int}/connection", portal_connection, methods=["GET"]),
        ]
    )
