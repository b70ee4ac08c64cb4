"""Deregistration is deliberate: a roster mistake never deregisters a client.

The guard's rules on their own (``provider.roster.deregistration``), then the real program through the
engine stand-in (harness/) against the sandbox over HTTP: the program reads its own stack's last state (its
ClientCompanies) through the engine's ``readStackResourceOutputs``, and a change that would deregister many
clients (leaving the roster, or moving to another ERP) stops before anything is declared; ``retain: true``
forgets a client without deregistering it. A failed first ``up`` or lost outputs do not switch it off.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.driver import RosterDriver
from harness.engine import Secret
from provider.errors import DeregistrationUnconfirmed, RosterInvalid
from provider.roster import parse_roster
from provider.roster.deregistration import (
    HeldClient,
    StackRecord,
    check,
    leaving,
    notice,
    roster_record,
    stale_confirmations,
)
from sandbox.server import RunningSandbox
from scripts.example_config import PROGRAM, demo_secrets, stack_config
from tests.conftest import SandboxFactory

PROTECTED = "2358253-3"  # protect: true in examples/Pulumi.sandbox.yaml
THREE = ["2925630-9", "2077474-0", "1572860-0"]  # two Procountor clients and a Netvisor one


# --- the rules ------------------------------------------------------------------------------------------


def entry(business_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"businessId": business_id, "name": name, "erp": "procountor", **extra}


NAMES = {"2925630-9": "Öljy-Äijät Oy", "2077474-0": "Kahvila Kuppi Oy", "0174592-8": "Pelti-Pete Oy"}


def roster_of(
    business_ids: list[str],
    erp: str = "procountor",
    fields: dict[str, dict[str, Any]] | None = None,
    **keys: Any,
) -> Any:
    """A roster of these clients on ``erp``; ``fields`` adds roster fields per business ID."""
    return parse_roster(
        [
            {**entry(business_id, NAMES[business_id]), "erp": erp, **(fields or {}).get(business_id, {})}
            | ({"netvisorCredentials": "firm"} if erp == "netvisor" else {})
            for business_id in business_ids
        ],
        {business_id: f"FAKE-key-{business_id}" for business_id in business_ids}
        if erp == "procountor"
        else {},
        {"firm": {"customerId": "c", "customerKey": "FAKE-k"}} if erp == "netvisor" else None,
        allow_empty=True,
        **keys,
    )


COMPANY = "pulumi-python:dynamic/fabricai:ClientCompany"
STACK_URN = "urn:pulumi:sandbox::fabricai-roster::pulumi:pulumi:Stack::fabricai-roster-sandbox"


def company_urn(business_id: str) -> str:
    return f"urn:pulumi:sandbox::fabricai-roster::fabricai:roster:Client${COMPANY}::{business_id}-company"


def state_of(business_ids: list[str], *, outputs: bool = True, **flags: set[str]) -> dict[str, Any]:
    """``readStackResourceOutputs``' answer for a stack holding these clients' ClientCompanies (each one
    retained or protected in ``flags`` records it, as this version's companies do)."""
    kept = set().union(*flags.values()) if flags else set()
    state: dict[str, Any] = {
        company_urn(business_id): {
            "type": COMPANY,
            "outputs": {
                "business_id": business_id,
                "name": NAMES[business_id],
                "erp": "procountor",
                "kept_on_removal": business_id in kept,
            },
        }
        for business_id in business_ids
    }
    record = {
        business_id: {"name": NAMES[business_id], **{flag: business_id in on for flag, on in flags.items()}}
        for business_id in business_ids
    }
    state[STACK_URN] = {
        "type": "pulumi:pulumi:Stack",
        "outputs": {"rosterClients": record} if outputs else {},
    }
    return state


def previous_of(
    business_ids: list[str], retain: frozenset[str] = frozenset(), protect: frozenset[str] = frozenset()
) -> StackRecord:
    return StackRecord.from_state(state_of(business_ids, retain=set(retain), protect=set(protect)))


def test_a_first_run_has_nothing_to_compare_with() -> None:
    empty = StackRecord.from_state({})
    assert empty.clients == {} and empty.stack_id is None
    check(empty, roster_of([]))  # passes


def test_the_state_s_client_companies_are_the_record_whatever_the_outputs_say() -> None:
    # A failed first `up` leaves ClientCompanies in state and no stack outputs: each of them counts.
    record = StackRecord.from_state(state_of(list(NAMES), outputs=False))
    assert set(record.clients) == set(NAMES)
    with pytest.raises(DeregistrationUnconfirmed):
        check(record, roster_of([]))
    # Outputs that list clients the state does not hold (or none) change nothing: the state decides.
    misleading = state_of(["0174592-8"])
    misleading[STACK_URN]["outputs"]["clients"] = {business_id: {} for business_id in NAMES}
    check(StackRecord.from_state(misleading), roster_of([]))
    # The identity is the StackIdentity resource's.
    identity = {"type": "pulumi-python:dynamic/fabricai:StackIdentity", "outputs": {"stack_id": "x-1"}}
    assert StackRecord.from_state({"urn:identity": identity}).stack_id == "x-1"


def test_an_erp_move_is_a_deregistration() -> None:
    every = list(NAMES)
    check(previous_of(every), roster_of(every))  # nothing moves
    moving = roster_of(every, erp="netvisor")
    with pytest.raises(DeregistrationUnconfirmed) as refused:
        check(previous_of(every), moving)
    message = str(refused.value)
    assert (
        "would deregister 3 clients from the FabricAI portal at once (each moving to another ERP)" in message
    )
    assert "Pelti-Pete Oy (0174592-8): moves from procountor to netvisor" in message
    assert "models are trained again" in message
    assert "roster:confirmDeregistration: [0174592-8, 2077474-0, 2925630-9]" in message
    # One move is within the default allowance, and the run says which client loses its models.
    one = roster_of(every[:1], erp="netvisor")
    record = previous_of(every[:1])
    check(record, one)
    said = notice(record, one)
    assert said is not None and "Öljy-Äijät Oy (2925630-9): moves from procountor to netvisor" in said
    # A client retained or protected by the last run and by this one: its move removes nothing the portal
    # loses (the engine refuses to replace a protected resource), so it does not count.
    kept_still = roster_of(
        every, erp="netvisor", fields={every[0]: {"retain": True}, every[1]: {"protect": True}}
    )
    check(previous_of(every, retain=frozenset(every[:1]), protect=frozenset(every[1:2])), kept_still)


def test_an_erp_move_in_the_edit_that_turns_protect_off_counts() -> None:
    """protect: false and a new erp in one edit: the engine replaces the client (it refuses only a resource
    protected before and after), so its record is removed; the last run's protect does not keep it."""
    every = list(NAMES)
    was_protected = previous_of(every, protect=frozenset(every))
    with pytest.raises(DeregistrationUnconfirmed) as refused:
        check(was_protected, roster_of(every, erp="netvisor"))
    assert "would deregister 3 clients" in str(refused.value)
    # Leaving the roster outright while protected by the last run: still no delete (the engine refuses it).
    check(was_protected, roster_of([]))


def test_a_state_written_before_erp_was_an_input_moves_nothing() -> None:
    state = state_of(list(NAMES))
    for entry in state.values():
        entry["outputs"].pop("erp", None)
    check(StackRecord.from_state(state), roster_of(list(NAMES), erp="netvisor"))


def test_held_clients_are_read_tolerantly() -> None:
    state = state_of(["2925630-9"])
    state["urn:x"] = {"type": COMPANY, "outputs": {"business_id": 7}}  # malformed: ignored
    state["urn:y"] = "not a mapping"
    legacy = "urn:pulumi:sandbox::fabricai-roster::pulumi-python:dynamic:Resource::2077474-0-company"
    state[legacy] = {"type": "pulumi-python:dynamic:Resource", "outputs": {"business_id": "2077474-0"}}
    record = StackRecord.from_state(state)
    assert record.clients == {
        "2925630-9": HeldClient("Öljy-Äijät Oy", "procountor"),
        "2077474-0": HeldClient("", None),
    }


def test_one_client_at_a_time_passes_and_two_at_once_are_refused_by_name_and_business_id() -> None:
    every = list(NAMES)
    check(previous_of(every), roster_of(every[1:]))  # one leaves: the normal case
    with pytest.raises(DeregistrationUnconfirmed) as refused:
        check(previous_of(every), roster_of(every[2:]))
    assert refused.value.leaving == [("2077474-0", "Kahvila Kuppi Oy"), ("2925630-9", "Öljy-Äijät Oy")]
    message = str(refused.value)
    assert "Kahvila Kuppi Oy (2077474-0)" in message and "Öljy-Äijät Oy (2925630-9)" in message
    assert "Pelti-Pete Oy" not in message
    assert "roster:confirmDeregistration: [2077474-0, 2925630-9]" in message
    assert "pulumi config set --path 'roster:confirmDeregistration[1]' 2925630-9" in message
    assert "Nothing was changed" in message


def test_confirming_every_leaving_client_lets_them_go_and_a_partial_confirmation_does_not() -> None:
    every = list(NAMES)
    check(previous_of(every), roster_of([], confirm_deregistration=["FI29256309", "2077474-0", "0174592-8"]))
    with pytest.raises(DeregistrationUnconfirmed):
        check(previous_of(every), roster_of([], confirm_deregistration=["2925630-9", "2077474-0"]))


def test_a_confirmation_left_from_an_earlier_run_is_reported() -> None:
    every = list(NAMES)
    confirmed = roster_of(every[2:], confirm_deregistration=["2925630-9", "2077474-0"])
    assert stale_confirmations(previous_of(every), confirmed) is None
    warning = stale_confirmations(previous_of(every[2:]), confirmed)
    assert warning is not None
    assert "lists 2077474-0, 2925630-9, which this update does not deregister" in warning
    assert "pulumi config rm roster:confirmDeregistration" in warning


def test_the_limit_is_the_roster_s_own_and_zero_confirms_even_one() -> None:
    every = list(NAMES)
    check(previous_of(every), roster_of([], max_deregistrations=3))
    with pytest.raises(DeregistrationUnconfirmed) as refused:
        check(previous_of(every), roster_of(every[1:], max_deregistrations=0))
    assert "allows no client" in str(refused.value)


def test_retained_and_protected_clients_never_count_as_leaving() -> None:
    every = list(NAMES)
    previous = previous_of(every, retain=frozenset({"2925630-9"}), protect=frozenset({"2077474-0"}))
    assert leaving(previous, roster_of([])) == [("0174592-8", "Pelti-Pete Oy")]
    check(previous, roster_of([]))


def test_a_keep_the_company_itself_does_not_record_is_no_keep() -> None:
    """`pulumi up --target` (of anything but the client) writes the stack output, with this run's retain,
    but leaves the ClientCompany as it was, retainOnDelete included: the company's own flag decides."""
    every = list(NAMES)
    state = state_of(every, retain=set(every))  # the stack output says all three are retained
    for business_id in every:
        state[company_urn(business_id)]["outputs"]["kept_on_removal"] = business_id == every[0]
    record = StackRecord.from_state(state)
    assert leaving(record, roster_of([])) == sorted((b, NAMES[b]) for b in every[1:])
    with pytest.raises(DeregistrationUnconfirmed):
        check(record, roster_of([]))
    # A state from before the company recorded it: not kept (the guard asks once); the first `up` records it.
    for business_id in every:
        del state[company_urn(business_id)]["outputs"]["kept_on_removal"]
    assert len(leaving(StackRecord.from_state(state), roster_of([]))) == 3


def test_a_stack_from_before_the_guard_is_guarded_by_business_id() -> None:
    # A state without names or rosterClients: every client counts, named by its business ID.
    state = state_of(list(NAMES), outputs=False)
    for entry in state.values():
        entry["outputs"].pop("name", None)
    with pytest.raises(DeregistrationUnconfirmed) as refused:
        check(StackRecord.from_state(state), roster_of([]))
    assert "  - 0174592-8: leaves the roster\n" in str(refused.value)


def test_names_from_the_state_are_shown_on_one_line() -> None:
    state = state_of(["2925630-9", "2077474-0"])
    state[company_urn("2925630-9")]["outputs"]["name"] = "A\n  - B"
    with pytest.raises(DeregistrationUnconfirmed) as refused:
        check(StackRecord.from_state(state), roster_of([]))
    assert "A\\n  - B (2925630-9)" in str(refused.value)


def test_the_record_the_next_run_reads() -> None:
    roster = parse_roster(
        [
            entry("2925630-9", "Öljy-Äijät Oy", retain=True),
            entry("2077474-0", "Kahvila Kuppi Oy", protect=True),
        ],
        {"2925630-9": "FAKE-a", "2077474-0": "FAKE-b"},
        None,
    )
    assert roster_record(roster) == {
        "2925630-9": {"name": "Öljy-Äijät Oy", "retain": True, "protect": False},
        "2077474-0": {"name": "Kahvila Kuppi Oy", "retain": False, "protect": True},
    }


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"max_deregistrations": -1}, "roster:maxDeregistrations: expected a whole number from 0"),
        ({"max_deregistrations": True}, "roster:maxDeregistrations: expected a whole number from 0"),
        ({"max_deregistrations": "2"}, "roster:maxDeregistrations: expected a whole number from 0"),
        ({"confirm_deregistration": "2925630-9"}, "roster:confirmDeregistration: expected a list"),
        ({"confirm_deregistration": ["2925630-8"]}, "roster:confirmDeregistration[0]: not a business ID"),
        ({"confirm_deregistration": [2925630]}, "roster:confirmDeregistration[0]: not a business ID"),
        ({"confirm_deregistration": ["0000000-0"]}, "roster:confirmDeregistration[0]: not a business ID"),
    ],
)
def test_the_guard_s_keys_are_validated_with_the_roster(keys: dict[str, Any], words: str) -> None:
    with pytest.raises(RosterInvalid) as caught:
        roster_of(["2925630-9"], **keys)
    assert words in str(caught.value)


