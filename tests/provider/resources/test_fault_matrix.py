"""The fault matrix through the engine path: each write step, each fault, then a clean re-run.

Steps: ClientCompany create and delete; ProcountorIntegration create, rotation (update) and delete;
NetvisorIntegration create and rotation (its NetvisorCredentials rotated first, cleanly: they write nothing
to the portal). Faults, injected in the sandbox portal for the whole step: 503 on every request, 429 with
Retry-After and 429 without it on every request, dropped connections (half the requests, seeded); and from
the step's write on, so that its recovery reads fail too (the worst case): every answer lost, or every
answer later than the provider's timeout (shortened for the test), the write itself applied.
After each faulty run the faults are cleared and the same roster is run again (a delete that failed is
deleted again; one that succeeded left nothing in the state to delete). Every case must converge: 0
duplicate portal records, 0 orphan connections, state equal to the portal, the portal's counts of clients
and connections changed by exactly the step (nothing else created or removed), and the failed run's
message true (it never says nothing happened when the portal's counters show a write did). The matrix's
figures are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from harness.engine import EngineCallFailed, ResourceState
from provider.portal import PortalClient
from provider.resources.client_company import ClientCompanyProvider
from provider.settings import PortalSettings
from tests.support import erp_stack
from tests.support.erp_stack import (
    HEALTHY,
    PORTAL_KEY,
    SECOND_KEY,
    SECRETS,
    Stack,
    company_inputs,
    fresh_process,
)
from tests.support.fault_trigger import FaultTrigger

ACME = "2925630-9"
NAME, KEY, DIMENSIONS = HEALTHY[ACME]
BETA, BETA_NAME, BETA_DIMENSIONS = erp_stack.BETA
WRITES = (
    "clientsCreated",
    "clientsPatched",
    "clientsDeleted",
    "connectionsPut",
    "credentialRotations",
    "disconnects",
    "modelsOrdered",
)
# The provider's portal timeout (30 s per read) shortened so that the latency case takes seconds.
TIMEOUT_SECONDS = 0.2
LATENCY_MS = 500
NO_RETRY_AFTER = "429, no Retry-After"
LOST = "answer lost after the write"
LATENCY = "latency beyond the timeout"
# Faults set in the sandbox portal for the whole step.
WHOLE_STEP: dict[str, dict[str, Any]] = {
    "503": {"errorRate": 1.0, "errorStatus": 503},
    "429 + Retry-After": {"rateLimitRate": 1.0, "retryAfterSeconds": 1},
    NO_RETRY_AFTER: {"rateLimitRate": 1.0, "retryAfterSeconds": None},
    "dropped connection": {"dropRate": 0.5, "seed": 7},
}
# Faults set from the step's write on, so that the write meets them and so do the reads that find out what
# it did (the worst case): every answer dropped after the portal processed the request, or every answer
# held back past the provider's (shortened) timeout, the request processed all the same. Latency before
# the service, from the first request, would stop a step before any write.
FROM_THE_WRITE: dict[str, dict[str, Any]] = {
    LOST: {"dropRate": 1.0, "seed": 3},
    LATENCY: {"answerDelayMs": LATENCY_MS},
}
FAULTS = [*WHOLE_STEP, *FROM_THE_WRITE]
# Words a message may use only when no write happened.
NOTHING = ("Nothing was changed", "nothing was changed", "Nothing is half-done", "nothing happened")


@dataclass
class Case:
    step: str
    fault: str
    failed: bool = False
    wrote: bool = False
    message_true: bool = True
    converged: bool = False
    duplicates: int = 0
    orphans: int = 0
    rerun_error: str = ""
    false_message: str = ""


@dataclass
class World:
    """The client of one case and its resources, as the engine's state holds them."""

    business_id: str
    name: str
    dimensions: list[str]
    company: ResourceState | None = None
    credentials: ResourceState | None = None
    integration: ResourceState | None = None


Action = Callable[[Stack, World], None]


def _company(stack: Stack, world: World) -> None:
    inputs = company_inputs(world.business_id, world.name, dimensions=world.dimensions)
    world.company = stack.engine.up(ClientCompanyProvider(), inputs, world.company)


def _connect(stack: Stack, world: World) -> None:
    assert world.company is not None
    world.integration = stack.integration(world.company, KEY, world.dimensions, world.integration)


