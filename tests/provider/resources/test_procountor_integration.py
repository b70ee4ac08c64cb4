"""ProcountorIntegration through the engine's path against the sandbox (Procountor and portal over HTTP)."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, ResourceState
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.retry import RetryPolicy
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import business_ids
from tests.support.erp_stack import (
    APP_ID,
    HEALTHY,
    PORTAL_KEY,
    SECOND_KEY,
    Stack,
    engine_config,
    fresh_process,
)
from tests.support.intercept import Intercept

REPO_ROOT = str(Path(__file__).resolve().parents[3])
PATIENT_RETRY = RetryPolicy(max_attempts=12, initial_wait=0.001, max_wait=0.002)

ACME = "2925630-9"
ACME_LABEL = "Öljy-Äijät Oy (2925630-9)"

# A refused API key: its causes and its fix in Procountor's UI words, and what it means when every client
# fails so (the partner application itself refused).
BOTH_FIXES = [
    "Procountor refused the client's API key",
    "revoked in Procountor",
    "created for another application's client id",
    "its user no longer has access to the company",
    "Basics -> API client keys -> New API key",
    "roster:procountorApiKeys",
    "procountor:clientId and procountor:clientSecret",
]

# The broken companies of examples/sandbox.yaml and the guide wording each error must carry.
BROKEN: dict[str, tuple[str, str, list[str]]] = {
    "1202527-2": (
        "Lasku-Laiska Oy",
        "FAKE-pc-key-lasku-laiska",
        [
            '"Internal server error"',
            "most likely cause",
            "Company information -> Usage settings -> Integration settings",
            '"Allow the use of billable interfaces"',
            "save",
            "If billable interfaces are already allowed, Procountor itself may be failing for a while: "
            "run `pulumi up` again later.",
        ],
    ),
    "1303819-8": (
        "Johto-Puute Oy",
        "FAKE-pc-key-johto-puute",
        [
            "lacks 1 of the rights",
            "Management > Basic company info: Viewing rights",
            "Users and access rights",
        ],
    ),
    "3247652-1": (
        "Osto-Esto Oy",
        "FAKE-pc-key-osto-esto",
        ["Purchases > Product register: All rights (now: Viewing rights)", "the API user"],
    ),
    "1394810-8": (
        "Kirjanpito-Kato Oy",
        "FAKE-pc-key-kirjanpito-kato",
        ["Accounting > Rights for journal receipts: Viewing rights", "management gear"],
    ),
    "2718282-8": (
        "Käyttäjä-Kielto Oy",
        "FAKE-pc-key-kayttaja-kielto",
        ["lacks 1 of the rights", "User > Edit personal info: Viewing rights"],
    ),
    "2533810-4": (
        "Kaikki-Vinossa Oy",
        "FAKE-pc-key-kaikki-vinossa",
        [
            "lacks 5 of the rights",
            "Management > Chart of accounts and default reports: Viewing rights",
            "User > Edit personal info: Viewing rights",
            "Purchases > Rights for purchase invoices: All rights",
            "Purchases > Supplier register: Viewing rights",
            "Accounting > Search journal receipts: All rights",
        ],
    ),
    "1243265-2": (
        "Peruttu Avain Oy",
        "FAKE-pc-key-peruttu-avain",
        BOTH_FIXES,
    ),
    "1900509-8": (
        "Väärä Sovellus Oy",
        "FAKE-pc-key-vaara-sovellus",
        BOTH_FIXES,
    ),
}


def portal(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.running.service_url("portal"), headers={"Authorization": f"Bearer {PORTAL_KEY}"}
    )


def failure_of(call: Any) -> str:
    with pytest.raises(EngineCallFailed) as failure:
        call()
    details: str = failure.value.details
    return details


@pytest.mark.parametrize("business_id", sorted(HEALTHY))
def test_every_healthy_client_connects(stack: Stack, business_id: str) -> None:
    company, integration = stack.connect(business_id)
    name, key, _ = HEALTHY[business_id]
    outputs = integration.outputs
    assert integration.id == outputs["connection_id"]
    assert outputs["erp_company_name"] == name
    assert "Purchases > Product register: All rights" in outputs["verified_rights"]
    assert outputs["status"] == "ACTIVE" and outputs["connected_at"]
    # Connecting started the training: the integration reports the client's new portal status.
    assert outputs["client_status"] == "TRAINING"
    assert "api_key" not in outputs and key not in repr(outputs)
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": key})


@pytest.mark.parametrize("business_id", sorted(BROKEN))
def test_every_broken_client_fails_with_the_guide_fix(stack: Stack, business_id: str) -> None:
    name, key, pieces = BROKEN[business_id]
    company = stack.company(business_id, name)
    details = failure_of(lambda: stack.integration(company, key))
    assert f"{name} ({business_id})" in details
    for piece in pieces:
        assert piece in details
    assert key not in details
    assert stack.stats()["services"]["portal"]["connections"] == 0
    # Short, as the engine shows it: the servicer's frames and the base provider's, then the message;
    # none of the HTTP or checking code behind it, and no chained "During handling..." cause.
    frames = [
        line.strip().replace(REPO_ROOT, "<repo>")  # the checkout's own path may contain "procountor"
        for line in details.splitlines()
        if line.strip().startswith('File "')
    ]
    assert len(frames) <= 4, frames
    assert not any("procountor" in frame or "httpx" in frame for frame in frames)
    assert "During handling" not in details and "direct cause" not in details


def test_a_key_of_another_company_names_that_company(stack: Stack) -> None:
    company = stack.company("1632707-5", "Harhautettu Oy")
    details = failure_of(lambda: stack.integration(company, HEALTHY["2358253-3"][1]))
    assert (
        "Harhautettu Oy (1632707-5): the API key for 1632707-5 belongs to Sauna-Saarinen Oy (2358253-3)"
        in details
    )


def test_a_missing_dimension_names_it_and_the_existing_ones(stack: Stack) -> None:
    company = stack.company(ACME, "Öljy-Äijät Oy")
    details = failure_of(lambda: stack.integration(company, HEALTHY[ACME][1], ["Kustannuspaikka", "Projekt"]))
    assert f"{ACME_LABEL}: Procountor has no dimension named 'Projekt'" in details
    assert "it has: Kustannuspaikka, Projekti" in details


def test_partner_credentials_refused_names_both_fixes(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Procountor's errors[] refusal does not tell the partner application from the key: both fixes."""
    company = stack.company(ACME, "Öljy-Äijät Oy")
    fresh_process()
    config = {**engine_config(stack.running), "procountor:clientId": "unknown-app"}
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": ACME,
        "client_name": "Öljy-Äijät Oy",
        "api_key": HEALTHY[ACME][1],
    }
    details = failure_of(lambda: Engine(config).up(ProcountorIntegrationProvider(), inputs))
    assert "PrerequisiteFailed" in details and "procountor:clientId and procountor:clientSecret" in details
    assert "Basics -> API client keys -> New API key" in details


