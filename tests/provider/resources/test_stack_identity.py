"""One stack's records are its own: the stack identity (provider/resources/stack_identity.py).

The rules of ``resolve`` on their own, then the real program through the engine stand-in (harness/) against
the sandbox over HTTP: two stacks of one name never share a record, a record made by hand with copied tags
is not taken over without ``adopt`` (and adopting keeps its foreign tags), a renamed stack and a stack whose
state was lost (with ``roster:stackId``) still take their own records back, and a stack of an earlier
version is re-tagged with its identity.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.driver import RosterDriver
from harness.engine import Secret
from provider.errors import ConfigurationError
from provider.resources.stack_identity import new_identity, resolve, valid
from scripts.example_config import PROGRAM, stack_config
from tests.conftest import SandboxFactory
from tests.provider.roster.test_deregistration import Portal, deployed

ACME = "2925630-9"  # a Procountor client of the example roster
IDENTITY = "StackIdentity"


# --- the rules ------------------------------------------------------------------------------------------


def test_a_new_identity_is_the_stack_name_and_a_random_part() -> None:
    first, second = new_identity("prod"), new_identity("prod")
    assert first != second and first.startswith("prod-") and valid(first)
    assert valid(new_identity("our org/prod stack")) and valid(new_identity("..."))
    assert not valid("prod") and not valid("fabricai-roster/prod")


def test_the_pin_the_state_and_a_new_one() -> None:
    kept = new_identity("prod")
    assert resolve(None, kept, "prod") == (kept, False)  # the state's, also after a rename
    assert resolve(kept, None, "prod") == (kept, False)  # a lost state finds its records with the pin
    assert resolve(kept, kept, "renamed") == (kept, False)
    made, new = resolve(None, None, "prod")
    assert new and made.startswith("prod-")
    with pytest.raises(ConfigurationError, match="copied from another stack") as caught:
        resolve(new_identity("other"), kept, "prod")
    assert f"pulumi config set roster:stackId {kept}" in str(caught.value)
    for malformed in ("prod", 42, "fabricai-roster/prod"):
        with pytest.raises(ConfigurationError, match="roster:stackId: expected"):
            resolve(malformed, None, "prod")


def test_a_pin_made_for_another_stack_name_is_refused_where_there_is_no_state() -> None:
    """`pulumi stack init staging --copy-config-from prod` copies prod's pin: staging has no state to
    compare it with, and would take prod's records for its own."""
    prods = new_identity("prod")
    with pytest.raises(ConfigurationError, match="copied with another stack's settings") as caught:
        resolve(prods, None, "staging")
    assert "pulumi config rm roster:stackId" in str(caught.value)
    assert "pulumi stack rename prod" in str(caught.value)
    assert resolve(prods, None, "prod") == (prods, False)  # its own name: a lost state, taken back
    dotted = new_identity("team.prod_2")
    assert resolve(dotted, None, "team.prod_2") == (dotted, False)
    # `fabricai-roster --stack organization/fabricai-roster/prod up` pins what the program (`prod`) accepts.
    qualified = new_identity("organization/fabricai-roster/prod")
    assert qualified.startswith("prod-") and resolve(qualified, None, "prod") == (qualified, False)


# --- the program through the engine stand-in -------------------------------------------------------------


def identity_of(driver: RosterDriver) -> str:
    (entry,) = [e for e in driver.state.values() if e.type.endswith(":" + IDENTITY)]
    assert entry.resource is not None
    stack_id: str = entry.resource.outputs["stack_id"]
    assert driver.outputs["rosterStackId"] == stack_id
    return stack_id


def only(config: dict[str, Any], business_id: str, **fields: Any) -> dict[str, Any]:
    """``config`` with one Procountor client (with ``fields``) and its key."""
    (client,) = [c for c in config["roster:clients"] if c["businessId"] == business_id]
    keys = config["roster:procountorApiKeys"].value
    return {
        **{k: v for k, v in config.items() if k != "roster:netvisorCredentials"},
        "roster:clients": [{**client, **fields}],
        "roster:procountorApiKeys": Secret({business_id: keys[business_id]}),
    }


