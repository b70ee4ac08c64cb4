"""ERP health at refresh: a client that breaks after it was connected shows as drift with the fix, and
the next `up` re-verifies it and fails with the fix until it is mended (issue 12, part 1).

Regressions are injected into the sandbox between `up` and `refresh` through its /admin endpoints, the way
an ERP user would cause them: a right revoked, billable interfaces switched off, a key revoked, a Netvisor
resource right removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, ResourceState, Secret, all_text
from provider.context import reset as reset_process_context
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.netvisor_integration import NetvisorIntegrationProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.retry import RetryPolicy
from provider.verification.findings import Check, Finding, Verification, fails
from provider.verification.messages import Subject, health
from sandbox.server import RunningSandbox
from tests.support import erp_stack as pc
from tests.support.erp_stack import fresh_process

ACME = "2925630-9"  # Öljy-Äijät Oy, healthy in examples/sandbox.yaml
BETA = "1572860-0"  # Beta Oy, healthy (Netvisor)
NV_PARTNER = ("FAI_fabricai", "FAKE-nv-partner-key-fabricai")


def _customer_key(running: RunningSandbox) -> tuple[str, str]:
    customer = running.sandbox.scenario.netvisor.customers[0]
    return customer.id, customer.key


def _config(running: RunningSandbox, **extra: Any) -> dict[str, Any]:
    customer_id, customer_key = _customer_key(running)
    keys = {business_id: key for business_id, (_, key, _) in pc.HEALTHY.items()}
    return {
        **pc.engine_config(running),
        "netvisor:baseUrl": running.service_url("netvisor"),
        "netvisor:partnerId": NV_PARTNER[0],
        "netvisor:partnerKey": Secret(NV_PARTNER[1]),
        # As the real engine hands object config to a provider: JSON text (secret).
        "roster:procountorApiKeys": Secret(json.dumps(keys)),
        "roster:netvisorCredentials": Secret(
            json.dumps({"firm": {"customerId": customer_id, "customerKey": customer_key}})
        ),
        **extra,
    }


def _patch(running: RunningSandbox, path: str, body: dict[str, Any]) -> None:
    response = httpx.patch(f"{running.url}/admin{path}", json=body, timeout=10)
    assert response.status_code == 204, response.text


def _erp_requests(running: RunningSandbox) -> dict[str, int]:
    requests = running.admin.stats()["requests"]
    return {name: requests[name]["total"] for name in ("procountor", "netvisor")}


# Each refresh is a new provider process (a fresh Procountor limiter) right after the previous command, so
# it can meet that command's requests in the sandbox's per-second window: its 429s (Procountor sends no
# Retry-After) are waited out over about a second, as the default retry policy would, not within
# milliseconds.
WINDOW_RETRY = RetryPolicy(max_attempts=6, initial_wait=0.25, max_wait=1.0, max_retry_after=1.0)


@pytest.fixture
def running(partner_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSandbox]:
    fresh_process(retry=WINDOW_RETRY)
    yield partner_sandbox


def _company(engine: Engine, business_id: str, name: str) -> ResourceState:
    return engine.up(ClientCompanyProvider(), {"business_id": business_id, "name": name})


def _procountor(engine: Engine, company: ResourceState, state: ResourceState | None = None) -> ResourceState:
    _, key, dimensions = pc.HEALTHY[ACME]
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": company.outputs["business_id"],
        "client_name": company.outputs["name"],
        "api_key": Secret(key),
        "dimensions": dimensions,
    }
    return engine.up(ProcountorIntegrationProvider(), inputs, state)


def _netvisor(
    engine: Engine, running: RunningSandbox, company: ResourceState, state: ResourceState | None = None
) -> ResourceState:
    customer_id, customer_key = _customer_key(running)
    inputs = {
        "client_id": company.id,
        "business_id": company.outputs["business_id"],
        "client_name": company.outputs["name"],
        "customer_id": customer_id,
        "customer_key": Secret(customer_key),
        "dimensions": ["Kustannuspaikka"],
    }
    return engine.up(NetvisorIntegrationProvider(), inputs, state)


def _refreshed(engine: Engine, state: ResourceState) -> ResourceState:
    reset_process_context()  # `pulumi refresh` runs in a provider process of its own: no token cached
    refreshed = engine.refresh(state)
    assert refreshed is not None, "an ERP problem must never drop the integration"
    assert refreshed.id == state.id
    return refreshed


def _secrets(running: RunningSandbox) -> list[str]:
    return [*pc.SECRETS, NV_PARTNER[1], _customer_key(running)[1]]


# ---- Procountor ------------------------------------------------------------------------------------

PROCOUNTOR_REGRESSIONS = [
    pytest.param(
        {"rightsOverrides": {"purchases.productRegister": "NO_ACCESS"}},
        {"rightsOverrides": {"purchases.productRegister": "ALL_RIGHTS"}},
        "RIGHTS_MISSING",
        "Purchases > Product register",
        id="right-revoked",
    ),
    pytest.param(
        {"billableInterfaces": False},
        {"billableInterfaces": True},
        "BILLABLE_INTERFACES_OFF",
        "Allow the use of billable interfaces",
        id="billable-interfaces-off",
    ),
    pytest.param(
        {"revokeApiKeys": True},
        {"revokeApiKeys": False},
        "KEY_REFUSED",
        "New API key",
        id="key-revoked",
    ),
]


@pytest.mark.parametrize(("break_it", "mend_it", "code", "fix"), PROCOUNTOR_REGRESSIONS)
def test_a_procountor_regression_is_drift_with_the_fix_and_blocks_up_until_mended(
    running: RunningSandbox, break_it: dict[str, Any], mend_it: dict[str, Any], code: str, fix: str
) -> None:
    engine = Engine(_config(running))
    company = _company(engine, ACME, pc.HEALTHY[ACME][0])
    integration = _procountor(engine, company)
    assert integration.outputs["erp_health"] == "OK"
    assert integration.outputs.get("erp_health_detail") is None

    healthy = _refreshed(engine, integration)
    assert healthy.outputs["erp_health"] == "OK"
    # A healthy refresh changes nothing, not even the check time: `refresh --expect-no-changes` is quiet.
    assert healthy.outputs["erp_checked_at"] == integration.outputs["erp_checked_at"]
    same = engine.checked(ProcountorIntegrationProvider(), healthy.inputs, healthy.inputs)
    assert not engine.diff(healthy.id, healthy.outputs, same).has_changes

    _patch(running, f"/procountor/companies/{ACME}", break_it)
    before = _erp_requests(running)
    broken = _refreshed(engine, healthy)
    after = _erp_requests(running)
    assert broken.outputs["erp_health"] == code  # ~ erp_health: "OK" => code
    assert fix in broken.outputs["erp_health_detail"]
    assert "Fix:" in broken.outputs["erp_health_detail"]
    # The check: token, then company, rights and dimensions (fewer when the token is refused).
    assert 1 <= after["procountor"] - before["procountor"] <= 4
    assert after["netvisor"] == before["netvisor"]

    # diff (offline) wants an update; the update re-verifies and fails with the fix.
    checked = engine.checked(ProcountorIntegrationProvider(), broken.inputs, broken.inputs)
    assert engine.diff(broken.id, broken.outputs, checked).has_changes
    with pytest.raises(EngineCallFailed) as failure:
        _procountor(engine, company, broken)
    assert fix in failure.value.details

    _patch(running, f"/procountor/companies/{ACME}", mend_it)
    mended = _procountor(engine, company, broken)
    assert mended.outputs["erp_health"] == "OK"
    assert mended.outputs.get("erp_health_detail") is None
    assert _refreshed(engine, mended).outputs["erp_health"] == "OK"

    text = all_text([broken.outputs, mended.outputs, failure.value.details])
    for secret in _secrets(running):
        assert secret not in text


def test_refresh_erp_false_makes_no_erp_request_and_keeps_the_previous_health(
    running: RunningSandbox,
) -> None:
    engine = Engine(_config(running))
    company = _company(engine, ACME, pc.HEALTHY[ACME][0])
    integration = _procountor(engine, company)
    _patch(running, f"/procountor/companies/{ACME}", {"billableInterfaces": False})
    broken = _refreshed(engine, integration)
    assert broken.outputs["erp_health"] == "BILLABLE_INTERFACES_OFF"

    portal_only = Engine(_config(running, **{"fabricai:refreshErp": "false"}))
    _patch(running, f"/procountor/companies/{ACME}", {"billableInterfaces": True})
    before = _erp_requests(running)
    kept = _refreshed(portal_only, broken)
    assert _erp_requests(running) == before  # 0 ERP requests
    for output in ("erp_health", "erp_health_detail", "erp_checked_at"):
        assert kept.outputs.get(output) == broken.outputs.get(output)
    assert kept.outputs["connection_id"] == broken.outputs["connection_id"]  # the portal part still read


def test_a_transport_failure_is_unknown_health_never_a_failed_refresh(running: RunningSandbox) -> None:
    engine = Engine(_config(running))
    company = _company(engine, ACME, pc.HEALTHY[ACME][0])
    integration = _procountor(engine, company)
    running.admin.set_faults("procountor", errorRate=1.0, errorStatus=503)
    refreshed = _refreshed(engine, integration)
    assert refreshed.outputs["erp_health"] == "UNKNOWN"
    assert "could not be checked" in refreshed.outputs["erp_health_detail"]
    running.admin.clear_faults("procountor")
    assert _refreshed(engine, refreshed).outputs["erp_health"] == "OK"


def test_without_the_key_in_stack_config_the_health_is_unknown_and_says_what_to_do(
    running: RunningSandbox,
) -> None:
    engine = Engine(_config(running))
    company = _company(engine, ACME, pc.HEALTHY[ACME][0])
    integration = _procountor(engine, company)
    other = Engine(_config(running, **{"roster:procountorApiKeys": Secret(json.dumps({ACME: "FAKE-other"}))}))
    before = _erp_requests(running)
    refreshed = _refreshed(other, integration)
    assert _erp_requests(running)["procountor"] == before["procountor"]
    assert refreshed.outputs["erp_health"] == "UNKNOWN"
    assert "pulumi up" in refreshed.outputs["erp_health_detail"]


def test_a_malformed_refresh_erp_setting_names_the_fix(running: RunningSandbox) -> None:
    engine = Engine(_config(running, **{"fabricai:refreshErp": "sometimes"}))
    with pytest.raises(EngineCallFailed) as failure:
        _company(engine, ACME, pc.HEALTHY[ACME][0])
    assert "fabricai:refreshErp" in failure.value.details
    assert "pulumi config set fabricai:refreshErp false" in failure.value.details


# ---- Netvisor --------------------------------------------------------------------------------------


def test_a_netvisor_resource_right_removed_is_drift_with_the_fix_and_blocks_up_until_mended(
    running: RunningSandbox,
) -> None:
    engine = Engine(_config(running))
    company = _company(engine, BETA, "Beta Oy")
    integration = _netvisor(engine, running, company)
    assert integration.outputs["erp_health"] == "OK"
    assert _refreshed(engine, integration).outputs["erp_health"] == "OK"

    partner = NV_PARTNER[0]
    _patch(
        running, f"/netvisor/companies/{BETA}", {"resourceRights": {partner: {"purchaseInvoices": "denied"}}}
    )
    before = running.admin.stats()["services"]["netvisor"]
    broken = _refreshed(engine, integration)
    after = running.admin.stats()["services"]["netvisor"]
    assert broken.outputs["erp_health"] == "RESOURCE_RIGHTS_MISSING"
    assert '"purchase invoices"' in broken.outputs["erp_health_detail"]
    assert "API resource rights" in broken.outputs["erp_health_detail"]
    # The three resource rights, one request each, one at a time (the gate): no overlapping request.
    assert sum(after["requests"].values()) - sum(before["requests"].values()) == 3
    assert after["concurrencyViolations"] == 0
    assert after["maxInFlightPerCustomer"] == 1

    with pytest.raises(EngineCallFailed) as failure:
        _netvisor(engine, running, company, broken)
    assert '"purchase invoices"' in failure.value.details

    _patch(
        running, f"/netvisor/companies/{BETA}", {"resourceRights": {partner: {"purchaseInvoices": "allowed"}}}
    )
    mended = _netvisor(engine, running, company, broken)
    assert mended.outputs["erp_health"] == "OK"
    for secret in _secrets(running):
        assert secret not in all_text([broken.outputs, failure.value.details])


def test_the_admin_endpoints_refuse_what_they_do_not_know(running: RunningSandbox) -> None:
    unknown_right = httpx.patch(
        f"{running.url}/admin/procountor/companies/{ACME}",
        json={"rightsOverrides": {"no.such": "ALL_RIGHTS"}},
    )
    assert unknown_right.status_code == 400
    nobody = httpx.patch(
        f"{running.url}/admin/procountor/companies/1234567-1", json={"billableInterfaces": False}
    )
    assert nobody.status_code == 404
    bad_status = httpx.patch(
        f"{running.url}/admin/netvisor/companies/{BETA}",
        json={"resourceRights": {"x": {"purchaseInvoices": "maybe"}}},
    )
    assert bad_status.status_code == 400


# ---- the codes of every check's failure (from findings, offline) ---------------------------------


@pytest.mark.parametrize(
    ("system", "finding", "code"),
    [
        (
            "procountor",
            fails(Check.COMPANY_IDENTITY, reported_name="Muu Oy", reported_kind="NONE"),
            "OTHER_COMPANY",
        ),
        ("procountor", fails(Check.DIMENSIONS, missing=["Projekti"], existing=[]), "DIMENSIONS_MISSING"),
        ("procountor", fails(Check.CREDENTIALS, refused="API_KEY"), "KEY_REFUSED"),
        ("procountor", fails(Check.BILLABLE_INTERFACES), "BILLABLE_INTERFACES_OFF"),
        (
            "procountor",
            fails(Check.USER_RIGHTS, missing=[{"right": "user.editPersonalInfo"}]),
            "RIGHTS_MISSING",
        ),
        ("netvisor", fails(Check.CREDENTIALS, refused="CUSTOMER_KEYS"), "KEY_REFUSED"),
        ("netvisor", fails(Check.COMPANY_ACCESS), "COMPANY_UNREACHABLE"),
        (
            "netvisor",
            fails(Check.RESOURCE_RIGHTS, not_allowed=["PURCHASE_INVOICES"]),
            "RESOURCE_RIGHTS_MISSING",
        ),
        ("netvisor", fails(Check.DIMENSIONS, missing=["Projekti"], existing=[]), "DIMENSIONS_MISSING"),
        ("netvisor", fails(Check.ERP_REACHABLE, reason="timeout"), "UNKNOWN"),
    ],
)
def test_every_check_failure_has_its_code_and_its_fix(system: str, finding: Finding, code: str) -> None:
    business_id = ACME if system == "procountor" else BETA
    subject = Subject(f"Asiakas Oy ({business_id})", business_id, system, "portal", "(customer id X)", "KEY")
    found, detail = health(Verification.of(system, [finding]), subject)
    assert found == code
    assert detail and not detail.startswith("Asiakas Oy")  # the detail is about the client, not prefixed