def _rotate(stack: Stack, world: World) -> None:
    assert world.company is not None
    world.integration = stack.integration(world.company, SECOND_KEY, world.dimensions, world.integration)


def _firm_pair(stack: Stack, world: World) -> None:
    world.credentials = erp_stack.netvisor_credentials(stack.engine, erp_stack.FIRM, world.credentials)


def _second_pair(stack: Stack, world: World) -> None:
    world.credentials = erp_stack.netvisor_credentials(stack.engine, erp_stack.SECOND, world.credentials)


def _nv_connect(stack: Stack, world: World) -> None:
    """Create, or after the pair changed, rotate (the same inputs the program gives)."""
    assert world.company is not None and world.credentials is not None
    world.integration = erp_stack.netvisor_integration(
        stack.engine, world.company, world.credentials, world.dimensions, world.integration
    )


# A delete that succeeded removes the resource from the state: the re-run has nothing left to delete.
def _disconnect(stack: Stack, world: World) -> None:
    if world.integration is not None:
        stack.engine.destroy(world.integration)
        world.integration = None


def _deregister(stack: Stack, world: World) -> None:
    if world.company is not None:
        stack.engine.destroy(world.company)
        world.company = None


@dataclass(frozen=True)
class Step:
    client: tuple[str, str, list[str]]  # business ID, name, dimensions
    setup: tuple[Action, ...]  # run cleanly before the faults
    run: Action
    write: tuple[str, str]  # the portal write the last two faults start at: (method, path part)
    changes: tuple[int, int]  # what the step does to the portal's counts of (clients, connections)
    holds: dict[str, str] | None = None  # the credentials the connection holds afterwards


PROCOUNTOR = (ACME, NAME, DIMENSIONS)
NETVISOR = (BETA, BETA_NAME, BETA_DIMENSIONS)
STEPS: dict[str, Step] = {
    "ClientCompany create": Step(PROCOUNTOR, (), _company, ("POST", "/clients"), (1, 0)),
    "ClientCompany delete": Step(PROCOUNTOR, (_company,), _deregister, ("DELETE", "/clients/"), (-1, 0)),
    "Procountor integration create": Step(
        PROCOUNTOR, (_company,), _connect, ("PUT", "/connection"), (0, 1), {"apiKey": KEY}
    ),
    "Procountor integration rotation": Step(
        PROCOUNTOR, (_company, _connect), _rotate, ("PATCH", "/connection/"), (0, 0), {"apiKey": SECOND_KEY}
    ),
    "Procountor integration delete": Step(
        PROCOUNTOR, (_company, _connect), _disconnect, ("DELETE", "/connection/"), (0, -1)
    ),
    "Netvisor integration create": Step(
        NETVISOR,
        (_company, _firm_pair),
        _nv_connect,
        ("PUT", "/connection"),
        (0, 1),
        erp_stack.held(erp_stack.FIRM),
    ),
    "Netvisor integration rotation": Step(
        NETVISOR,
        (_company, _firm_pair, _nv_connect, _second_pair),
        _nv_connect,
        ("PATCH", "/connection/"),
        (0, 0),
        erp_stack.held(erp_stack.SECOND),
    ),
}


@contextmanager
def _faults(stack: Stack, fault: str, step: Step) -> Iterator[None]:
    """The fault in the sandbox portal, met by a new provider process (the failing `up`): for the whole
    step, or from the step's write on (the process's transport turns it on at that request)."""
    admin = stack.running.admin
    trigger = FaultTrigger(admin, read_timeout=TIMEOUT_SECONDS if fault == LATENCY else None)
    if fault in WHOLE_STEP:
        admin.set_faults("portal", **WHOLE_STEP[fault])
    else:
        method, part = step.write
        trigger.arm(method, part, **FROM_THE_WRITE[fault])
    fresh_process(transport=trigger)
    try:
        yield
    finally:
        admin.clear_faults("portal")


def _writes(stack: Stack) -> int:
    portal = stack.stats()["services"]["portal"]
    return sum(int(portal.get(name, 0)) for name in WRITES)


def _counts(stack: Stack) -> tuple[int, int]:
    portal = stack.stats()["services"]["portal"]
    return int(portal["clients"]), int(portal["connections"])