@pytest.mark.parametrize(
    ("client_id", "api_key", "expected"),
    [
        (
            "unknown-app",
            HEALTHY[ACME][1],
            ["ConfigurationError", "own partner credentials", "procountor:clientId"],
        ),
        (
            APP_ID,
            "FAKE-pc-key-peruttu-avain",
            ["PrerequisiteFailed", "refused the client's API key", "New API key"],
        ),
    ],
    ids=["invalid_client", "invalid_grant"],
)
def test_an_oauth_style_refusal_names_its_one_cause(
    sandbox: SandboxFactory,
    example_scenario: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    client_id: str,
    api_key: str,
    expected: list[str],
) -> None:
    example_scenario["procountor"]["refusalStyle"] = "oauth"
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    fresh_process()
    company = Stack(running, Engine(engine_config(running))).company(ACME, "Öljy-Äijät Oy")
    config = {**engine_config(running), "procountor:clientId": client_id}
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": ACME,
        "client_name": "Öljy-Äijät Oy",
        "api_key": api_key,
    }
    details = failure_of(lambda: Engine(config).up(ProcountorIntegrationProvider(), inputs))
    for piece in expected:
        assert piece in details
    assert ("procountor:clientId and procountor:clientSecret" in details) == (client_id == APP_ID)
    assert api_key not in details


