"""``check`` and ``diff`` make no network call, for all four resources, through the engine's path.

Two proofs: with every service URL pointing at a port that refuses connections (and every HTTP request
recorded), check and diff still answer; against a real sandbox, they leave its request counts unchanged.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import httpx

from harness.engine import Engine, ResourceState, Secret
from provider.resources.base import RosterResourceProvider, fingerprint
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from provider.resources.netvisor_integration import NetvisorIntegrationProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox
from tests.support.erp_stack import (
    APP_ID,
    APP_SECRET,
    HEALTHY,
    PORTAL_KEY,
    SECOND_KEY,
    fresh_process,
)

EXAMPLE = load_scenario(EXAMPLE_SCENARIO_PATH)
PARTNER = EXAMPLE.netvisor.partners[0]
FIRM = EXAMPLE.netvisor.customers[0]
ROTATED_CUSTOMER_KEY = "FAKE-rotated-customer-key"

PROCOUNTOR_CLIENT = "2925630-9"
NETVISOR_CLIENT = ("1572860-0", "Beta Oy")  # a healthy Netvisor company of examples/sandbox.yaml


@dataclass(frozen=True)
class Case:
    """One resource's inputs and three edits: one check refuses, one updates in place, one replaces."""

    provider: RosterResourceProvider
    inputs: dict[str, Any]
    invalid: dict[str, Any]
    update: dict[str, Any]
    replace: dict[str, Any]


def cases(procountor_client_id: str, netvisor_client_id: str) -> dict[str, Case]:
    pc_name, pc_key, pc_dimensions = HEALTHY[PROCOUNTOR_CLIENT]
    return {
        "ClientCompany": Case(
            ClientCompanyProvider(),
            {"business_id": "FI29256309", "name": pc_name, "dimensions": pc_dimensions},
            invalid={"vat": {"mode": "partial"}},
            update={"tags": {"owner": "Anna"}},
            replace={"business_id": "2077474-0"},
        ),
        "ProcountorIntegration": Case(
            ProcountorIntegrationProvider(),
            {
                "client_id": procountor_client_id,
                "business_id": PROCOUNTOR_CLIENT,
                "client_name": pc_name,
                "api_key": Secret(pc_key),
                "dimensions": pc_dimensions,
            },
            invalid={"api_key": Secret("")},
            update={"api_key": Secret(SECOND_KEY)},
            replace={"business_id": "2077474-0"},
        ),
        "NetvisorCredentials": Case(
            NetvisorCredentialsProvider(),
            {
                "name": "firm",
                "customer_id": FIRM.id,
                "customer_key": Secret(FIRM.key),
                "verify_business_id": NETVISOR_CLIENT[0],
                "verify_client_name": NETVISOR_CLIENT[1],
            },
            invalid={"customer_key": Secret("€ is not ISO-8859-1")},
            update={"customer_key": Secret(ROTATED_CUSTOMER_KEY)},
            replace={"name": "another firm"},
        ),
        "NetvisorIntegration": Case(
            NetvisorIntegrationProvider(),
            {
                "client_id": netvisor_client_id,
                "business_id": NETVISOR_CLIENT[0],
                "client_name": NETVISOR_CLIENT[1],
                "customer_id": FIRM.id,
                "customer_key": Secret(FIRM.key),
                "credentials_fingerprint": fingerprint(FIRM.key),
                "dimensions": ["Projekti"],
            },
            invalid={"customer_id": ""},
            update={"customer_key": Secret(ROTATED_CUSTOMER_KEY)},
            replace={"business_id": "1618033-3"},
        ),
    }


def config(portal: str, procountor: str, netvisor: str) -> dict[str, Any]:
    return {
        "fabricai:portalUrl": portal,
        "fabricai:apiKey": Secret(PORTAL_KEY),
        "procountor:baseUrl": procountor,
        "procountor:clientId": APP_ID,
        "procountor:clientSecret": Secret(APP_SECRET),
        "netvisor:baseUrl": netvisor,
        "netvisor:partnerId": PARTNER.id,
        "netvisor:partnerKey": Secret(PARTNER.key),
    }


def check_and_diff(engine: Engine, case: Case, state: ResourceState) -> None:
    """Every kind of check and diff the engine asks during preview and up."""
    for edits, refused in ((case.invalid, True), (case.update, False), (case.replace, False)):
        _, failures = engine.check(case.provider, {**case.inputs, **edits}, state.inputs)
        assert bool(failures) == refused, (edits, failures)
    checked, failures = engine.check(case.provider, case.inputs, state.inputs)
    assert failures == [] and checked == state.inputs
    assert not engine.diff(state.id, state.outputs, checked).has_changes
    updated, _ = engine.check(case.provider, {**case.inputs, **case.update}, state.inputs)
    outcome = engine.diff(state.id, state.outputs, updated)
    assert outcome.has_changes and outcome.replaces == []
    replaced, _ = engine.check(case.provider, {**case.inputs, **case.replace}, state.inputs)
    assert engine.diff(state.id, state.outputs, replaced).replaces == sorted(case.replace)


def refused_url() -> str:
    """A 127.0.0.1 address whose port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def recorded_requests() -> list[str]:
    """Every HTTP request any client of the (new) provider process sends, each failing as a refused
    connection would: the process's transport records them."""
    sent: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url}")
        raise httpx.ConnectError("refused (recorded by the test)", request=request)

    fresh_process(transport=httpx.MockTransport(refuse))
    return sent


def test_check_and_diff_answer_with_every_service_unreachable() -> None:
    sent = recorded_requests()
    down = refused_url()
    engine = Engine(config(f"{down}/portal", f"{down}/procountor/api", f"{down}/netvisor"))
    for name, case in cases("7", "8").items():
        checked, failures = engine.check(case.provider, case.inputs)
        assert failures == [], name
        # The state a create would have left: the inputs, secrets only as their fingerprints.
        outputs = {
            key: value for key, value in checked.items() if key not in case.provider.secret_fingerprints
        }
        for key, output in case.provider.secret_fingerprints.items():
            outputs[output] = fingerprint(checked[key])
        check_and_diff(engine, case, ResourceState(name, "1", checked, outputs))
    assert sent == []


def test_check_and_diff_leave_the_sandbox_request_counts_unchanged(
    partner_sandbox: RunningSandbox,
) -> None:
    fresh_process()
    running = partner_sandbox
    engine = Engine(
        config(
            running.service_url("portal"),
            f"{running.service_url('procountor')}/api",
            running.service_url("netvisor"),
        )
    )
    beta = engine.up(ClientCompanyProvider(), {"business_id": NETVISOR_CLIENT[0], "name": NETVISOR_CLIENT[1]})
    company = cases("0", "0")["ClientCompany"]
    states = {"ClientCompany": engine.up(company.provider, company.inputs)}
    every = cases(states["ClientCompany"].id, beta.id)
    states.update(
        (name, engine.up(case.provider, case.inputs)) for name, case in every.items() if name not in states
    )
    before = running.admin.stats()["requests"]
    assert before["procountor"]["total"] > 0 and before["netvisor"]["total"] > 0
    for name, case in every.items():
        check_and_diff(engine, case, states[name])
    assert running.admin.stats()["requests"] == before
