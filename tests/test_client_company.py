"""ClientCompany through the engine's path against the sandbox portal over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, ResourceState
from provider.portal import ClientRecord, PortalClient
from provider.resources.client_company import ClientCompanyProvider
from provider.retry import RetryPolicy
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import business_ids
from tests.support.procountor_stack import (
    PORTAL_KEY,
    Stack,
    company_inputs,
    engine_config,
    fresh_process,
    stack,
)

__all__ = ["stack"]

ACME = ("2925630-9", "Öljy-Äijät Oy")


def portal(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.running.service_url("portal"), headers={"Authorization": f"Bearer {PORTAL_KEY}"}
    )


def new_run(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A later `pulumi` command: a new provider process."""
    fresh_process(monkeypatch)
    return Engine(engine_config(stack.running))


def test_create_registers_with_every_setting(stack: Stack) -> None:
    state = stack.company(
        *ACME,
        process="alternative-with-circulation",
        vat={"mode": "partial", "deduction_percent": 40},
        dimensions=["Kustannuspaikka"],
        favorite=True,
        teams=["Team North"],
        tags={"owner": "Anna"},
    )
    assert state.id == str(int(state.outputs["portal_id"]))  # ints come back as floats
    with portal(stack) as client:
        record = client.get(f"/clients/{state.id}").json()["data"]
    assert record["process"] == "alternative-with-circulation"
    assert record["vat"] == {"mode": "partial", "deductionPercent": 40}
    assert (record["favorite"], record["teams"], record["tags"]) == (True, ["Team North"], {"owner": "Anna"})
    assert state.outputs["vat_number"] == "FI29256309"
    assert state.outputs["status"] == "PENDING_CONNECTION"
    assert state.outputs["adopted"] is False


def test_business_id_is_normalised_and_a_bad_one_fails_check(stack: Stack) -> None:
    state = stack.company("FI29256309", ACME[1])
    assert state.outputs["business_id"] == "2925630-9"
    with pytest.raises(EngineCallFailed) as failure:
        stack.company("2925630-8", ACME[1])
    assert "check digit should be 9" in failure.value.details


def test_update_sends_only_what_changed(stack: Stack) -> None:
    state = stack.company(*ACME, teams=["Team North"])
    inputs = company_inputs(*ACME, teams=["Team North"], favorite=True)
    updated = stack.engine.up(ClientCompanyProvider(), inputs, state)
    assert updated.outputs["favorite"] is True
    by_path = stack.stats()["requests"]["portal"]["byPath"]
    assert by_path[f"/portal/clients/{state.id}"] == 1  # one PATCH
    with portal(stack) as client:
        assert client.get(f"/clients/{state.id}").json()["data"]["favorite"] is True


def test_changing_only_adopt_makes_no_portal_call(stack: Stack) -> None:
    state = stack.company(*ACME)
    before = stack.stats()["requests"]["portal"]["total"]
    updated = stack.engine.up(ClientCompanyProvider(), company_inputs(*ACME, adopt=True), state)
    assert updated.outputs["adopt"] is True
    assert stack.stats()["requests"]["portal"]["total"] == before


def test_a_new_business_id_replaces(stack: Stack) -> None:
    state = stack.company(*ACME)
    outcome = stack.engine.diff(state.id, state.outputs, {**state.inputs, "business_id": "2077474-0"})
    assert outcome.replaces == ["business_id"]
    replaced = stack.engine.up(ClientCompanyProvider(), company_inputs("2077474-0", ACME[1]), state)
    assert replaced.id != state.id
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_duplicate_registration_names_the_record_and_adopt(stack: Stack) -> None:
    first = stack.company(*ACME)
    with pytest.raises(EngineCallFailed) as failure:
        stack.company(*ACME)
    details = failure.value.details
    assert (
        f"Öljy-Äijät Oy (2925630-9) is already registered in the FabricAI portal as client {first.id}"
        in details
    )
    assert "adopt: true" in details
    assert "Traceback (most recent call last)" not in details.split("AlreadyRegistered")[-1]


def test_adopt_takes_the_record_over_and_reconciles_it(stack: Stack) -> None:
    with portal(stack) as client:
        existing = client.post("/clients", json={"businessId": ACME[0], "name": "Old name", "favorite": True})
    existing_id = existing.json()["data"]["id"]
    state = stack.company(*ACME, adopt=True, process="background", favorite=False)
    assert state.id == str(existing_id)
    assert state.outputs["adopted"] is True
    with portal(stack) as client:
        record = client.get(f"/clients/{existing_id}").json()["data"]
    assert (record["name"], record["process"], record["favorite"]) == (ACME[1], "background", False)
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_delete_is_idempotent(stack: Stack) -> None:
    state = stack.company(*ACME)
    stack.engine.destroy(state)
    assert stack.stats()["services"]["portal"]["clients"] == 0
    stack.engine.destroy(state)  # already gone: success


