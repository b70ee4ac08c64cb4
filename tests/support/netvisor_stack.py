"""NetvisorCredentials and NetvisorIntegration through the engine harness, beside the Procountor stack.

``erp_stack`` (a fixture: import it into a test module) is the ``Stack`` of ``tests.support.procountor_stack``
with an engine configured for both ERPs, so one test can drive ClientCompany, ProcountorIntegration,
NetvisorCredentials and NetvisorIntegration resources against the example sandbox. The Netvisor secrets it
uses are listed in ``SECRETS`` for the scans.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.engine import Engine, ResourceState, Secret
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from provider.resources.netvisor_integration import NetvisorIntegrationProvider
from sandbox.netvisor.scenario import NetvisorCustomer
from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox
from tests.support import procountor_stack
from tests.support.procountor_stack import Stack, fresh_process

EXAMPLE = load_scenario(EXAMPLE_SCENARIO_PATH)
PARTNER = EXAMPLE.netvisor.partners[0]
# The firm's two software interface pairs: the second one is what a rotation moves to.
FIRM, SECOND = EXAMPLE.netvisor.customers
SECRETS = [PARTNER.key, FIRM.key, SECOND.key]
# A healthy Netvisor company of examples/sandbox.yaml that both pairs reach: business ID, name, dimensions.
BETA = ("1572860-0", "Beta Oy", ["Kustannuspaikka", "Projekti"])


def engine_config(running: RunningSandbox) -> dict[str, Any]:
    """The Netvisor part of the provider's config."""
    return {
        "netvisor:baseUrl": running.service_url("netvisor"),
        "netvisor:partnerId": PARTNER.id,
        "netvisor:partnerKey": Secret(PARTNER.key),
    }


def credentials(
    engine: Engine, customer: NetvisorCustomer, state: ResourceState | None = None
) -> ResourceState:
    """The firm's credential set 'firm' with this customer's pair (an update of ``state``: a rotation)."""
    business_id, name, _ = BETA
    inputs = {
        "name": "firm",
        "customer_id": customer.id,
        "customer_key": Secret(customer.key),
        "verify_business_id": business_id,
        "verify_client_name": name,
    }
    return engine.up(NetvisorCredentialsProvider(), inputs, state)


def integration(
    engine: Engine,
    company: ResourceState,
    credentials: ResourceState,
    dimensions: list[str],
    state: ResourceState | None = None,
) -> ResourceState:
    """The company's NetvisorIntegration with the credential set's pair, as the program wires it."""
    inputs = {
        "client_id": company.id,
        "business_id": company.outputs["business_id"],
        "client_name": company.outputs["name"],
        "customer_id": credentials.outputs["customer_id"],
        "customer_key": Secret(credentials.inputs["customer_key"]),
        # The engine orders the integration after its credentials through this input.
        "credentials_fingerprint": credentials.outputs["customer_key_fingerprint"],
        "dimensions": dimensions,
    }
    return engine.up(NetvisorIntegrationProvider(), inputs, state)


def held(customer: NetvisorCustomer) -> dict[str, str]:
    """The credentials the portal holds for a connection made with this customer's pair (what
    ``AdminClient.fingerprint`` takes)."""
    return {"customerId": customer.id, "customerKey": customer.key}


@pytest.fixture
def erp_stack(partner_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Stack:
    fresh_process(monkeypatch)
    config = {**procountor_stack.engine_config(partner_sandbox), **engine_config(partner_sandbox)}
    return Stack(partner_sandbox, Engine(config))
