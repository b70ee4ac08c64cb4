"""The roster through the dynamic-provider servicer as the Pulumi engine drives it, without the program.

In a real run the program (the language host), the engine and the dynamic-provider process are separate
processes, and the provider process serves the engine's calls on 4 gRPC worker threads. Here an ``Engine``
(harness/engine.py: the real ``DynamicResourceProviderServicer``) gets its calls from a pool of 4
threads, with the inputs provider/program.py declares, so the figures are the provider's and not those of
Pulumi's Python SDK (whose cost falls on the language host, another process).

Dependencies are kept as the engine keeps them: the NetvisorCredentials first; then one job per client, its
ClientCompany, then its integration (whose ``client_id`` is the company's portal id and, for Netvisor,
whose ``credentials_fingerprint`` is the credentials' fingerprint output).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi.dynamic.dynamic import serialize_provider

from harness.engine import Engine, EngineCallFailed, ResourceState, Secret
from provider import program
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from provider.resources.netvisor_integration import NetvisorIntegrationProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.roster import Erp, Roster

# The dynamic-provider process serves the engine with 4 gRPC worker threads (pulumi/dynamic/__main__.py).
PROVIDER_THREADS = 4

# Providers are pickled once per resource by the SDK in the language host; the servicer caches them.
_PROVIDERS: dict[str, str] = {
    "ClientCompany": serialize_provider(ClientCompanyProvider()),
    "ProcountorIntegration": serialize_provider(ProcountorIntegrationProvider()),
    "NetvisorCredentials": serialize_provider(NetvisorCredentialsProvider()),
    "NetvisorIntegration": serialize_provider(NetvisorIntegrationProvider()),
}


@dataclass(frozen=True)
class Declared:
    """One resource as the program declares it. Output seeds (None) are left out: the SDK drops them."""

    name: str
    kind: str
    inputs: dict[str, Any]

    @property
    def provider(self) -> str:
        return _PROVIDERS[self.kind]

    def with_inputs(self, **more: Any) -> Declared:
        return replace(self, inputs={**self.inputs, **more})


@dataclass(frozen=True)
class ClientChain:
    """A client's two resources; the integration lacks the inputs its dependencies' outputs provide."""

    company: Declared
    integration: Declared
    credentials: str | None  # the NetvisorCredentials resource name a Netvisor integration waits for


# The identity of the stack the stand-in plays, in the form provider/resources/stack_identity.py makes.
STACK = "dev-0123456789abcdef01234567"


def plan(roster: Roster) -> tuple[list[Declared], list[ClientChain]]:
    """The NetvisorCredentials and the client chains the program declares for ``roster``, in its order,
    with the inputs provider/program.py gives them."""
    credentials = [
        Declared(
            program.credentials_name(name),
            "NetvisorCredentials",
            program.credentials_inputs(name, client, roster, Secret),
        )
        for name, client in program.credential_sets(roster).items()
    ]
    chains: list[ClientChain] = []
    for client in roster.clients:
        company = Declared(
            program.company_name(client), "ClientCompany", program.company_inputs(client, STACK)
        )
        inputs = program.integration_inputs(client, roster, Secret)
        if client.erp is Erp.PROCOUNTOR:
            kind, waits_for = "ProcountorIntegration", None
        else:
            kind, waits_for = (
                "NetvisorIntegration",
                program.credentials_name(str(client.netvisor_credentials)),
            )
        chains.append(
            ClientChain(company, Declared(program.integration_name(client), kind, inputs), waits_for)
        )
    return credentials, chains


@dataclass
class PhaseReport:
    """What one command did: wall time, time per resource by type, failures, changes seen."""

    command: str
    wall: float = 0.0
    seconds_by_kind: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    count_by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: list[str] = field(default_factory=list)
    changes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def resources(self) -> int:
        return sum(self.count_by_kind.values())

    def add(self, kind: str, seconds: float, *, failure: str = "", changed: bool = False) -> None:
        with self._lock:
            self.seconds_by_kind[kind] += seconds
            self.count_by_kind[kind] += 1
            if failure:
                self.failures.append(failure)
            self.changes += changed

    def per_resource_lines(self) -> list[str]:
        """Per resource type: how many, and the mean time of its provider calls (waits included)."""
        return [
            f"  {kind:<22} {count:5d} x {1000 * self.seconds_by_kind[kind] / count:8.2f} ms"
            for kind, count in sorted(self.count_by_kind.items())
        ]


def _secret_keys(inputs: Mapping[str, Any]) -> set[str]:
    return {key for key, value in inputs.items() if isinstance(value, Secret)}


# One resource's calls in one command: the state it leaves (None: failed or absent) and whether it changes.
Step = Callable[[Declared], tuple[ResourceState | None, bool]]


class EnginePath:
    """One stack's resources driven through one provider process (``Engine``) by 4 threads."""

    def __init__(self, config: Mapping[str, Any], roster: Roster) -> None:
        self.engine = Engine(config)
        self.credentials, self.chains = plan(roster)
        self.states: dict[str, ResourceState] = {}
        self._states_lock = threading.Lock()

    # -- commands ------------------------------------------------------------------------------------------
    def up(self) -> PhaseReport:
        """Create every resource (Check, Create): the credentials, then the client chains 4 at a time."""
        return self._run("up", self._create)

    def preview(self) -> PhaseReport:
        """Check and Diff every resource against its state; ``changes`` counts the ones that would change."""
        return self._run("preview", self._preview)

    def refresh(self) -> PhaseReport:
        """Read every resource, 4 at a time; ``changes`` counts drift, a resource found gone leaves state."""
        report = PhaseReport("refresh")
        started = time.perf_counter()
        with ThreadPoolExecutor(PROVIDER_THREADS) as pool:
            list(pool.map(lambda name: self._refresh(name, report), list(self.states)))
        report.wall = time.perf_counter() - started
        return report

    # -- internals -----------------------------------------------------------------------------------------
    def _run(self, command: str, step: Step) -> PhaseReport:
        report = PhaseReport(command)
        started = time.perf_counter()
        for credentials in self.credentials:
            self._timed(credentials, step, report)
        with ThreadPoolExecutor(PROVIDER_THREADS) as pool:
            list(pool.map(lambda chain: self._chain(chain, step, report), self.chains))
        report.wall = time.perf_counter() - started
        return report

    def _chain(self, chain: ClientChain, step: Step, report: PhaseReport) -> None:
        company = self._timed(chain.company, step, report)
        credentials = self.states.get(chain.credentials) if chain.credentials else None
        if company is None or (chain.credentials and credentials is None):
            return  # the engine skips what depends on a failed resource
        more: dict[str, Any] = {"client_id": company.outputs["portal_id"]}
        if credentials is not None:  # a secret output stays secret as an input
            more["credentials_fingerprint"] = Secret(credentials.outputs["customer_key_fingerprint"])
        self._timed(chain.integration.with_inputs(**more), step, report)

    def _timed(self, resource: Declared, step: Step, report: PhaseReport) -> ResourceState | None:
        started = time.perf_counter()
        failure = ""
        try:
            state, changed = step(resource)
        except EngineCallFailed as error:
            state, changed = None, False
            failure = f"{resource.name}: {error.method}: {error.details.splitlines()[-1]}"
        report.add(resource.kind, time.perf_counter() - started, failure=failure, changed=changed)
        return state

    def _check(self, resource: Declared, olds: ResourceState | None) -> dict[str, Any]:
        olds_inputs = olds.inputs if olds else None
        return self.engine.checked(resource.provider, resource.inputs, olds_inputs)

    def _create(self, resource: Declared) -> tuple[ResourceState | None, bool]:
        checked = self._check(resource, None)
        id_, outputs = self.engine.create(checked)
        state = ResourceState(resource.kind, id_, checked, outputs, _secret_keys(resource.inputs))
        with self._states_lock:
            self.states[resource.name] = state
        return state, True

    def _preview(self, resource: Declared) -> tuple[ResourceState | None, bool]:
        state = self.states.get(resource.name)
        checked = self._check(resource, state)
        if state is None:
            return None, True  # would be created
        outcome = self.engine.diff(state.id, state.outputs, checked)
        return state, bool(outcome.has_changes or outcome.unknown or outcome.replaces)

    def _refresh(self, name: str, report: PhaseReport) -> None:
        state = self.states[name]
        started = time.perf_counter()
        failure = ""
        changed = False
        try:
            refreshed = self.engine.refresh(state)
        except EngineCallFailed as error:
            refreshed, failure = state, f"{name}: Read: {error.details.splitlines()[-1]}"
        with self._states_lock:
            if refreshed is None:
                del self.states[name]
            else:
                changed = refreshed.outputs != state.outputs
                self.states[name] = refreshed
        report.add(state.type_name, time.perf_counter() - started, failure=failure, changed=changed)