def test_retain_is_a_roster_field_and_is_no_string() -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster([entry("2925630-9", "Öljy-Äijät Oy", retain="yes")], {"2925630-9": "FAKE-a"}, None)
    assert "retain: expected true or false" in str(caught.value)


# --- the program through the engine stand-in -------------------------------------------------------------


class Portal:
    """The sandbox portal's client records, read through its API."""

    def __init__(self, running: RunningSandbox) -> None:
        self.running = running
        key = demo_secrets("sandbox")["fabricai:apiKey"]
        self.http = httpx.Client(
            base_url=running.service_url("portal"), headers={"Authorization": f"Bearer {key}"}, timeout=10
        )

    def client(self, business_id: str) -> dict[str, Any] | None:
        wanted, page = "FI" + business_id.replace("-", ""), 1
        while True:
            response = self.http.get("/clients", params={"page": page, "limit": 50})
            response.raise_for_status()
            items: list[dict[str, Any]] = response.json()["data"]
            found = [item for item in items if item["businessId"] == wanted]
            if found or len(items) < 50:
                return found[0] if found else None
            page += 1

    def connection(self, business_id: str) -> dict[str, Any] | None:
        client = self.client(business_id)
        return None if client is None else self.running.admin.portal_connection(int(client["id"]))


def without(config: dict[str, Any], leaving: list[str], **extra: Any) -> dict[str, Any]:
    """``config`` with the clients ``leaving`` (and their API keys) taken out of the roster."""
    keys = config["roster:procountorApiKeys"].value
    return {
        **config,
        "roster:clients": [c for c in config["roster:clients"] if c["businessId"] not in leaving],
        "roster:procountorApiKeys": Secret({k: v for k, v in keys.items() if k not in leaving}),
        **extra,
    }


