"""What an integration does in the portal besides the connection: the ERP company id, dimension
predictions (DIMENSION models, ordered once FabricAI has read the dimensions) and training progress; and a
portal without the connection extension. Engine path, sandbox over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed
from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.support.erp_stack import (
    HEALTHY,
    PORTAL_KEY,
    SECRETS,
    Stack,
    engine_config,
    fresh_process,
)

ACME = "2925630-9"  # Procountor company 101, dimensions Kustannuspaikka and Projekti


def portal_get(running: RunningSandbox, path: str) -> Any:
    response = httpx.get(
        f"{running.service_url('portal')}{path}", headers={"Authorization": f"Bearer {PORTAL_KEY}"}
    )
    response.raise_for_status()
    return response.json()["data"]


def dimension_models(running: RunningSandbox, client_id: str) -> dict[str, str]:
    names = {d["id"]: d["name"] for d in portal_get(running, f"/clients/{client_id}/dimensions")}
    return {
        names[m["dimensionId"]]: m["status"]
        for m in portal_get(running, f"/clients/{client_id}/models")
        if m["label"] == "DIMENSION"
    }


def stack_for(running: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Stack:
    fresh_process()
    return Stack(running, Engine(engine_config(running)))


def test_connecting_records_the_erp_company_and_orders_the_predictions(stack: Stack) -> None:
    company, integration = stack.connect(ACME)
    assert portal_get(stack.running, f"/clients/{company.id}")["accountingSystemCompanyId"] == "101"
    assert integration.outputs["client_status"] == "TRAINING"
    assert integration.outputs["dimension_predictions"] == {
        "Kustannuspaikka": "PENDING",
        "Projekti": "PENDING",
    }
    assert dimension_models(stack.running, company.id) == {
        "Kustannuspaikka": "PENDING",
        "Projekti": "PENDING",
    }
    # Nothing waits: the next preview shows no change.
    assert not stack.engine.diff(integration.id, integration.outputs, integration.inputs).has_changes


def test_predictions_wait_until_fabricai_has_read_the_dimensions_and_a_later_up_orders_them(
    sandbox: SandboxFactory, example_scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    example_scenario["portal"]["dimensionsReadSeconds"] = 3600
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    stack = stack_for(running, monkeypatch)
    company, integration = stack.connect(ACME)
    assert integration.outputs["dimension_predictions"] == {
        "Kustannuspaikka": "WAITING",
        "Projekti": "WAITING",
    }
    assert dimension_models(running, company.id) == {}
    # The roster has not changed, yet the next `up` has something to do: the waiting predictions.
    assert stack.engine.diff(integration.id, integration.outputs, integration.inputs).has_changes
    httpx.post(f"{running.url}/admin/portal/clients/{company.id}/dimensions").raise_for_status()
    _, key, dimensions = HEALTHY[ACME]
    later = stack.integration(company, key, dimensions, integration)
    assert later.id == integration.id  # the same connection, not reconnected or rotated
    assert running.admin.stats()["services"]["portal"].get("credentialRotations", 0) == 0
    assert later.outputs["dimension_predictions"] == {"Kustannuspaikka": "PENDING", "Projekti": "PENDING"}
    assert dimension_models(running, company.id) == {"Kustannuspaikka": "PENDING", "Projekti": "PENDING"}
    assert not stack.engine.diff(later.id, later.outputs, later.inputs).has_changes


def test_refresh_shows_training_progress_and_prediction_states(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    company, integration = stack.connect(ACME)
    httpx.put(
        f"{stack.running.url}/admin/portal/clients/{company.id}/training", json={"status": "DEPLOYED"}
    ).raise_for_status()
    fresh_process()
    engine = Engine(engine_config(stack.running))
    refreshed = engine.refresh(integration)
    assert refreshed is not None
    assert refreshed.outputs["client_status"] == "IN_PRODUCTION"
    assert refreshed.outputs["dimension_predictions"] == {
        "Kustannuspaikka": "DEPLOYED",
        "Projekti": "DEPLOYED",
    }
    company_now = engine.refresh(company)
    assert company_now is not None and company_now.outputs["training"] == "IN_PRODUCTION"


def test_removing_a_dimension_keeps_its_prediction_ordered(stack: Stack) -> None:
    company, integration = stack.connect(ACME)
    _, key, _ = HEALTHY[ACME]
    fewer = stack.integration(company, key, ["Kustannuspaikka"], integration)
    assert fewer.outputs["dimension_predictions"] == {"Kustannuspaikka": "PENDING"}
    # The public API has DELETE /clients/{id}/models/{modelId}, but not what deleting does: left ordered.
    assert dimension_models(stack.running, company.id) == {
        "Kustannuspaikka": "PENDING",
        "Projekti": "PENDING",
    }


def test_a_portal_without_the_connection_extension_is_named_not_a_gone_client(
    sandbox: SandboxFactory, example_scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    example_scenario["portal"]["connectionExtension"] = False
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    stack = stack_for(running, monkeypatch)
    name, key, dimensions = HEALTHY[ACME]
    company = stack.company(ACME, name)
    with pytest.raises(EngineCallFailed) as failure:
        stack.integration(company, key, dimensions)
    details = failure.value.details
    assert f"{name} ({ACME}): The FabricAI portal at fabricai:portalUrl" in details
    assert "does not offer the connection extension" in details
    assert "no longer exists" not in details and "has no client" not in details
    assert not any(secret in details for secret in SECRETS)
    assert portal_get(running, f"/clients/{company.id}")["id"] == int(company.id)  # the client is there