def _check(stack: Stack, world: World, step: Step, case: Case, counts: tuple[int, int]) -> None:
    """Whether the state equals the portal, with nothing but the step's own change in its counts."""
    portal = PortalClient(
        PortalSettings(url=stack.running.service_url("portal"), api_key=SecretStr(PORTAL_KEY))
    )
    records = portal.directory.lookup(world.business_id)
    case.duplicates = max(0, len(records) - 1)
    if world.company is None:
        company_ok = not records
        integration_ok = world.integration is None
    else:
        company_ok = [record.id for record in records] == [int(world.company.outputs["portal_id"])]
        connection = portal.connections.get(int(world.company.outputs["portal_id"]))
        if world.integration is None:
            case.orphans = int(connection is not None)
            integration_ok = connection is None
        else:
            assert step.holds is not None
            case.orphans = int(connection is not None and connection.id != world.integration.id)
            rotated_at = world.integration.outputs.get("credentials_rotated_at")
            holds = stack.running.admin.fingerprint(step.holds)
            integration_ok = (
                connection is not None
                and connection.id == world.integration.id
                and connection.credentials_rotated_at == rotated_at
                and stack.credentials_fingerprint(world.company) == holds
            )
    expected = (counts[0] + step.changes[0], counts[1] + step.changes[1])
    case.converged = (
        company_ok
        and integration_ok
        and _counts(stack) == expected
        and not case.duplicates
        and not case.orphans
        and not case.rerun_error
    )


def _run_case(stack: Stack, monkeypatch: pytest.MonkeyPatch, step_name: str, fault: str) -> Case:
    step = STEPS[step_name]
    stack.running.admin.reset()
    fresh_process()
    case = Case(step_name, fault)
    world = World(*step.client)
    for action in step.setup:
        action(stack, world)
    before, counts = _writes(stack), _counts(stack)
    message = ""
    with _faults(stack, fault, step):  # a new `up`: a new provider process
        try:
            step.run(stack, world)
        except EngineCallFailed as failure:
            case.failed = True
            message = str(failure.details).strip().splitlines()[-1]
            assert not any(secret in str(failure.details) for secret in SECRETS), message
    if fault == LATENCY:
        time.sleep(LATENCY_MS / 1000)  # the requests the provider gave up on end before the re-run starts
    case.wrote = _writes(stack) > before
    case.message_true = not (case.failed and case.wrote and any(words in message for words in NOTHING))
    case.false_message = "" if case.message_true else message[:200]
    fresh_process()
    try:
        step.run(stack, world)  # the clean re-run, with whatever state the failed run left
    except EngineCallFailed as failure:
        case.rerun_error = str(failure.details).strip().splitlines()[-1][:160]
    _check(stack, world, step, case, counts)
    return case


def test_fault_matrix_converges_with_no_duplicates_and_no_orphans(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [_run_case(stack, monkeypatch, step, fault) for step in STEPS for fault in FAULTS]

    with capsys.disabled():
        print(f"\nfault matrix: {len(cases)} cases")
        for case in cases:
            print(
                f"  {case.step:34} {case.fault:28} failed={case.failed!s:5} wrote={case.wrote!s:5} "
                f"message_true={case.message_true!s:5} converged={case.converged!s:5} "
                f"duplicates={case.duplicates} orphans={case.orphans}"
                + (f"\n    re-run failed: {case.rerun_error}" if case.rerun_error else "")
                + (f"\n    false message: {case.false_message}" if case.false_message else "")
            )
        print(
            f"  cases={len(cases)} converged={sum(c.converged for c in cases)} "
            f"duplicates={sum(c.duplicates for c in cases)} orphans={sum(c.orphans for c in cases)} "
            f"false_messages={sum(not c.message_true for c in cases)}"
        )
    gaps = [c for c in cases if not c.converged]
    assert not gaps, gaps
    false = [c for c in cases if not c.message_true]
    assert not false, false
    # Each step and each fault must have made a run fail, and each fault set from the write on must have
    # met a write that happened: otherwise a case would pass without testing anything.
    assert all(any(c.failed for c in cases if c.step == step) for step in STEPS), cases
    assert all(any(c.failed for c in cases if c.fault == fault) for fault in FAULTS), cases
    after_the_write = [c for c in cases if c.fault in FROM_THE_WRITE]
    assert all(c.failed and c.wrote for c in after_the_write), after_the_write
