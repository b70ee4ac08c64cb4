"""A small fault matrix through the engine path: each write step, each fault, then a clean re-run.

Steps: ClientCompany create, ProcountorIntegration create, ProcountorIntegration rotation (update).
Faults, injected in the sandbox portal for the whole step: 503 on every request, 429 with Retry-After on
every request, dropped connections (half the requests, seeded), and the answer lost after the write (every
answer from the step's write on is dropped, so its recovery reads fail too: the worst case).
After each faulty run the faults are cleared and the same roster is run again. Every case must converge:
0 duplicate portal records, 0 orphan connections, state equal to the portal, and the failed run's message
true (it never says nothing happened when the portal's counters show a write did). The matrix's figures
are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from harness.engine import EngineCallFailed, ResourceState
from provider.portal import PortalClient
from provider.portal.api import PortalApi
from provider.resources.client_company import ClientCompanyProvider
from provider.settings import PortalSettings
from tests.support.procountor_stack import (
    HEALTHY,
    PORTAL_KEY,
    SECOND_KEY,
    SECRETS,
    Stack,
    company_inputs,
    fresh_process,
    stack,
)

__all__ = ["stack"]  # the fixture

ACME = "2925630-9"
NAME, KEY, DIMENSIONS = HEALTHY[ACME]
WRITES = ("clientsCreated", "connectionsPut", "credentialRotations", "clientsPatched")
FAULTS: dict[str, dict[str, Any]] = {
    "503": {"errorRate": 1.0, "errorStatus": 503},
    "429 + Retry-After": {"rateLimitRate": 1.0, "retryAfterSeconds": 1},
    "dropped connection": {"dropRate": 0.5, "seed": 7},
    "answer lost after the write": {},  # dropRate 1.0 from the write on (see _faults)
}
# Cases known not to converge yet, with why; printed, and left out of the convergence assertion only.
KNOWN_GAPS = {
    ("ClientCompany create", "answer lost after the write"): (
        "the registration's record is not recognised as the stack's own in a new process when the failed "
        "run's recovery reads were lost too: the re-run says AlreadyRegistered (issue 11, first bullet; "
        "provider/resources/client_company.py, portal owner); its failed run's message is the recovery "
        "listing's own 'Nothing was changed' although the portal registered the client (issue 11, fourth "
        "bullet: the recovery in client_company.py should say the registration may have happened)"
    ),
}
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
    """The resources of one case, as the engine's state holds them."""

    company: ResourceState | None = None
    integration: ResourceState | None = None


def _company(stack: Stack, world: World) -> None:
    world.company = stack.engine.up(
        ClientCompanyProvider(), company_inputs(ACME, NAME, dimensions=DIMENSIONS), world.company
    )


def _connect(stack: Stack, world: World) -> None:
    assert world.company is not None
    world.integration = stack.integration(world.company, KEY, DIMENSIONS, world.integration)


def _rotate(stack: Stack, world: World) -> None:
    assert world.company is not None
    world.integration = stack.integration(world.company, SECOND_KEY, DIMENSIONS, world.integration)


Step = Callable[[Stack, World], None]
# step name -> (set-up run cleanly, the step, the portal write the lost answer follows: (method, path part))
STEPS: dict[str, tuple[list[Step], Step, tuple[str, str]]] = {
    "ClientCompany create": ([], _company, ("POST", "/clients")),
    "Procountor integration create": ([_company], _connect, ("PUT", "/connection")),
    "Procountor integration rotation": ([_company, _connect], _rotate, ("PATCH", "/connection/")),
}


@contextmanager
def _faults(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, fault: str, write: tuple[str, str]
) -> Iterator[None]:
    admin = stack.running.admin
    with monkeypatch.context() as patch:
        if FAULTS[fault]:
            admin.set_faults("portal", **FAULTS[fault])
        else:
            method, part = write
            original = PortalApi.call

            def from_the_write(self: PortalApi, verb: str, path: str, **kwargs: Any) -> Any:
                if verb == method and part in path:
                    admin.set_faults("portal", dropRate=1.0, seed=3)
                return original(self, verb, path, **kwargs)

            patch.setattr(PortalApi, "call", from_the_write)
        try:
            yield
        finally:
            admin.clear_faults("portal")