def test_rotation_verifies_the_new_key_then_patches_the_same_connection(stack: Stack) -> None:
    company, integration = stack.connect(ACME)
    rotated = stack.integration(company, SECOND_KEY, HEALTHY[ACME][2], state=integration)
    assert rotated.id == integration.id
    assert rotated.outputs["credentials_rotated_at"]
    assert rotated.outputs["api_key_fingerprint"] != integration.outputs["api_key_fingerprint"]
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": SECOND_KEY})
    assert stack.stats()["services"]["portal"]["connectionsPut"] == 1


@pytest.mark.parametrize(
    ("new_key", "expected"),
    [
        ("FAKE-pc-key-peruttu-avain", "Procountor refused the client's API key"),
        (HEALTHY["2077474-0"][1], "belongs to Kahvila Kuppi Oy (2077474-0)"),
    ],
    ids=["revoked-key", "key-of-another-company"],
)
def test_failed_rotation_changes_nothing(stack: Stack, new_key: str, expected: str) -> None:
    company, integration = stack.connect(ACME)
    before = stack.credentials_fingerprint(company)
    details = failure_of(lambda: stack.integration(company, new_key, HEALTHY[ACME][2], state=integration))
    assert expected in details
    assert stack.credentials_fingerprint(company) == before
    assert stack.stats()["services"]["portal"].get("credentialRotations", 0) == 0
    # State is what it was: the same old key still shows no change.
    same = stack.integration(company, HEALTHY[ACME][1], HEALTHY[ACME][2], state=integration)
    assert same is integration


def test_rotation_after_the_connection_was_replaced_says_so(stack: Stack) -> None:
    company, integration = stack.connect(ACME)
    with portal(stack) as client:
        body = {"system": "procountor", "erpCompanyId": "101", "credentials": {"apiKey": "FAKE-someone-else"}}
        client.put(f"/clients/{company.id}/connection", json=body)
    details = failure_of(lambda: stack.integration(company, SECOND_KEY, HEALTHY[ACME][2], state=integration))
    assert (
        f"{ACME_LABEL}: the portal connection {integration.id} that this stack made no longer exists"
        in details
    )
    assert "pulumi refresh" in details
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint(
        {"apiKey": "FAKE-someone-else"}
    )


