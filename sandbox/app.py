"""The whole sandbox as one ASGI app: each service under ``/{name}`` behind its faults, plus ``/admin``.

Requests are counted per service and path before fault injection, so a test sees every request a client
sent, including the ones that met a fault. ``/admin`` has no auth and no faults: it is a local tool.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.admin import admin_app
from sandbox.db import Database
from sandbox.faults import FaultInjector, FaultMiddleware, describe
from sandbox.netvisor.service import NetvisorService
from sandbox.portal import PortalService
from sandbox.procountor import ProcountorService
from sandbox.scenario import Scenario, normalise_business_id


class Service(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def app(self) -> ASGIApp: ...

    def reset(self) -> None: ...

    def stats(self) -> dict[str, Any]: ...


class _RequestCounter:
    """Counts every HTTP request that reaches one service's mount, by path."""

    def __init__(self, app: ASGIApp, counts: Counter[str]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.counts[scope["path"]] += 1
        await self.app(scope, receive, send)


def erp_dimensions(scenario: Scenario, business_id: str) -> Sequence[tuple[str, Sequence[str]]]:
    """The dimensions FabricAI reads from the ERP company of this business ID (Procountor first)."""
    for procountor in scenario.procountor.companies:
        if procountor.business_id == business_id:
            return [(d.name, [item.code_name for item in d.items]) for d in procountor.dimensions]
    for netvisor in scenario.netvisor.companies:
        if normalise_business_id(netvisor.business_id) == business_id:
            return [(d.name, list(d.items)) for d in netvisor.dimensions]
    return []


class Sandbox:
    """The services of one scenario on one store, their fault injectors and request counts."""

    def __init__(self, scenario: Scenario, db: Database) -> None:
        self.scenario = scenario
        self.db = db
        self.portal = PortalService(
            scenario.portal, db, lambda business_id: erp_dimensions(scenario, business_id)
        )
        services: list[Service] = [
            self.portal,
            ProcountorService(scenario.procountor, db),
            NetvisorService(scenario.netvisor, db),
        ]
        self.services = {service.name: service for service in services}
        self.faults = {name: FaultInjector(scenario.faults.for_service(name)) for name in self.services}
        self.requests: dict[str, Counter[str]] = {name: Counter() for name in self.services}
        mounts = [
            Mount(
                f"/{name}",
                app=_RequestCounter(FaultMiddleware(service.app, self.faults[name]), self.requests[name]),
            )
            for name, service in self.services.items()
        ]
        self.app = Starlette(routes=[*mounts, Mount("/admin", app=admin_app(self))])

    def reset(self) -> None:
        """Every service back to the scenario seed, faults back to the scenario's, counts cleared."""
        for name, service in self.services.items():
            service.reset()
            self.faults[name].configure(self.scenario.faults.for_service(name))
            self.requests[name].clear()

    def stats(self) -> dict[str, Any]:
        return {
            "requests": {
                name: {"total": sum(counts.values()), "byPath": dict(counts)}
                for name, counts in self.requests.items()
            },
            "services": {name: service.stats() for name, service in self.services.items()},
            "faults": {name: describe(injector) for name, injector in self.faults.items()},
        }
