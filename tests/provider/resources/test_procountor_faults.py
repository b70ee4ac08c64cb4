"""Fault injection on both services: every run ends in success or a clean error; a re-run converges."""

from __future__ import annotations

import pytest

from harness.engine import EngineCallFailed, ResourceState
from provider.resources.client_company import ClientCompanyProvider
from tests.support.erp_stack import HEALTHY, SECRETS, Stack, company_inputs

# Rates high enough that some calls exhaust their retries: runs must then fail cleanly, not half-way.
FAULTS: dict[str, dict[str, int | float]] = {
    "5xx": {"errorRate": 0.6, "errorStatus": 503},
    "429": {"rateLimitRate": 0.6, "retryAfterSeconds": 0},
    "latency": {"latencyMs": 10},
    "drops": {"dropRate": 0.6},
    "everything": {"errorRate": 0.25, "rateLimitRate": 0.2, "retryAfterSeconds": 0, "dropRate": 0.25},
}
CLIENTS = {business_id: HEALTHY[business_id] for business_id in ("2925630-9", "2077474-0")}
CLEAN_ERRORS = ("PortalError: ", "ProcountorError: ", "PrerequisiteFailed: ", "ServerFailure: ")


def run_roster(stack: Stack, states: dict[str, list[ResourceState | None]]) -> list[str]:
    """One `pulumi up` of the healthy clients, continuing from ``states``; the errors it ended in."""
    errors = []
    for business_id, (name, key, dimensions) in CLIENTS.items():
        company, integration = states[business_id]
        try:
            if company is None:
                company = stack.engine.up(
                    ClientCompanyProvider(), company_inputs(business_id, name, dimensions=dimensions)
                )
                states[business_id][0] = company
            if integration is None:
                states[business_id][1] = stack.integration(company, key, dimensions)
        except EngineCallFailed as failure:
            errors.append(failure.details)
    return errors


@pytest.mark.parametrize(
    ("fault", "seed"), [*((fault, 1) for fault in sorted(FAULTS)), ("drops", 2), ("everything", 2)]
)
def test_faulty_runs_end_cleanly_and_a_rerun_converges(stack: Stack, fault: str, seed: int) -> None:
    for service in ("portal", "procountor"):
        stack.running.admin.set_faults(service, seed=seed, **FAULTS[fault])
    states: dict[str, list[ResourceState | None]] = {business_id: [None, None] for business_id in CLIENTS}
    errors = run_roster(stack, states)
    for details in errors:
        last_line = details.strip().splitlines()[-1]
        assert any(marker in details for marker in CLEAN_ERRORS), details
        assert "During handling of the above exception" not in details
        assert not any(secret in details for secret in SECRETS)
        assert last_line  # the operator's message is the last thing shown
    for service in ("portal", "procountor"):
        stack.running.admin.clear_faults(service)
    assert run_roster(stack, states) == []

    portal = stack.stats()["services"]["portal"]
    assert portal["clients"] == len(CLIENTS)
    assert portal["connections"] == len(CLIENTS)
    assert portal.get("duplicateRegistrations", 0) == 0
    for business_id, (_, key, _) in CLIENTS.items():
        company = states[business_id][0]
        assert company is not None
        assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": key})
