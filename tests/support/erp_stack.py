"""The one ERP stack helper: ClientCompany, ProcountorIntegration, NetvisorCredentials and
NetvisorIntegration resources driven through the engine harness against the example sandbox.

- ``engine_config(running)``: partner mode, the provider verifies both ERPs itself (the portal's key and
  URL, Procountor's client application, Netvisor's partner id and key);
- ``firm_config(running)``: only what a firm holds (the portal's URL and key, the ERPs' URLs): the portal
  verifies;
- ``Stack(running, engine)``: the resources a test declares, one method each;
- ``fresh_process(retry=..., transport=...)``: what a new provider process starts with (the one test seam,
  ``provider.context.ClientOptions``); nothing is patched.

The ``stack`` fixture (tests/provider/resources/conftest.py) is a ``Stack`` in partner mode on the
``partner_sandbox``. Every secret used here is listed in ``SECRETS`` for the scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from harness.engine import Engine, ResourceState, Secret
from provider.context import ClientOptions
from provider.context import reset as reset_process_context
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from provider.resources.netvisor_integration import NetvisorIntegrationProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.retry import RetryPolicy
from sandbox.netvisor.scenario import NetvisorCustomer
from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox

EXAMPLE = load_scenario(EXAMPLE_SCENARIO_PATH)
PORTAL_KEY = "FAKE-portal-org-key-0001"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_wait=0.001, max_wait=0.01, max_retry_after=0.02)

# ---- Procountor ------------------------------------------------------------------------------------
APP_ID = "fabricai-roster-sandbox"
APP_SECRET = "FAKE-procountor-client-secret"
# The healthy Procountor companies of examples/sandbox.yaml: business ID -> (name, API key, dimensions).
HEALTHY = {
    "2925630-9": ("Öljy-Äijät Oy", "FAKE-pc-key-oljy-aijat-1", ["Kustannuspaikka", "Projekti"]),
    "2077474-0": ("Kahvila Kuppi Oy", "FAKE-pc-key-kahvila-kuppi", ["Kustannuspaikka"]),
    "0174592-8": ("Metsä-Mökit Ky", "FAKE-pc-key-metsa-mokit", ["Projekti"]),
    "2358253-3": ("Sauna-Saarinen Oy", "FAKE-pc-key-sauna-saarinen", ["Kustannuspaikka"]),
}
SECOND_KEY = "FAKE-pc-key-oljy-aijat-2"

# ---- Netvisor --------------------------------------------------------------------------------------
PARTNER = EXAMPLE.netvisor.partners[0]
# The firm's two software interface pairs: the second one is what a rotation moves to.
FIRM, SECOND = EXAMPLE.netvisor.customers
# A healthy Netvisor company of examples/sandbox.yaml that both pairs reach: business ID, name, dimensions.
BETA = ("1572860-0", "Beta Oy", ["Kustannuspaikka", "Projekti"])

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
    PARTNER.key,
    FIRM.key,
    SECOND.key,
]

# The registering stack the program would pass (provider/program.py, stack_identity).
STACK = "fabricai-roster/test"


def firm_config(running: RunningSandbox) -> dict[str, Any]:
    """Only what a firm holds: the portal's URL and key, and the ERPs' URLs (no partner id or secret)."""
    return {
        "fabricai:portalUrl": running.service_url("portal"),
        "fabricai:apiKey": Secret(PORTAL_KEY),
        "procountor:baseUrl": f"{running.service_url('procountor')}/api",
        "netvisor:baseUrl": running.service_url("netvisor"),
    }


def engine_config(running: RunningSandbox) -> dict[str, Any]:
    """Partner mode: the firm's config plus FabricAI's partner credentials for both ERPs."""
    return {
        **firm_config(running),
        "procountor:clientId": APP_ID,
        "procountor:clientSecret": Secret(APP_SECRET),
        "netvisor:partnerId": PARTNER.id,
        "netvisor:partnerKey": Secret(PARTNER.key),
    }


def fresh_process(*, retry: RetryPolicy = FAST_RETRY, transport: httpx.BaseTransport | None = None) -> None:
    """What a new provider process starts with: no shared clients, and (for tests) tiny retry waits; the
    Procountor pace stays the default (20/s), the example sandbox's limit: tests prove it holds."""
    reset_process_context(ClientOptions(retry=retry, transport=transport))