def test_the_identity_is_made_at_the_first_up_kept_and_carried_by_every_record(
    sandbox: SandboxFactory,
) -> None:
    running = sandbox()
    portal = Portal(running)
    driver, config = deployed(running)
    stack_id = identity_of(driver)
    assert stack_id.startswith("sandbox-")
    for client in config["roster:clients"]:
        record = portal.client(client["businessId"])
        assert record is not None and record["tags"]["rosterStack"] == stack_id
    report = driver.up()
    assert identity_of(driver) == stack_id
    assert not report.of_kind("create", "update", "replace", "delete"), report.summary()


def test_two_stacks_of_one_name_never_share_a_record(sandbox: SandboxFactory) -> None:
    """Two stacks named `sandbox` (two backends, or a colleague's laptop) against one organisation."""
    running = sandbox()
    portal = Portal(running)
    config = only(stack_config("sandbox", running.url, Secret), ACME)
    mine, theirs = RosterDriver(config, program=PROGRAM), RosterDriver(config, program=PROGRAM)
    assert mine.up().succeeded
    record = portal.client(ACME)

    report = theirs.up()
    (message,) = report.failures().values()
    assert "already registered" in message and "adopt: true" in message
    assert portal.client(ACME) == record  # not taken over, not re-tagged
    # When the first stack lets the client go, nothing of the other stack's goes with it, and the other
    # stack's next up registers the client as its own.
    assert not mine.up(empty(config)).program_errors
    assert portal.client(ACME) is None
    assert theirs.up().succeeded
    registered = portal.client(ACME)
    assert registered is not None and registered["tags"]["rosterStack"] == identity_of(theirs)


def test_a_record_made_by_hand_with_copied_tags_needs_adopt_and_keeps_its_tags(
    sandbox: SandboxFactory,
) -> None:
    running = sandbox()
    portal = Portal(running)
    config = only(stack_config("sandbox", running.url, Secret), ACME)
    copied = {"managedBy": "fabricai-roster", "rosterStack": "fabricai-roster/sandbox", "costCentre": "42"}
    made = portal.http.post(
        "/clients",
        json={"businessId": "FI29256309", "name": "Öljy-Äijät Oy", "country": "FI", "tags": copied},
    )
    made.raise_for_status()
    driver = RosterDriver(config, program=PROGRAM)
    report = driver.up()
    (message,) = report.failures().values()
    assert "adopt: true" in message
    assert portal.client(ACME)["tags"] == copied  # type: ignore[index]

    assert driver.up(only(config, ACME, adopt=True)).succeeded
    tags = portal.client(ACME)["tags"]  # type: ignore[index]
    assert tags["costCentre"] == "42"  # foreign tags stay
    assert tags["rosterStack"] == identity_of(driver) and tags["managedBy"] == "fabricai-roster"
    refreshed = driver.refresh()
    assert not [op for op in refreshed.of_kind("drift", "failed") if "tags" in op.changed or op.message]
    preview = driver.preview(only(config, ACME, adopt=True))
    assert not preview.of_kind("update", "replace"), preview.summary()  # a foreign tag is no drift