def deployed(running: RunningSandbox) -> tuple[RosterDriver, dict[str, Any]]:
    config = stack_config("sandbox", running.url, Secret)
    driver = RosterDriver(config, program=PROGRAM)
    report = driver.up()
    assert report.succeeded, report.program_errors or report.failures
    return driver, config


def test_three_clients_leaving_at_once_are_refused_until_confirmed(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    driver, config = deployed(running)
    state, outputs = dict(driver.state), dict(driver.outputs)
    # The guard reads the state through an invoke: nothing of that read is kept in state.
    assert not {entry.type for entry in state.values()} & {"pulumi:pulumi:StackReference"}

    for command in (driver.preview, driver.up):
        report = command(without(config, THREE))
        (message,) = report.program_errors
        for business_id in THREE:
            name = next(c["name"] for c in config["roster:clients"] if c["businessId"] == business_id)
            assert f"{name} ({business_id})" in message
        assert f"roster:confirmDeregistration: [{', '.join(sorted(THREE))}]" in message
        assert not report.of_kind("delete", "create", "update", "replace")
        assert "Traceback" not in message
    assert driver.state.keys() == state.keys() and driver.outputs == outputs
    for business_id in THREE:
        assert portal.connection(business_id) is not None, business_id

    # Confirmed by business ID (any accepted form): they go.
    confirmed = without(config, THREE, **{"roster:confirmDeregistration": ["FI29256309", *THREE[1:]]})
    report = driver.up(confirmed)
    assert not report.program_errors
    assert {f"{business_id}-company" for business_id in THREE} <= report.names("delete")
    for business_id in THREE:
        assert portal.client(business_id) is None, business_id
    assert set(driver.outputs["clients"]) == {c["businessId"] for c in confirmed["roster:clients"]}


def test_one_client_at_a_time_needs_no_confirmation(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    driver, config = deployed(running)
    for step, business_id in enumerate(THREE, start=1):
        report = driver.up(without(config, THREE[:step]))
        assert not report.program_errors, report.program_errors
        assert report.names("delete") == {
            business_id,
            f"{business_id}-company",
            integration(config, business_id),
        }
        assert portal.client(business_id) is None


def integration(config: dict[str, Any], business_id: str) -> str:
    erp = next(c["erp"] for c in config["roster:clients"] if c["businessId"] == business_id)
    return f"{business_id}-{erp}"


def test_a_retained_client_is_forgotten_and_stays_registered_and_connected(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    driver, config = deployed(running)
    kept = THREE[:2]
    retained = [{**c, "retain": True} if c["businessId"] in kept else c for c in config["roster:clients"]]
    before = {business_id: portal.client(business_id) for business_id in kept}
    report = driver.up({**config, "roster:clients": retained})
    assert not report.program_errors and not report.of_kind("replace", "delete", "failed")
    # Each kept company records it in its own step (as the engine records retainOnDelete): nothing else.
    updates = report.of_kind("update")
    assert {op.name for op in updates} == {f"{business_id}-company" for business_id in kept}
    assert all(op.changed == ("kept_on_removal",) for op in updates)
    assert all(entry.retain for entry in driver.state.values() if entry.name.startswith(tuple(kept)))
    records = {business_id: portal.client(business_id) for business_id in kept}
    assert records == before  # no portal write
    deletes_before = driver.calls.get("delete", 0)

    # Both leave in one edit, with a third unretained client: only that one counts, so no confirmation.
    report = driver.up(without({**config, "roster:clients": retained}, [*kept, THREE[2]]))
    assert not report.program_errors, report.program_errors
    assert {f"{business_id}-company" for business_id in kept} <= report.names("delete")
    assert not {entry.name for entry in driver.state.values()} & {f"{b}-company" for b in kept}
    for business_id in kept:
        assert portal.client(business_id) == records[business_id], business_id
        assert portal.connection(business_id) is not None, business_id
    assert portal.client(THREE[2]) is None
    assert driver.calls["delete"] - deletes_before == 2  # THREE[2]'s company and integration only


def test_retain_set_in_the_same_edit_that_removes_the_client_does_not_count(sandbox: SandboxFactory) -> None:
    # The engine keeps what the previous run declared: a client never deployed with retain is deregistered.
    running = sandbox()
    driver, config = deployed(running)
    report = driver.up(without(config, THREE))
    assert report.program_errors and not report.of_kind("delete")


def test_an_intentionally_empty_roster_still_needs_the_confirmation(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    driver, config = deployed(running)
    empty = {**config, "roster:clients": [], "roster:allowEmpty": True}
    empty.pop("roster:procountorApiKeys")
    empty.pop("roster:netvisorCredentials")
    report = driver.up(empty)
    (message,) = report.program_errors
    assert "would deregister 6 clients" in message  # the protected client cannot leave: it does not count
    assert PROTECTED not in message
    assert portal.client("2925630-9") is not None

    leaving = sorted({c["businessId"] for c in config["roster:clients"]} - {PROTECTED})
    report = driver.up({**empty, "roster:confirmDeregistration": leaving})
    assert not report.program_errors
    assert report.names("failed") >= {f"{PROTECTED}-company"}  # protect refuses, as before
    assert all(portal.client(business_id) is None for business_id in leaving)


def test_previous_outputs_that_cannot_be_read_stop_the_run(sandbox: SandboxFactory) -> None:
    running = sandbox()
    driver, config = deployed(running)
    # The stand-in then knows the stack by another organization: the engine answers "unknown stack".
    driver.organization = "another-organization"
    report = driver.up(without(config, THREE[:1]))
    assert any("cannot tell which clients this update would deregister" in e for e in report.program_errors)
    assert not report.of_kind("delete", "create", "update")
    assert THREE[0] in driver.outputs["clients"]


def moved_to_netvisor(config: dict[str, Any], moving: list[str], **extra: Any) -> dict[str, Any]:
    """``config`` with the Procountor clients ``moving`` changed to Netvisor (the firm's credential set)."""
    keys = config["roster:procountorApiKeys"].value
    clients = [
        {**c, "erp": "netvisor", "netvisorCredentials": "firm"} if c["businessId"] in moving else c
        for c in config["roster:clients"]
    ]
    return {
        **config,
        "roster:clients": clients,
        "roster:procountorApiKeys": Secret({k: v for k, v in keys.items() if k not in moving}),
        **extra,
    }


MOVING = ["2925630-9", "2077474-0", "0174592-8"]  # the three unprotected Procountor clients


def test_an_erp_move_of_three_clients_is_refused_like_three_removals(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    driver, config = deployed(running)
    records = {business_id: portal.client(business_id) for business_id in MOVING}
    state = dict(driver.state)

    for command in (driver.preview, driver.up):
        report = command(moved_to_netvisor(config, MOVING))
        (message,) = report.program_errors
        assert (
            "would deregister 3 clients from the FabricAI portal at once (each moving to another ERP)"
            in message
        )
        for business_id in MOVING:
            name = next(c["name"] for c in config["roster:clients"] if c["businessId"] == business_id)
            assert f"{name} ({business_id}): moves from procountor to netvisor" in message
        assert not report.of_kind("delete", "create", "update", "replace")
    assert driver.state.keys() == state.keys()
    assert {business_id: portal.client(business_id) for business_id in MOVING} == records

    # Confirmed, the three records are replaced (the old one removed first): new records, no models.
    report = driver.up(moved_to_netvisor(config, MOVING, **{"roster:confirmDeregistration": MOVING}))
    assert not report.program_errors, report.program_errors
    assert {f"{business_id}-company" for business_id in MOVING} <= report.names("replace")
    for business_id in MOVING:
        record = portal.client(business_id)
        assert record is not None and record["id"] != records[business_id]["id"]  # type: ignore[index]
        assert record["system"] == "netvisor"


def test_one_erp_move_needs_no_confirmation(sandbox: SandboxFactory) -> None:
    running = sandbox()
    driver, config = deployed(running)
    report = driver.up(moved_to_netvisor(config, MOVING[:1]))
    assert not report.program_errors, report.program_errors
    assert f"{MOVING[0]}-company" in report.names("replace")


def test_a_failed_first_up_leaves_the_guard_on(sandbox: SandboxFactory) -> None:
    """A first `up` that fails on one client leaves records in state and, with the real engine, no stack
    outputs: removing three clients by mistake is still refused, and so with outputs lost or partial."""
    running = sandbox()
    portal = Portal(running)
    config = stack_config("sandbox", running.url, Secret)
    broken = [
        {**c, "teams": ["No Such Team"]} if c["businessId"] == "1414213-0" else c
        for c in config["roster:clients"]
    ]
    driver = RosterDriver({**config, "roster:clients": broken}, program=PROGRAM)
    report = driver.up()
    assert report.names("failed") == {"1414213-0-company"}
    assert report.names("skipped") == {"1414213-0-netvisor"}  # never registered without its client_id
    for outputs in ({}, {"clientsByErp": {"procountor": 4}}, {"clients": "lost"}):
        driver.outputs = dict(outputs)  # as the real engine leaves them after a failed `up`, or lost
        for command in (driver.preview, driver.up):
            refused = command(without({**config, "roster:clients": broken}, THREE))
            (message,) = refused.program_errors
            assert "would deregister 3 clients" in message
            assert not refused.of_kind("delete", "create", "update", "replace")
    for business_id in THREE:
        assert portal.client(business_id) is not None, business_id


def test_a_state_read_that_fails_for_an_instant_is_tried_again(sandbox: SandboxFactory) -> None:
    """The local backend's checkpoint can be unreadable for an instant while the engine saves a step."""
    running = sandbox()
    driver, config = deployed(running)
    driver.invoke_failures.append("failed to load checkpoint: EOF")
    report = driver.up(without(config, THREE))
    (message,) = report.program_errors  # still judged: refused, not skipped
    assert "would deregister 3 clients" in message