def company_inputs(business_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"business_id": business_id, "name": name, "stack": STACK, **fields}


def netvisor_credentials(
    engine: Engine,
    customer: NetvisorCustomer | tuple[str, str],
    state: ResourceState | None = None,
    *,
    name: str = "firm",
    verify_with: tuple[str, str] = (BETA[0], BETA[1]),
) -> ResourceState:
    """The firm's credential set ``name`` with this customer's pair (id, key) (an update of ``state``: a
    rotation), verified against the company ``verify_with`` (business ID, name)."""
    customer_id, key = (customer.id, customer.key) if isinstance(customer, NetvisorCustomer) else customer
    inputs = {
        "name": name,
        "customer_id": customer_id,
        "customer_key": Secret(key),
        "verify_business_id": verify_with[0],
        "verify_client_name": verify_with[1],
    }
    return engine.up(NetvisorCredentialsProvider(), inputs, state)


def netvisor_integration(
    engine: Engine,
    company: ResourceState,
    credentials: ResourceState | tuple[str, str],
    dimensions: list[str] | None = None,
    state: ResourceState | None = None,
) -> ResourceState:
    """The company's NetvisorIntegration with the credential set's pair, as the program wires it; or with a
    bare (customer id, key) pair and no credential set."""
    if isinstance(credentials, ResourceState):
        pair = (credentials.outputs["customer_id"], credentials.inputs["customer_key"])
        # The engine orders the integration after its credentials through this input.
        fingerprint = credentials.outputs["customer_key_fingerprint"]
    else:
        pair, fingerprint = credentials, None
    inputs = {
        "client_id": company.id,  # the ClientCompany's id, as the program passes it
        "business_id": company.outputs["business_id"],
        "client_name": company.outputs["name"],
        "customer_id": pair[0],
        "customer_key": Secret(pair[1]),
        "credentials_fingerprint": fingerprint,
        "dimensions": dimensions or [],
    }
    return engine.up(NetvisorIntegrationProvider(), inputs, state)


def held(customer: NetvisorCustomer) -> dict[str, str]:
    """The credentials the portal holds for a connection made with this customer's pair (what
    ``AdminClient.fingerprint`` takes)."""
    return {"customerId": customer.id, "customerKey": customer.key}


@dataclass
class Stack:
    running: RunningSandbox
    engine: Engine

    def company(
        self, business_id: str, name: str, dimensions: list[str] | None = None, **fields: Any
    ) -> ResourceState:
        if dimensions is not None:
            fields["dimensions"] = dimensions
        return self.engine.up(ClientCompanyProvider(), company_inputs(business_id, name, **fields))

    # ---- Procountor --------------------------------------------------------------------------------
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
        """The company's ProcountorIntegration with this API key."""
        inputs = self.integration_inputs(company, api_key, dimensions)
        return self.engine.up(ProcountorIntegrationProvider(), inputs, state)

    def connect(self, business_id: str) -> tuple[ResourceState, ResourceState]:
        name, key, dimensions = HEALTHY[business_id]
        company = self.company(business_id, name, dimensions=dimensions)
        return company, self.integration(company, key, dimensions)

    # ---- Netvisor ----------------------------------------------------------------------------------
    def credentials(
        self,
        customer_id: str,
        key: str,
        state: ResourceState | None = None,
        name: str = "firm",
        verify_with: tuple[str, str] = (BETA[0], BETA[1]),
    ) -> ResourceState:
        return netvisor_credentials(
            self.engine, (customer_id, key), state, name=name, verify_with=verify_with
        )

    def netvisor_integration(
        self,
        company: ResourceState,
        credentials: ResourceState | tuple[str, str],
        dimensions: list[str] | None = None,
        state: ResourceState | None = None,
    ) -> ResourceState:
        return netvisor_integration(self.engine, company, credentials, dimensions, state)

    # ---- what the sandbox saw ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        return self.running.admin.stats()

    def netvisor_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self.stats()["services"]["netvisor"]
        return stats

    def credentials_fingerprint(self, company: ResourceState) -> str | None:
        """The fingerprint of the credentials the portal holds for the company's connection."""
        return self.running.admin.credentials_fingerprint(int(company.id))
