"""One ``pulumi up`` or ``preview`` of the whole-roster driver: registrations in, operations and state out."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulumi.runtime import rpc

from harness.engine import PROVIDER_KEY, Engine, EngineCallFailed, ResourceState, Secret
from harness.monitor import STACK_TYPE, for_program, unwrap_secrets
from harness.report import Operation

if TYPE_CHECKING:
    from harness.driver import RosterDriver

# The dynamic-provider process serves the engine with 4 gRPC worker threads.
PROVIDER_CALLS_AT_ONCE = 4
# The engine's own provider, which serves StackReference reads.
BUILTIN_PROVIDER_TYPE = "pulumi:providers:pulumi"


@dataclass
class StateEntry:
    """One resource in the stack's state: what the engine remembers between runs."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    dependencies: list[str]
    resource: ResourceState | None = None  # None for components and read (external) resources
    retain: bool = False  # retain_on_delete: a delete drops it from state and leaves the service alone

    @property
    def id(self) -> str:
        return self.resource.id if self.resource else ""

    @property
    def outputs(self) -> dict[str, Any]:
        return self.resource.outputs if self.resource else {}


class Run:
    """One ``pulumi up`` or ``preview``: registrations in, operations and new state out."""

    def __init__(self, driver: RosterDriver, engine: Engine, *, preview: bool) -> None:
        self.driver = driver
        self.engine = engine
        self.preview = preview
        self.previous = dict(driver.state)
        self.state: dict[str, StateEntry] = {}
        self.replaced: list[StateEntry] = []
        self.failed: set[str] = set()
        self.operations: list[Operation] = []
        self.stack_outputs: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(PROVIDER_CALLS_AT_ONCE)

    def record(self, operation: Operation) -> None:
        with self.lock:
            self.operations.append(operation)

    def last_state(self) -> dict[str, dict[str, Any]]:
        """``readStackResourceOutputs``' answer: every resource of the stack's last checkpoint (the previous
        command's state) with its type and outputs, the stack itself with the stack's outputs; empty before
        the first command."""
        driver = self.driver
        if not self.previous and not driver.outputs:
            return {}
        name = f"{driver.project}-{driver.stack}"
        stack = f"urn:pulumi:{driver.stack}::{driver.project}::{STACK_TYPE}::{name}"
        state = {stack: {"type": STACK_TYPE, "outputs": dict(driver.outputs)}}
        for urn, entry in self.previous.items():
            outputs = entry.resource.outputs if entry.resource else {}
            secret = entry.resource.secret_keys if entry.resource else set()
            state[urn] = {"type": entry.type, "outputs": for_program(outputs, secret)}
        return state

    def keep(self, entry: StateEntry) -> None:
        with self.lock:
            self.state[entry.urn] = entry

    def builtin_provider(self) -> str:
        """The engine's built-in default provider, which serves reads of stacks (a StackReference, or the
        functions ``readStackResourceOutputs``/``readStackOutputs``): the engine keeps it in state."""
        driver = self.driver
        provider = f"urn:pulumi:{driver.stack}::{driver.project}::{BUILTIN_PROVIDER_TYPE}::default"
        self.keep(StateEntry(provider, BUILTIN_PROVIDER_TYPE, "default", "", True, False, []))
        return provider

    def read(self, urn: str, request: Any) -> None:
        """A read resource (a StackReference): kept in state as the engine keeps it, never really deleted."""
        provider = self.builtin_provider()
        entry = StateEntry(urn, request.type, request.name, request.parent, True, False, [provider])
        self.keep(entry)
        self.record(Operation("read", urn, request.type, request.name))

    def register(self, urn: str, request: Any) -> tuple[str, dict[str, Any]]:
        dependencies = sorted(
            set(request.dependencies)
            | {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
        )
        old = self.previous.get(urn)
        entry = StateEntry(
            urn, request.type, request.name, request.parent, request.custom, request.protect, dependencies
        )
        entry.retain = bool(request.retainOnDelete)
        if not request.custom:
            self.keep(entry)
            self.record(Operation("same" if old else "create", urn, request.type, request.name))
            return "", {}
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        blocked = [dependency for dependency in dependencies if dependency in self.failed]
        if blocked and not self.preview:
            return self._give_up(entry, old, "skipped", f"depends on {', '.join(blocked)}, which failed")
        plain, secret_keys = unwrap_secrets(inputs)
        provider = plain.pop(PROVIDER_KEY)
        if old is not None and old.resource is not None:
            # ignore_changes: the engine keeps the previous run's value of those inputs.
            for key in request.ignoreChanges:
                if key in old.resource.inputs:
                    plain[key] = old.resource.inputs[key]
        news = {key: (Secret(value) if key in secret_keys else value) for key, value in plain.items()}
        # Outputs are secret where the input of the same key was, or where the resource asks for it.
        secret_outputs = secret_keys | set(request.additionalSecretOutputs)
        try:
            with self.slots:
                return self._apply(entry, old, provider, news, secret_outputs)
        except EngineCallFailed as failure:
            return self._give_up(entry, old, "failed", failure.details)

    def _give_up(
        self, entry: StateEntry, old: StateEntry | None, kind: str, message: str
    ) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.failed.add(entry.urn)
        if old is not None:  # a failed update changes nothing: the old state stays
            self.keep(old)
        self.record(Operation(kind, entry.urn, entry.type, entry.name, message))
        return "", {}

    def _apply(
        self,
        entry: StateEntry,
        old: StateEntry | None,
        provider: str,
        news: dict[str, Any],
        secret_keys: set[str],
    ) -> tuple[str, dict[str, Any]]:
        engine = self.engine
        checked = engine.checked(provider, news, old.resource.inputs if old and old.resource else None)
        self.driver.count_call("check")
        if old is None or old.resource is None:
            if self.preview:
                self.record(Operation("create", entry.urn, entry.type, entry.name))
                return "", {key: value for key, value in checked.items() if key != PROVIDER_KEY}
            id_, outputs = engine.create(checked)
            self.driver.count_call("create")
            return self._done(entry, "create", ResourceState(entry.type, id_, checked, outputs, secret_keys))
        previous = old.resource
        outcome = engine.diff(previous.id, previous.outputs, checked)
        self.driver.count_call("diff")
        changed = tuple(
            sorted(key for key in checked if key != PROVIDER_KEY and _changed(previous, checked, key))
        )
        if outcome.replaces:
            if old.protect:
                raise EngineCallFailed(
                    "Replace",
                    f'unable to replace resource "{entry.urn}"\nas it is currently marked for protection.',
                )
            if self.preview:
                self.record(
                    Operation("replace", entry.urn, entry.type, entry.name, changed=tuple(outcome.replaces))
                )
                return previous.id, for_program(previous.outputs, previous.secret_keys)
            if outcome.delete_before_replace:  # as the engine does: the old one goes first
                engine.destroy(previous)
                self.driver.count_call("delete")
            id_, outputs = engine.create(checked)
            self.driver.count_call("create")
            if not outcome.delete_before_replace:
                with self.lock:
                    self.replaced.append(old)
            state = ResourceState(entry.type, id_, checked, outputs, secret_keys)
            return self._done(entry, "replace", state, tuple(outcome.replaces))
        if not outcome.has_changes and not outcome.unknown:
            return self._done(entry, "same", previous)
        if self.preview:
            self.record(Operation("update", entry.urn, entry.type, entry.name, changed=changed))
            return previous.id, for_program({**previous.outputs, **checked}, secret_keys)
        outputs = engine.update(previous.id, previous.outputs, checked)
        self.driver.count_call("update")
        state = ResourceState(entry.type, previous.id, checked, outputs, secret_keys)
        return self._done(entry, "update", state, changed)

    def _done(
        self, entry: StateEntry, kind: str, state: ResourceState, changed: tuple[str, ...] = ()
    ) -> tuple[str, dict[str, Any]]:
        entry.resource = state
        self.keep(entry)
        self.record(Operation(kind, entry.urn, entry.type, entry.name, changed=changed))
        return state.id, for_program(state.outputs, state.secret_keys)


def _changed(previous: ResourceState, checked: Mapping[str, Any], key: str) -> bool:
    """Whether an input changed; reports name keys only, so a changed secret shows by name, never value."""
    return bool(previous.inputs.get(key) != checked.get(key))