def test_deregistration_disconnects_and_tells_to_revoke_the_key(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    company, integration = stack.connect(ACME)
    with caplog.at_level(logging.WARNING):
        stack.engine.destroy(integration)
        stack.engine.destroy(company)
    assert stack.stats()["services"]["portal"]["clients"] == 0
    warning = "\n".join(record.getMessage() for record in caplog.records)
    assert f"{ACME_LABEL}: disconnected from the FabricAI portal" in warning
    assert "Basics -> API client keys" in warning
    stack.engine.destroy(integration)  # already gone: success
    stack.engine.destroy(company)


def test_delete_spares_a_newer_connection(stack: Stack) -> None:
    company, old = stack.connect(ACME)
    # A second integration of the same client (e.g. the replacement Pulumi creates first) connects anew.
    newer = stack.integration(company, SECOND_KEY, HEALTHY[ACME][2])
    assert newer.id != old.id
    stack.engine.destroy(old)
    connection = stack.running.admin.portal_connection(int(company.outputs["portal_id"]))
    assert connection is not None and connection["id"] == newer.id


def test_refresh_reports_status_and_drops_a_removed_connection(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    company, integration = stack.connect(ACME)
    fresh_process()
    engine = Engine(engine_config(stack.running))
    with portal(stack) as client:
        record = client.get(f"/clients/{company.id}").json()["data"]
        client.patch(f"/clients/{company.id}", json={**record, "status": "INACTIVE"})
    refreshed = engine.refresh(integration)
    assert refreshed is not None and refreshed.outputs["status"] == "ACTIVE"
    assert refreshed.outputs["client_status"] == "INACTIVE"
    with portal(stack) as client:
        client.delete(f"/clients/{company.id}/connection/{integration.id}")
    fresh_process()
    assert Engine(engine_config(stack.running)).refresh(integration) is None


def test_refresh_of_companies_and_integrations_shares_one_listing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = [stack.connect(business_id) for business_id in sorted(HEALTHY)]
    fresh_process()
    engine = Engine(engine_config(stack.running))
    before = stack.stats()["requests"]["portal"]["total"]
    for company, integration in pairs:
        assert engine.refresh(company) is not None
        assert engine.refresh(integration) is not None
    requests = stack.stats()["requests"]["portal"]
    # The client list is read once for all (the integrations' client status); the public API has no page
    # of full records, models or connections: per client its record and models, per integration its
    # connection, models and dimensions (these clients have no teams: the team list is not needed).
    # One listing for the 4 registrations, their 4 POSTs, and one listing for the whole refresh.
    assert requests["byPath"]["/portal/clients"] == 2 + len(pairs)
    assert requests["total"] - before == 1 + 5 * len(pairs)


def test_sixteen_creates_at_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """16 clients registered from 16 threads, and 16 verifications of one key fetching one token."""
    # Enough attempts that no call runs out of retries under 20 % dropped answers (0.2^12): the test is
    # about lost answers being retried without a second registration, not about giving up.
    fresh_process(retry=PATIENT_RETRY)
    companies: list[ResourceState] = []
    integrations: list[ResourceState] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    acme = stack.company(ACME, "Öljy-Äijät Oy")
    stack.running.admin.set_faults("portal", dropRate=0.2, seed=3)  # lost answers: retried creates

    def run(business_id: str) -> None:
        try:
            company = stack.company(business_id, f"Asiakas {business_id}")
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
            return
        with lock:
            companies.append(company)
        for _ in range(3):  # a PUT whose answer was lost is not sent again in its run: the next up does
            try:
                integration = stack.integration(acme, HEALTHY[ACME][1])
            except EngineCallFailed as failed:
                assert "may or may not have applied the change" in failed.details, failed.details
                continue
            with lock:
                integrations.append(integration)
            return

    threads = [threading.Thread(target=run, args=(b,)) for b in business_ids(16, start=3000000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(integrations) == 16
    stats = stack.stats()["services"]
    assert stats["portal"]["clients"] == 17
    assert stats["portal"].get("duplicateRegistrations", 0) == 0
    assert len({state.id for state in companies}) == 16
    assert stats["procountor"]["tokensIssued"] == 1
    assert stats["procountor"]["rateLimited"] == {}
    assert stack.stats()["faults"]["portal"]["injected"]["drop"] > 0


def test_a_failed_status_read_after_connecting_does_not_fail_the_integration(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The portal holds the connection once the PUT (or PATCH) succeeded: the status is best effort."""
    name, key, dimensions = HEALTHY[ACME]
    company = stack.company(ACME, name, dimensions=dimensions)

    def failing(request: httpx.Request) -> httpx.Response | None:
        """Every read of the client's record fails; everything else reaches the portal."""
        if request.method == "GET" and re.search(r"/portal/clients/\d+$", request.url.path):
            return httpx.Response(503, json={"error": {"message": "unavailable"}})
        return None

    fresh_process(transport=Intercept(before=failing))
    with caplog.at_level(logging.WARNING, logger="provider.resources.integration"):
        created = stack.integration(company, key, dimensions)
        rotated = stack.integration(company, SECOND_KEY, dimensions, created)
    # None does not travel over the wire: the output is absent, and the program falls back to the company's.
    assert created.outputs.get("client_status") is None and rotated.outputs.get("client_status") is None
    assert rotated.id == created.id and rotated.outputs["credentials_rotated_at"]
    with portal(stack) as client:
        held = client.get(f"/clients/{company.id}/connection").json()["data"]
    assert held["id"] == created.id
    assert stack.credentials_fingerprint(company) == stack.running.admin.fingerprint({"apiKey": SECOND_KEY})
    # The integration's own warnings (the portal client logs each retry of the failing read besides).
    warnings = [r.getMessage() for r in caplog.records if r.name == "provider.resources.integration"]
    assert len(warnings) >= 2 and all(ACME_LABEL in message for message in warnings)
    status_warnings = [message for message in warnings if "portal status could not be read" in message]
    assert len(status_warnings) == 2
    # The fix it names is the one that reads the status (another `up` would change nothing).
    assert all("`pulumi refresh` will read it" in message for message in status_warnings)