def empty(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with an intentionally empty roster."""
    kept = {
        k: v for k, v in config.items() if k not in ("roster:procountorApiKeys", "roster:netvisorCredentials")
    }
    return {**kept, "roster:clients": [], "roster:allowEmpty": True}


def retain_then_relist(driver: RosterDriver, config: dict[str, Any]) -> dict[str, Any]:
    """Retain the client, remove it (forgotten, record kept), and give back the config that lists it."""
    assert driver.up(only(config, ACME, retain=True)).succeeded
    assert not driver.up(empty(config)).program_errors
    assert not [e for e in driver.state.values() if e.name.startswith(ACME)]
    return only(config, ACME)


def test_a_renamed_stack_still_takes_its_own_record_back(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    config = only(stack_config("sandbox", running.url, Secret), ACME)
    driver = RosterDriver(config, program=PROGRAM)
    assert driver.up().succeeded
    stack_id, record = identity_of(driver), portal.client(ACME)
    relisted = retain_then_relist(driver, config)
    driver.stack = "renamed"  # `pulumi stack rename`: the state (and the identity in it) stays
    report = driver.up(relisted)
    assert report.succeeded, report.summary()
    assert identity_of(driver) == stack_id
    assert portal.client(ACME)["id"] == record["id"]  # type: ignore[index]


def test_a_lost_state_finds_its_records_again_with_the_pinned_identity(sandbox: SandboxFactory) -> None:
    running = sandbox()
    portal = Portal(running)
    config = only(stack_config("sandbox", running.url, Secret), ACME)
    first = RosterDriver(config, program=PROGRAM)
    assert first.up().succeeded
    stack_id, record = identity_of(first), portal.client(ACME)

    # Without the pin, a stack with no state is another stack: the record is someone else's.
    unpinned = RosterDriver(config, program=PROGRAM)
    assert "adopt: true" in next(iter(unpinned.up().failures().values()))
    # With it (`pulumi config set roster:stackId <id>`), the record is taken back: no adopt, no duplicate.
    pinned = RosterDriver({**config, "roster:stackId": stack_id}, program=PROGRAM)
    report = pinned.up()
    assert report.succeeded, report.summary()
    assert identity_of(pinned) == stack_id
    assert portal.client(ACME)["id"] == record["id"]  # type: ignore[index]
    assert running.admin.stats()["services"]["portal"]["clients"] == 1

    # The same pin copied into a new stack of another name (its settings copied): refused, nothing made.
    copied = RosterDriver({**config, "roster:stackId": stack_id}, program=PROGRAM)
    copied.stack = "staging"
    not_taken = copied.up()
    (message,) = not_taken.program_errors
    assert "copied with another stack's settings" in message
    assert not not_taken.of_kind("create", "update", "replace", "delete")
    assert running.admin.stats()["services"]["portal"]["clients"] == 1

    # A pin copied from another stack into a stack that has an identity of its own changes nothing.
    refused = first.up({**config, "roster:stackId": new_identity("other")})
    (message,) = refused.program_errors
    assert "copied from another stack" in message and f"roster:stackId {stack_id}" in message
    assert not refused.of_kind("create", "update", "replace", "delete")


def test_a_stack_of_the_earlier_version_is_retagged_with_its_identity(sandbox: SandboxFactory) -> None:
    """A state whose records carry `project/stack` (no StackIdentity): the next up makes the identity and
    re-tags each record it holds (an update), keeping the record's foreign tags."""
    running = sandbox()
    portal = Portal(running)
    config = only(stack_config("sandbox", running.url, Secret), ACME)
    driver = RosterDriver(config, program=PROGRAM)
    assert driver.up().succeeded
    record = portal.client(ACME)
    assert record is not None
    old_tags = {**record["tags"], "rosterStack": "fabricai-roster/sandbox", "costCentre": "42"}
    whole = portal.http.get(f"/clients/{record['id']}").raise_for_status().json()["data"]
    portal.http.patch(f"/clients/{record['id']}", json={**whole, "tags": old_tags}).raise_for_status()
    for urn, entry in list(driver.state.items()):
        if entry.type.endswith(":" + IDENTITY):
            del driver.state[urn]
        elif entry.resource is not None and "stack" in entry.resource.inputs:
            entry.resource.inputs["stack"] = entry.resource.outputs["stack"] = "fabricai-roster/sandbox"
    driver.outputs.pop("rosterStackId")

    report = driver.up()
    assert report.succeeded, report.summary()
    assert f"{ACME}-company" in report.names("update")
    tags = portal.client(ACME)["tags"]  # type: ignore[index]
    assert tags["rosterStack"] == identity_of(driver) and tags["costCentre"] == "42"