def test_refresh_reports_drift_as_inputs_to_restore(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    state = stack.company(*ACME, teams=["Team North"], vat={"mode": "exempt"})
    with portal(stack) as client:
        client.patch(
            f"/clients/{state.id}",
            json={"name": "Renamed Oy", "teams": [], "vat": {"mode": "standard"}, "status": "INACTIVE"},
        )
    engine = new_run(stack, monkeypatch)
    refreshed = engine.refresh(state)
    assert refreshed is not None
    assert refreshed.outputs["name"] == "Renamed Oy"
    assert refreshed.outputs["status"] == "INACTIVE"
    assert refreshed.inputs["teams"] == [] and refreshed.inputs["vat"]["mode"] == "standard"
    # The roster still says otherwise: the next preview shows the change that restores it.
    wanted = company_inputs(*ACME, teams=["Team North"], vat={"mode": "exempt"})
    checked, _ = engine.check(ClientCompanyProvider(), wanted)
    assert engine.diff(refreshed.id, refreshed.outputs, checked).has_changes
    restored = engine.up(ClientCompanyProvider(), wanted, refreshed)
    assert (restored.outputs["name"], restored.outputs["teams"]) == (ACME[1], ["Team North"])


def test_refresh_drops_a_record_deleted_behind_our_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = stack.company(*ACME)
    with portal(stack) as client:
        client.delete(f"/clients/{state.id}")
    assert new_run(stack, monkeypatch).refresh(state) is None


def test_refresh_of_many_clients_costs_a_page_per_fifty(
    sandbox: SandboxFactory, example_scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = [{"businessId": b, "name": f"Asiakas {n} Oy"} for n, b in enumerate(business_ids(119))]
    example_scenario["portal"]["clients"] = seeded
    running = sandbox(example_scenario)
    fresh_process(monkeypatch)
    first = Stack(running, Engine(engine_config(running))).company(*ACME)
    states = [first] + [
        ResourceState("ClientCompany", str(n), {}, {**first.outputs, "name": client["name"]})
        for n, client in enumerate(seeded, start=1)
    ]
    engine = Engine(engine_config(running))
    fresh_process(monkeypatch)
    before = running.admin.stats()["requests"]["portal"]["total"]
    assert all(engine.refresh(state) is not None for state in states)
    assert running.admin.stats()["requests"]["portal"]["total"] - before == 3  # 120 clients: 3 pages of 50


def test_update_of_a_record_deleted_behind_our_back_says_how_to_recover(stack: Stack) -> None:
    state = stack.company(*ACME)
    with portal(stack) as client:
        client.delete(f"/clients/{state.id}")
    with pytest.raises(EngineCallFailed) as failure:
        stack.engine.up(ClientCompanyProvider(), company_inputs(*ACME, favorite=True), state)
    assert "no longer exists" in failure.value.details
    assert "pulumi refresh" in failure.value.details


def test_a_lost_answer_never_takes_over_a_record_registered_before_us(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that existed before our first POST is someone else's, whatever faults the POST meets."""
    with portal(stack) as client:
        answer = client.post("/clients", json={"businessId": ACME[0], "name": "Hand-made Oy"})
    existing = answer.json()["data"]
    # Enough attempts that the look-ups themselves never run out under 50 % errors (0.5^24).
    patient = RetryPolicy(max_attempts=24, initial_wait=0.001, max_wait=0.002)
    monkeypatch.setattr(PortalClient, "default_retry", patient)
    for seed in range(8):
        stack.running.admin.set_faults("portal", errorRate=0.5, seed=seed)
        with pytest.raises(EngineCallFailed) as failure:
            stack.company(*ACME)
        assert (
            f"already registered in the FabricAI portal as client {existing['id']}" in failure.value.details
        )
        assert "adopt: true" in failure.value.details
    stack.running.admin.clear_faults("portal")
    with portal(stack) as client:
        assert client.get(f"/clients/{existing['id']}").json()["data"] == existing
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_an_error_names_the_client_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record to adopt is removed by someone else between the look-up and the adoption."""
    with portal(stack) as client:
        answer = client.post("/clients", json={"businessId": ACME[0], "name": "Old name"})
    existing_id = answer.json()["data"]["id"]
    read = PortalClient.get_client

    def removed_first(portal_client: PortalClient, client_id: int) -> ClientRecord | None:
        with portal(stack) as client:
            client.delete(f"/clients/{client_id}")
        return read(portal_client, client_id)

    monkeypatch.setattr(PortalClient, "get_client", removed_first)
    with pytest.raises(EngineCallFailed) as failure:
        stack.company(*ACME, adopt=True)
    details = failure.value.details
    assert f"portal client {existing_id} disappeared while it was being adopted" in details
    assert details.count("Öljy-Äijät Oy (2925630-9)") == 1
