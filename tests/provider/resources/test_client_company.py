"""ClientCompany through the engine's path against the sandbox portal (the public API's shapes) over HTTP."""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx
import pytest
from pulumi.runtime import rpc

from harness.engine import Engine, EngineCallFailed, ResourceState
from provider.resources.client_company import ClientCompanyProvider
from provider.retry import RetryPolicy
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import business_ids
from tests.support.erp_stack import (
    PORTAL_KEY,
    Stack,
    company_inputs,
    engine_config,
    fresh_process,
)
from tests.support.fault_trigger import FaultTrigger
from tests.support.intercept import Intercept

ACME = ("2925630-9", "Öljy-Äijät Oy")
# The example scenario's teams, in order: ids 1 and 2.
TEAMS = {"Team North": 1, "Team South": 2}


def portal(stack: Stack | Any) -> httpx.Client:
    running = stack.running if isinstance(stack, Stack) else stack
    return httpx.Client(
        base_url=running.service_url("portal"), headers={"Authorization": f"Bearer {PORTAL_KEY}"}
    )


def record_of(stack: Stack, client_id: str | int) -> dict[str, Any]:
    with portal(stack) as client:
        data: dict[str, Any] = client.get(f"/clients/{client_id}").json()["data"]
    return data


def new_run(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A later `pulumi` command: a new provider process."""
    fresh_process()
    return Engine(engine_config(stack.running))


def list_requests(stack: Stack) -> int:
    """GET /clients requests so far (the path also counts each registration's POST)."""
    stats = stack.stats()
    posts = stats["services"]["portal"].get("clientsCreated", 0)
    return int(stats["requests"]["portal"]["byPath"].get("/portal/clients", 0)) - int(posts)


def test_create_registers_in_the_real_shape(stack: Stack) -> None:
    state = stack.company(
        *ACME,
        erp="procountor",
        process="alternative-with-circulation",
        vat={"mode": "partial", "deduction_percent": 40},
        teams=["Team North"],
        tags={"owner": "Anna"},
    )
    assert state.id == str(int(state.outputs["portal_id"]))  # ints come back as floats
    record = record_of(stack, state.id)
    assert (record["businessId"], record["country"], record["system"]) == ("FI29256309", "FI", "procountor")
    assert record["status"] == "ACTIVE"
    assert record["overrides"] == {"vatDeductionPercent": 40}
    assert record["teams"] == [TEAMS["Team North"]]
    tags = record["tags"]
    assert tags["owner"] == "Anna" and tags["process"] == "alternative-with-circulation"
    assert (
        tags["managedBy"] == "fabricai-roster" and tags["rosterRegistration"] == state.outputs["registration"]
    )
    assert state.outputs["vat_number"] == "FI29256309"
    assert (state.outputs["status"], state.outputs["training"]) == ("ACTIVE", "CONNECTING")
    assert state.outputs["adopted"] is False
    assert state.outputs["tags"] == {"owner": "Anna"}  # the provider's own tags are not the roster's


@pytest.mark.parametrize(
    ("vat", "overrides"),
    [
        ({"mode": "standard"}, None),
        ({"mode": "exempt"}, {"vatDeductionPercent": 0, "vatStatus": "vat_4"}),
        ({"mode": "partial", "deduction_percent": 24}, {"vatDeductionPercent": 24}),
    ],
)
def test_vat_maps_to_overrides(stack: Stack, vat: dict[str, Any], overrides: dict[str, Any] | None) -> None:
    state = stack.company(*ACME, vat=vat)
    assert record_of(stack, state.id).get("overrides") == overrides


def test_business_id_is_normalised_and_a_bad_one_fails_check(stack: Stack) -> None:
    state = stack.company("FI29256309", ACME[1])
    assert state.outputs["business_id"] == "2925630-9"
    with pytest.raises(EngineCallFailed) as failure:
        stack.company("2925630-8", ACME[1])
    assert "check digit should be 9" in failure.value.details


def test_an_unknown_team_is_named_with_the_existing_ones(stack: Stack) -> None:
    with pytest.raises(EngineCallFailed) as failure:
        stack.company(*ACME, teams=["Team North", "Team Wset"])
    details = failure.value.details
    assert "Öljy-Äijät Oy (2925630-9): the FabricAI portal has no team 'Team Wset'" in details
    assert "Existing teams: 'Team North', 'Team South'" in details
    assert stack.stats()["services"]["portal"]["clients"] == 0


def test_update_sends_only_what_changed(stack: Stack) -> None:
    state = stack.company(*ACME, teams=["Team North"])
    inputs = company_inputs(*ACME, teams=["Team North", "Team South"])
    before = stack.stats()["services"]["portal"].get("clientsPatched", 0)
    updated = stack.engine.up(ClientCompanyProvider(), inputs, state)
    assert updated.outputs["teams"] == ["Team North", "Team South"]
    assert stack.stats()["services"]["portal"]["clientsPatched"] == before + 1
    record = record_of(stack, state.id)
    assert sorted(record["teams"]) == [1, 2]
    # The registration's own tags survive the update.
    assert record["tags"]["rosterRegistration"] == state.outputs["registration"]


def test_changing_only_adopt_makes_no_portal_call(stack: Stack) -> None:
    state = stack.company(*ACME)
    before = stack.stats()["requests"]["portal"]["total"]
    updated = stack.engine.up(ClientCompanyProvider(), company_inputs(*ACME, adopt=True), state)
    assert updated.outputs["adopt"] is True
    assert stack.stats()["requests"]["portal"]["total"] == before


def test_a_new_business_id_replaces(stack: Stack) -> None:
    state = stack.company(*ACME)
    outcome = stack.engine.diff(state.id, state.outputs, {**state.inputs, "business_id": "2077474-0"})
    assert outcome.replaces == ["business_id"] and not outcome.delete_before_replace
    replaced = stack.engine.up(ClientCompanyProvider(), company_inputs("2077474-0", ACME[1]), state)
    assert replaced.id != state.id
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_a_move_to_another_erp_replaces_the_record_old_one_first(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    state = stack.company(*ACME, erp="procountor")
    moved = company_inputs(*ACME, erp="netvisor")
    with caplog.at_level("WARNING"):
        outcome = stack.engine.diff(
            state.id, state.outputs, stack.engine.checked(ClientCompanyProvider(), moved)
        )
    assert outcome.replaces == ["erp"] and outcome.delete_before_replace
    assert "models will be trained again" in caplog.text
    replaced = stack.engine.up(ClientCompanyProvider(), moved, state)
    assert replaced.id != state.id
    assert record_of(stack, replaced.id)["system"] == "netvisor"
    services = stack.stats()["services"]["portal"]
    assert services["clients"] == 1 and services.get("duplicateRegistrations", 0) == 0
    with portal(stack) as client:
        assert client.get(f"/clients/{state.id}").status_code == 404


def test_a_state_without_erp_records_it_without_replacing(stack: Stack) -> None:
    """A stack written before `erp` was an input: the first `up` after it must not replace every client."""
    state = stack.company(*ACME)
    legacy = {key: value for key, value in state.outputs.items() if key != "erp"}
    news = stack.engine.checked(ClientCompanyProvider(), company_inputs(*ACME, erp="procountor"))
    outcome = stack.engine.diff(state.id, legacy, news)
    assert outcome.replaces == [] and outcome.has_changes


def test_duplicate_registration_names_the_record_and_adopt(stack: Stack) -> None:
    first = stack.company(*ACME)
    with pytest.raises(EngineCallFailed) as failure:  # another stack of the firm registers the client
        new_engine = Engine(engine_config(stack.running))
        new_engine.up(ClientCompanyProvider(), company_inputs(*ACME, stack="fabricai-roster/other"))
    details = failure.value.details
    assert (
        f"Öljy-Äijät Oy (2925630-9) is already registered in the FabricAI portal as client {first.id}"
        in details
    )
    assert "adopt: true" in details
    assert "Traceback (most recent call last)" not in details.split("AlreadyRegistered")[-1]
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_a_record_this_stack_registered_is_taken_back_not_registered_again(stack: Stack) -> None:
    """A client the stack retained (or registered in a run whose answer was lost) and declares again: the
    record carries the stack's tag, so create takes it back, patched to the roster, with no `adopt`."""
    # 1. The stack registers the client; its state is then forgotten (retain: true, the client removed).
    first = stack.company(*ACME)
    assert first.outputs["registration"]
    # 2. The client is back in the roster, with a new name, in a new provider process: the same record.
    again = Engine(engine_config(stack.running)).up(
        ClientCompanyProvider(), company_inputs(ACME[0], "Renamed Oy")
    )
    assert again.id == first.id and again.outputs["adopted"] is False
    assert again.outputs["name"] == "Renamed Oy"
    portal_state = stack.stats()["services"]["portal"]
    assert portal_state["clients"] == 1 and portal_state["clientsCreated"] == 1
    # 3. Another stack's tag (or none) is still someone else's record: adopt: true is required there.
    with pytest.raises(EngineCallFailed, match="adopt: true"):
        Engine(engine_config(stack.running)).up(
            ClientCompanyProvider(), company_inputs(*ACME, stack="fabricai-roster/prod")
        )


def test_adopting_another_stacks_record_moves_its_tag_to_this_stack(stack: Stack) -> None:
    stack.company(*ACME)
    adopted = Engine(engine_config(stack.running)).up(
        ClientCompanyProvider(), company_inputs(*ACME, stack="fabricai-roster/prod", adopt=True)
    )
    with portal(stack) as client:
        tags = client.get(f"/clients/{adopted.id}").json()["data"]["tags"]
    assert tags["rosterStack"] == "fabricai-roster/prod" and tags["managedBy"] == "fabricai-roster"


def test_adopt_takes_the_record_over_and_reconciles_it(stack: Stack) -> None:
    with portal(stack) as client:
        existing = client.post(
            "/clients",
            json={
                "businessId": "FI29256309",
                "name": "Old name",
                "country": "FI",
                "teams": [2],
                "tags": {"x": "y"},
            },
        )
    existing_id = existing.json()["data"]["id"]
    state = stack.company(*ACME, erp="procountor", adopt=True, process="background", teams=["Team North"])
    assert state.id == str(existing_id)
    assert state.outputs["adopted"] is True
    record = record_of(stack, existing_id)
    assert (record["name"], record["teams"]) == (ACME[1], [1])
    # Only the provider's own tags are written; the record's own tag (someone's, in the portal) stays.
    assert record["tags"] == {
        "x": "y",
        "process": "background",
        "managedBy": "fabricai-roster",
        "rosterStack": "fabricai-roster/test",
    }
    # `system` cannot change in the real API: the record keeps its own, and that is no drift.
    assert record["system"] == "ai-inside" and state.outputs["system"] == "ai-inside"
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_delete_is_idempotent(stack: Stack) -> None:
    state = stack.company(*ACME)
    stack.engine.destroy(state)
    assert stack.stats()["services"]["portal"]["clients"] == 0
    stack.engine.destroy(state)  # already gone: success


def test_a_record_another_stack_has_adopted_since_is_never_removed_by_this_one(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    state = stack.company(*ACME)
    Engine(engine_config(stack.running)).up(
        ClientCompanyProvider(), company_inputs(*ACME, stack="fabricai-roster/prod-2f1c", adopt=True)
    )
    with caplog.at_level("WARNING"):
        stack.engine.destroy(state)  # this stack's client removed from its roster: its delete runs
    record = record_of(stack, state.id)  # still in the portal, the other stack's
    assert record["tags"]["rosterStack"] == "fabricai-roster/prod-2f1c"
    assert "now belongs to another stack" in caplog.text and "fabricai-roster/prod-2f1c" in caplog.text
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_a_record_another_stack_has_adopted_is_let_go_by_refresh_and_never_retagged_by_update(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Stack A's client, adopted since by stack B: A's refresh lets it go (no silent take-back by A's next
    `up`), and an update from A's stale state changes nothing unless A sets `adopt: true` itself."""
    state = stack.company(*ACME)
    other = "fabricai-roster/prod-2f1c"
    Engine(engine_config(stack.running)).up(
        ClientCompanyProvider(), company_inputs(*ACME, stack=other, adopt=True)
    )
    with caplog.at_level("WARNING"):
        assert stack.engine.refresh(state) is None
    assert "now belongs to another stack" in caplog.text and "adopt: true" in caplog.text
    with pytest.raises(EngineCallFailed) as refused:
        stack.engine.up(ClientCompanyProvider(), company_inputs(*ACME, process="background"), state=state)
    assert (
        "now belongs to another stack" in refused.value.details
        and "nothing was changed" in refused.value.details
    )
    assert record_of(stack, state.id)["tags"]["rosterStack"] == other
    taken = stack.engine.up(
        ClientCompanyProvider(), company_inputs(*ACME, process="background", adopt=True), state=state
    )
    assert record_of(stack, taken.id)["tags"]["rosterStack"] == company_inputs(*ACME)["stack"]


def test_refresh_reports_drift_as_inputs_to_restore(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    state = stack.company(*ACME, teams=["Team North"], vat={"mode": "exempt"}, tags={"a": "b"})
    with portal(stack) as client:
        client.patch(
            f"/clients/{state.id}",
            # A whole ModextClient, as the public PATCH takes it; `overrides: {}` clears them.
            json={
                "name": "Renamed Oy",
                "country": "FI",
                "teams": [],
                "overrides": {},
                "status": "INACTIVE",
                "tags": {},
            },
        )
    engine = new_run(stack, monkeypatch)
    refreshed = engine.refresh(state)
    assert refreshed is not None
    assert refreshed.outputs["name"] == "Renamed Oy"
    assert (refreshed.outputs["status"], refreshed.outputs["training"]) == ("INACTIVE", "INACTIVE")
    assert refreshed.inputs["teams"] == [] and refreshed.inputs["vat"]["mode"] == "standard"
    assert refreshed.inputs["tags"] == {} and refreshed.inputs["process"] == "standard"
    # The roster still says otherwise: the next preview shows the change that restores it.
    wanted = company_inputs(*ACME, teams=["Team North"], vat={"mode": "exempt"}, tags={"a": "b"})
    checked, _ = engine.check(ClientCompanyProvider(), wanted)
    assert engine.diff(refreshed.id, refreshed.outputs, checked).has_changes
    restored = engine.up(ClientCompanyProvider(), wanted, refreshed)
    assert (restored.outputs["name"], restored.outputs["teams"]) == (ACME[1], ["Team North"])
    record = record_of(stack, state.id)
    assert record["overrides"]["vatDeductionPercent"] == 0 and record["tags"]["a"] == "b"


def test_refresh_shows_training_progress_from_the_models(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = stack.company(*ACME)
    with portal(stack) as client:
        connect = {"system": "procountor", "erpCompanyId": "101", "credentials": {"apiKey": "FAKE-pc-key-x"}}
        assert client.put(f"/clients/{state.id}/connection", json=connect).status_code == 201
    admin = f"{stack.running.url}/admin/portal/clients/{state.id}/training"
    progress = []
    for status in ("RUNNING", "DEPLOYED", "FAILED"):
        httpx.put(admin, json={"status": status}).raise_for_status()
        refreshed = new_run(stack, monkeypatch).refresh(state)
        assert refreshed is not None
        progress.append(refreshed.outputs["training"])
    assert progress == ["TRAINING", "IN_PRODUCTION", "FAILED"]


def test_refresh_drops_a_record_deleted_behind_our_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = stack.company(*ACME)
    with portal(stack) as client:
        assert client.delete(f"/clients/{state.id}").json() == {"data": {"id": int(state.id)}}
    assert new_run(stack, monkeypatch).refresh(state) is None


def test_update_of_a_record_deleted_behind_our_back_says_how_to_recover(stack: Stack) -> None:
    state = stack.company(*ACME)
    with portal(stack) as client:
        client.delete(f"/clients/{state.id}")
    with pytest.raises(EngineCallFailed) as failure:
        stack.engine.up(ClientCompanyProvider(), company_inputs(*ACME, tags={"a": "b"}), state)
    assert "no longer exists" in failure.value.details
    assert "pulumi refresh" in failure.value.details


def test_a_whole_up_reads_the_client_list_about_once_per_fifty(
    sandbox: SandboxFactory, example_scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """120 records exist; 60 more are registered from the engine's 4 threads in one provider process."""
    existing = business_ids(180)
    example_scenario["portal"]["clients"] = [
        {"businessId": b, "name": f"Vanha {n} Oy"} for n, b in enumerate(existing[:120])
    ]
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    fresh_process()
    stack = Stack(running, Engine(engine_config(running)))
    errors: list[BaseException] = []
    todo = list(enumerate(existing[120:]))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                n, business_id = todo.pop()
            try:
                stack.company(business_id, f"Uusi {n} Oy")
            except BaseException as error:  # noqa: BLE001 - asserted below
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert running.admin.stats()["services"]["portal"]["clients"] == 180
    # 120 records: pages of 50, 50 and a short one of 20; the 60 registrations add to that listing.
    assert list_requests(stack) == 3


def test_a_lost_registration_answer_is_reconciled_never_duplicated(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropped answers after the portal stored the record: the registration tag finds it again."""
    fresh_process(retry=RetryPolicy(max_attempts=24, initial_wait=0.001, max_wait=0.002))
    stack.running.admin.set_faults("portal", dropRate=0.4, seed=11)
    states = [stack.company(business_id, f"Asiakas {n} Oy") for n, business_id in enumerate(business_ids(12))]
    assert stack.stats()["faults"]["portal"]["injected"]["drop"] > 0
    stack.running.admin.clear_faults("portal")
    services = stack.stats()["services"]["portal"]
    assert services["clients"] == 12 and services.get("duplicateRegistrations", 0) == 0
    for state in states:
        assert record_of(stack, state.id)["tags"]["rosterRegistration"] == state.outputs["registration"]


def test_a_lost_answer_never_takes_over_a_record_registered_before_us(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record that existed before our first POST is someone else's, whatever faults the calls meet."""
    with portal(stack) as client:
        answer = client.post(
            "/clients", json={"businessId": "FI29256309", "name": "Hand-made Oy", "country": "FI"}
        )
    existing = answer.json()["data"]
    # Enough attempts that the look-ups themselves never run out under 50 % errors (0.5^24).
    patient = RetryPolicy(max_attempts=24, initial_wait=0.001, max_wait=0.002)
    for seed in range(6):
        fresh_process(retry=patient)
        stack.running.admin.set_faults("portal", errorRate=0.5, seed=seed)
        with pytest.raises(EngineCallFailed) as failure:
            Engine(engine_config(stack.running)).up(ClientCompanyProvider(), company_inputs(*ACME))
        assert (
            f"already registered in the FabricAI portal as client {existing['id']}" in failure.value.details
        )
        assert "adopt: true" in failure.value.details
    stack.running.admin.clear_faults("portal")
    assert record_of(stack, existing["id"]) == existing
    assert stack.stats()["services"]["portal"]["clients"] == 1


def test_two_records_of_one_business_id_are_never_picked_from(stack: Stack) -> None:
    with portal(stack) as client:
        ids = [
            client.post(
                "/clients", json={"businessId": "FI29256309", "name": "Kaksi", "country": "FI"}
            ).json()["data"]["id"]
            for _ in range(2)
        ]
    with pytest.raises(EngineCallFailed) as failure:
        stack.company(*ACME, adopt=True)
    details = failure.value.details
    assert f"holds 2 records of business ID 2925630-9 (clients {ids[0]}, {ids[1]})" in details
    assert "remove the extra records in the portal" in details
    assert stack.stats()["services"]["portal"]["clients"] == 2


def test_an_error_names_the_client_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record to adopt is removed by someone else between the look-up and the adoption."""
    with portal(stack) as client:
        answer = client.post(
            "/clients", json={"businessId": "FI29256309", "name": "Old name", "country": "FI"}
        )
    existing_id = answer.json()["data"]["id"]
    reads: list[str] = []

    def removed_first(request: httpx.Request) -> None:
        if request.method == "GET" and re.search(r"/portal/clients/\d+$", request.url.path):
            reads.append(request.url.path)
            if len(reads) == 2:  # the first read confirms the record found in the list; then it goes
                with portal(stack) as client:
                    client.delete(f"/clients/{existing_id}")

    fresh_process(transport=Intercept(before=removed_first))
    with pytest.raises(EngineCallFailed) as failure:
        stack.company(*ACME, adopt=True)
    details = failure.value.details
    assert f"portal client {existing_id} disappeared while it was being adopted" in details
    assert details.count("Öljy-Äijät Oy (2925630-9)") == 1


def test_refresh_state_round_trip(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh right after create changes nothing (no false drift from the provider's own tags), and
    the roster's order of teams is no change either."""
    roster = company_inputs(
        *ACME, erp="procountor", teams=["Team South", "Team North"], vat={"mode": "exempt"}, tags={"k": "v"}
    )
    state = stack.engine.up(ClientCompanyProvider(), roster)
    engine = new_run(stack, monkeypatch)
    refreshed = engine.refresh(state)
    assert isinstance(refreshed, ResourceState)
    changed = {key for key in state.inputs if state.inputs[key] != refreshed.inputs.get(key)}
    assert changed == set()
    checked = engine.checked(ClientCompanyProvider(), roster)
    assert not engine.diff(refreshed.id, refreshed.outputs, checked).has_changes


def test_a_registration_lost_with_its_look_ups_says_it_may_have_happened_and_is_taken_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The POST lands but its answer is lost, and every look-up after it fails too: the run's message must
    not say nothing happened, and the next run (a new process) takes the record back, never a second one."""
    # 1. From the POST on, every portal answer is dropped.
    trigger = FaultTrigger(stack.running.admin)
    trigger.arm("POST", "/portal/clients", dropRate=1.0, seed=3)
    fresh_process(transport=trigger)
    with pytest.raises(EngineCallFailed) as failure:
        stack.company(*ACME)
    stack.running.admin.clear_faults("portal")
    message = str(failure.value.details).strip().splitlines()[-1]
    assert "may have registered business ID 2925630-9" in message
    assert "rosterStack: fabricai-roster/test" in message
    assert "nothing was changed" not in message.lower()
    assert stack.stats()["services"]["portal"]["clients"] == 1  # it did land
    # 2. The next `pulumi up`: the stack's own record, taken back.
    state = new_run(stack, monkeypatch).up(ClientCompanyProvider(), company_inputs(*ACME))
    portal_state = stack.stats()["services"]["portal"]
    assert portal_state["clients"] == 1 and portal_state["clientsCreated"] == 1
    assert state.outputs["adopted"] is False and state.outputs["business_id"] == ACME[0]


def test_a_new_stack_identity_re_tags_the_record_and_keeps_its_other_tags(stack: Stack) -> None:
    """A record of an earlier version carries `project/stack`: the identity that replaces it is an update
    that writes only the provider's own tags; a tag someone set in the portal stays, and is no drift."""
    state = stack.company(*ACME, tags={"a": "b"})
    with portal(stack) as client:
        record = record_of(stack, state.id)
        tags = {**record["tags"], "costCentre": "42"}
        # The public PATCH takes a whole ModextClient: the record with its tags edited.
        assert client.patch(f"/clients/{state.id}", json={**record, "tags": tags}).status_code == 200
    identity = "test-0123456789abcdef01234567"
    wanted = company_inputs(*ACME, tags={"a": "b"}, stack=identity)
    checked = stack.engine.checked(ClientCompanyProvider(), wanted)
    assert stack.engine.diff(state.id, state.outputs, checked).has_changes
    retagged = stack.engine.up(ClientCompanyProvider(), wanted, state)
    record = record_of(stack, state.id)
    assert record["tags"]["rosterStack"] == identity
    assert record["tags"]["costCentre"] == "42" and record["tags"]["a"] == "b"
    assert record["tags"]["rosterRegistration"] == state.outputs["registration"]
    # Unchanged, or an identity not known yet (a preview), is no change.
    assert not stack.engine.diff(state.id, retagged.outputs, checked).has_changes
    unknown = {**checked, "stack": rpc.UNKNOWN}
    assert not stack.engine.diff(state.id, retagged.outputs, unknown).has_changes
    refreshed = stack.engine.refresh(retagged)
    assert refreshed is not None and refreshed.inputs["tags"] == {"a": "b"}
