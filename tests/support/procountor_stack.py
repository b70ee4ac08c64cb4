"""A stack of ClientCompany and ProcountorIntegration resources driven through the engine harness.

``stack`` (a fixture: import it into a test module) gives an ``Engine`` configured for the example sandbox,
provider clients with tiny retry waits, and a fresh process-wide client context, as a new provider process
would have. Every secret the stack uses is listed in ``SECRETS`` for the scans.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from harness.engine import Engine, ResourceState, Secret
from provider.context import ClientOptions
from provider.context import reset as reset_process_context
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.retry import RetryPolicy
from sandbox.server import RunningSandbox

PORTAL_KEY = "FAKE-portal-org-key-0001"
APP_ID = "fabricai-roster-sandbox"
APP_SECRET = "FAKE-procountor-client-secret"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.001, max_wait=0.01, max_retry_after=0.02)

# The healthy Procountor companies of examples/sandbox.yaml: business ID -> (name, API key, dimensions).
HEALTHY = {
    "2925630-9": ("Öljy-Äijät Oy", "FAKE-pc-key-oljy-aijat-1", ["Kustannuspaikka", "Projekti"]),
    "2077474-0": ("Kahvila Kuppi Oy", "FAKE-pc-key-kahvila-kuppi", ["Kustannuspaikka"]),
    "0174592-8": ("Metsä-Mökit Ky", "FAKE-pc-key-metsa-mokit", ["Projekti"]),
    "2358253-3": ("Sauna-Saarinen Oy", "FAKE-pc-key-sauna-saarinen", ["Kustannuspaikka"]),
}
SECOND_KEY = "FAKE-pc-key-oljy-aijat-2"
SECRETS = [
    PORTAL_KEY,
    APP_SECRET,
    SECOND_KEY,
    *(key for _, key, _ in HEALTHY.values()),
    "FAKE-pc-key-lasku-laiska",
    "FAKE-pc-key-johto-puute",
    "FAKE-pc-key-osto-esto",
    "FAKE-pc-key-kirjanpito-kato",
    "FAKE-pc-key-kaikki-vinossa",
    "FAKE-pc-key-peruttu-avain",
    "FAKE-pc-key-vaara-sovellus",
]


def engine_config(running: RunningSandbox) -> dict[str, Any]:
    return {
        "fabricai:portalUrl": running.service_url("portal"),
        "fabricai:apiKey": Secret(PORTAL_KEY),
        "procountor:baseUrl": f"{running.service_url('procountor')}/api",
        "procountor:clientId": APP_ID,
        "procountor:clientSecret": Secret(APP_SECRET),
    }


# The registering stack the program would pass (provider/program.py, stack_identity).
STACK = "fabricai-roster/test"


def company_inputs(business_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"business_id": business_id, "name": name, "stack": STACK, **fields}


@dataclass
class Stack:
    running: RunningSandbox
    engine: Engine

    def company(self, business_id: str, name: str, **fields: Any) -> ResourceState:
        return self.engine.up(ClientCompanyProvider(), company_inputs(business_id, name, **fields))

    def integration_inputs(
        self, company: ResourceState, api_key: str, dimensions: list[str] | None = None
    ) -> dict[str, Any]:
        return {
            "client_id": company.outputs["portal_id"],
            "business_id": company.outputs["business_id"],
            "client_name": company.outputs["name"],
            "api_key": Secret(api_key),
            "dimensions": dimensions or [],
        }

    def integration(
        self,
        company: ResourceState,
        api_key: str,
        dimensions: list[str] | None = None,
        state: ResourceState | None = None,
    ) -> ResourceState:
        inputs = self.integration_inputs(company, api_key, dimensions)
        return self.engine.up(ProcountorIntegrationProvider(), inputs, state)

    def connect(self, business_id: str) -> tuple[ResourceState, ResourceState]:
        name, key, dimensions = HEALTHY[business_id]
        company = self.company(business_id, name, dimensions=dimensions)
        return company, self.integration(company, key, dimensions)

    def stats(self) -> dict[str, Any]:
        return self.running.admin.stats()

    def credentials_fingerprint(self, company: ResourceState) -> str | None:
        return self.running.admin.credentials_fingerprint(int(company.outputs["portal_id"]))


def fresh_process(
    monkeypatch: pytest.MonkeyPatch | None = None,
    *,
    retry: RetryPolicy = FAST_RETRY,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """What a new provider process starts with: no shared clients, and (for tests) tiny retry waits; the
    Procountor pace stays the default (20/s), the example sandbox's limit: tests prove it holds.
    ``monkeypatch`` is taken for the callers' convenience and not used: nothing is patched."""
    reset_process_context(ClientOptions(retry=retry, transport=transport))


@pytest.fixture
def stack(partner_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    fresh_process(monkeypatch)
    yield Stack(partner_sandbox, Engine(engine_config(partner_sandbox)))