def _writes(stack: Stack) -> int:
    portal = stack.stats()["services"]["portal"]
    return sum(int(portal.get(name, 0)) for name in WRITES)


def _check(stack: Stack, world: World, case: Case) -> None:
    portal = PortalClient(
        PortalSettings(url=stack.running.service_url("portal"), api_key=SecretStr(PORTAL_KEY))
    )
    records = portal.directory.lookup(ACME)
    case.duplicates = max(0, len(records) - 1)
    assert world.company is not None
    company_ok = [record.id for record in records] == [int(world.company.outputs["portal_id"])]
    connection = portal.get_connection(int(world.company.outputs["portal_id"]))
    if world.integration is None:
        case.orphans = int(connection is not None)
        integration_ok = connection is None
    else:
        case.orphans = int(connection is not None and connection.id != world.integration.id)
        integration_ok = (
            connection is not None
            and connection.id == world.integration.id
            and world.integration.outputs.get("credentials_rotated_at") == connection.credentials_rotated_at
        )
        wanted = SECOND_KEY if case.step.endswith("rotation") else KEY
        integration_ok = integration_ok and stack.credentials_fingerprint(
            world.company
        ) == stack.running.admin.fingerprint({"apiKey": wanted})
    case.converged = company_ok and integration_ok and not case.duplicates and not case.orphans


def test_fault_matrix_converges_with_no_duplicates_and_no_orphans(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases: list[Case] = []
    for step_name, (setup, step, write) in STEPS.items():
        for fault in FAULTS:
            stack.running.admin.reset()
            fresh_process(monkeypatch)
            case = Case(step_name, fault)
            world = World()
            for run in setup:
                run(stack, world)
            before = _writes(stack)
            fresh_process(monkeypatch)  # a new `up`: a new provider process
            with _faults(stack, monkeypatch, fault, write):
                try:
                    step(stack, world)
                except EngineCallFailed as failure:
                    case.failed = True
                    message = str(failure.details).strip().splitlines()[-1]
                    assert not any(secret in str(failure.details) for secret in SECRETS), message
                    case.wrote = _writes(stack) > before
                    case.message_true = not (case.wrote and any(words in message for words in NOTHING))
                    case.false_message = "" if case.message_true else message[:200]
            fresh_process(monkeypatch)
            try:
                step(stack, world)  # the clean re-run, with whatever state the failed run left
            except EngineCallFailed as failure:
                case.rerun_error = str(failure.details).strip().splitlines()[-1][:160]
            if world.company is not None:
                _check(stack, world, case)
            if case.rerun_error:
                case.converged = False
            cases.append(case)

    with capsys.disabled():
        print(f"\nfault matrix: {len(cases)} cases")
        for case in cases:
            print(
                f"  {case.step:34} {case.fault:28} failed={case.failed!s:5} wrote={case.wrote!s:5} "
                f"message_true={case.message_true!s:5} converged={case.converged!s:5} "
                f"duplicates={case.duplicates} orphans={case.orphans}"
                + (f"\n    re-run failed: {case.rerun_error}" if case.rerun_error else "")
                + (f"\n    false message: {case.false_message}" if case.false_message else "")
                + (
                    f"\n    known gap: {KNOWN_GAPS[(case.step, case.fault)]}"
                    if (case.step, case.fault) in KNOWN_GAPS and not case.converged
                    else ""
                )
            )
        print(
            f"  cases={len(cases)} converged={sum(c.converged for c in cases)} "
            f"duplicates={sum(c.duplicates for c in cases)} orphans={sum(c.orphans for c in cases)} "
            f"false_messages={sum(not c.message_true for c in cases)}"
        )
    gaps = [c for c in cases if not c.converged and (c.step, c.fault) not in KNOWN_GAPS]
    assert not gaps, gaps
    false = [c for c in cases if not c.message_true and (c.step, c.fault) not in KNOWN_GAPS]
    assert not false, false
    assert any(case.failed for case in cases), "no fault made a step fail: the matrix would prove nothing"
    assert any(case.wrote for case in cases if case.failed), "no failed step had written: nothing tested"
