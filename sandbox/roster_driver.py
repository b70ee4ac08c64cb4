"""Whole-roster runs without the Pulumi CLI: the real program, the real providers, the engine's part here.

``RosterDriver`` runs ``stacks/__main__.py`` exactly as ``pulumi-language-python-exec`` does (config in the
runtime, ``run_in_stack``), under a mock resource monitor that plays the engine:

- a custom resource goes through the dynamic-provider servicer (``sandbox/engine.py``): Check, then
  Create, or Diff against the state of the previous run and Update / replace (create the new one, delete
  the old one once the program is done, as Pulumi's default create-before-delete does);
- at most 4 provider calls run at once, as in the dynamic-provider process (4 gRPC worker threads);
- a resource registers only when its inputs resolved, i.e. after its dependencies' create/update;
- secret inputs arrive wrapped: they are unwrapped for the provider, and outputs of the same top-level
  keys are wrapped again, as the engine does;
- a failed resource is reported with the provider's message; the run goes on, the resources that depend on
  it are skipped, and a failed update keeps the old state (``pulumi up --continue-on-error``);
- what the program no longer declares is deleted after the program is done, dependents first, unless it
  is protected: then the delete fails loudly with Pulumi's message and the resource stays in state;
- ``ignore_changes`` keeps the previous value of those inputs; components (``fabricai:roster:Client``)
  just register.

``preview`` runs Check and Diff only; ``refresh`` runs Read on every resource (4 at a time); ``destroy``
deletes everything. Each command returns a ``RunReport`` that can print a Pulumi-like summary.
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import empty_pb2
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_in_stack

from sandbox.engine import PROVIDER_KEY, Engine, EngineCallFailed, ResourceState, Secret

PROJECT = "fabricai-roster"
PROGRAM = Path(__file__).resolve().parents[1] / "stacks" / "__main__.py"
STACK_TYPE = "pulumi:pulumi:Stack"
# The dynamic-provider process serves the engine with 4 gRPC worker threads.
PROVIDER_CALLS_AT_ONCE = 4
# Threads the program's event loop registers resources from (the CLI's --parallel is larger than 4).
REGISTRATION_THREADS = 32


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
    resource: ResourceState | None = None  # None for components

    @property
    def id(self) -> str:
        return self.resource.id if self.resource else ""

    @property
    def outputs(self) -> dict[str, Any]:
        return self.resource.outputs if self.resource else {}


@dataclass(frozen=True)
class Operation:
    """What a command did to one resource. ``kind``: create, update, replace, same, delete, failed,
    skipped, drift (refresh found changes), gone (refresh found it deleted), read (refresh, no change)."""

    kind: str
    urn: str
    type: str
    name: str
    message: str = ""
    changed: tuple[str, ...] = ()

    @property
    def error(self) -> str:
        """The error without the traceback frames the engine prints above it."""
        return without_traceback(self.message)


@dataclass
class RunReport:
    """The outcome of one command, as the CLI would summarise it."""

    command: str
    operations: list[Operation] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    program_errors: list[str] = field(default_factory=list)
    provider_calls: dict[str, int] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[Operation]:
        return [operation for operation in self.operations if operation.kind in kinds]

    def names(self, *kinds: str) -> set[str]:
        return {operation.name for operation in self.of_kind(*kinds)}

    def failures(self) -> dict[str, str]:
        return {operation.name: operation.message for operation in self.of_kind("failed")}

    @property
    def succeeded(self) -> bool:
        return not self.program_errors and not self.of_kind("failed")

    def summary(self) -> str:
        """A Pulumi-like account of the run: one line per change, diagnostics, counts."""
        symbols = {
            "create": "+",
            "update": "~",
            "replace": "+-",
            "delete": "-",
            "failed": "**",
            "skipped": " ",
            "drift": "~",
            "gone": "-",
        }
        words = {"failed": "failed", "skipped": "skipped (a dependency failed)", "gone": "deleted outside"}
        lines = [f"$ pulumi {self.command}"]
        for operation in self.operations:
            if operation.kind in ("same", "read"):
                continue
            word = words.get(operation.kind, {"drift": "drifted"}.get(operation.kind, operation.kind + "d"))
            if operation.kind == "replace":
                word = "replaced"
            if operation.kind == "delete":
                word = "deleted"
            detail = f" [{', '.join(operation.changed)}]" if operation.changed else ""
            kind_name = operation.type.removeprefix("pulumi-python:dynamic/")
            lines.append(f" {symbols[operation.kind]:>2} {kind_name:<34} {operation.name:<24} {word}{detail}")
        diagnostics = self.program_errors + [
            f"{operation.type.removeprefix('pulumi-python:dynamic/')} ({operation.name}):\n"
            + _indent(operation.error)
            for operation in self.of_kind("failed")
        ]
        if diagnostics:
            lines += ["", "Diagnostics (provider traceback frames left out):"] + [
                f"  error: {_indent(text).lstrip()}" for text in diagnostics
            ]
        if self.outputs:
            lines += ["", "Outputs:"] + [
                f"    {key}: {json.dumps(_whole_numbers(value), ensure_ascii=False, sort_keys=True)}"
                for key, value in sorted(self.outputs.items())
            ]
        counts: dict[str, int] = {}
        for operation in self.operations:
            counts[operation.kind] = counts.get(operation.kind, 0) + 1
        lines += ["", "Resources:"] + [f"    {count} {kind}" for kind, count in sorted(counts.items())]
        return "\n".join(lines)


def without_traceback(details: str) -> str:
    """``traceback.format_exc()`` text (what the servicer sends) reduced to the exception and its message."""
    lines = details.splitlines()
    if not lines or not lines[0].startswith("Traceback"):
        return details
    start = next((i for i, line in enumerate(lines[1:], 1) if line and not line[0].isspace()), 0)
    return "\n".join(lines[start:])


def _whole_numbers(value: Any) -> Any:
    """Numbers as the CLI prints them (the wire turns every int into a float)."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _config_strings(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Stack config as the language host hands it to the program: JSON text for objects, secret keys."""
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if isinstance(value, Secret):
            secret_keys.append(key)
            value = value.value
        values[key] = value if isinstance(value, str) else json.dumps(value)
    return values, secret_keys


def _unwrap_secrets(inputs: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Plain inputs for the provider, and the top-level keys that held a secret anywhere inside."""
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in inputs.items():
        unwrapped, had_secret = _unwrap(value)
        plain[key] = unwrapped
        if had_secret:
            secret.add(key)
    return plain, secret


def _unwrap(value: Any) -> tuple[Any, bool]:
    if rpc.is_rpc_secret(value):
        return _unwrap(rpc.unwrap_rpc_secret(value))[0], True
    if isinstance(value, dict):
        pairs = {key: _unwrap(item) for key, item in value.items()}
        return {key: pair[0] for key, pair in pairs.items()}, any(pair[1] for pair in pairs.values())
    if isinstance(value, list):
        items = [_unwrap(item) for item in value]
        return [item[0] for item in items], any(item[1] for item in items)
    return value, False


def _for_program(outputs: Mapping[str, Any], secret_keys: set[str]) -> dict[str, Any]:
    """Outputs as the engine returns them to the program: secret keys wrapped, no provider blob."""
    return {
        key: (rpc.wrap_rpc_secret(value) if key in secret_keys else value)
        for key, value in outputs.items()
        if key != PROVIDER_KEY
    }


class _CollectingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class _UnusedMocks(mocks.Mocks):
    """The monitor below answers registrations itself; the program makes no invokes."""

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(f"the roster program makes no invokes, got {args.token}")

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        raise NotImplementedError("registrations go through _EngineMonitor.RegisterResource")


class _EngineMonitor(mocks.MockMonitor):
    """The resource monitor of one run, answering the SDK as the engine does."""

    def __init__(self, run: _Run) -> None:
        super().__init__(_UnusedMocks())
        self._run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        id_, outputs = self._run.register(urn, request)
        obj = _serialize(outputs)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        if request.urn.split("::")[2] == STACK_TYPE:
            outputs = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            self._run.stack_outputs = _unwrap_secrets(outputs)[0]
        return empty_pb2.Empty()


def _serialize(outputs: Mapping[str, Any]) -> Any:
    """Outputs as a protobuf Struct; registrations arrive on executor threads, which have no event loop."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(outputs), {}))
    finally:
        loop.close()


class _Run:
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

    def keep(self, entry: StateEntry) -> None:
        with self.lock:
            self.state[entry.urn] = entry

    def register(self, urn: str, request: Any) -> tuple[str, dict[str, Any]]:
        dependencies = sorted(
            set(request.dependencies)
            | {urn for deps in request.propertyDependencies.values() for urn in deps.urns}
        )
        old = self.previous.get(urn)
        entry = StateEntry(
            urn, request.type, request.name, request.parent, request.custom, request.protect, dependencies
        )
        if not request.custom:
            self.keep(entry)
            self.record(Operation("same" if old else "create", urn, request.type, request.name))
            return "", {}
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        blocked = [dependency for dependency in dependencies if dependency in self.failed]
        if blocked and not self.preview:
            return self._give_up(entry, old, "skipped", f"depends on {', '.join(blocked)}, which failed")
        plain, secret_keys = _unwrap_secrets(inputs)
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
        checked, failures = engine.check(
            provider, news, old.resource.inputs if old and old.resource else None
        )
        if failures:
            raise EngineCallFailed("Check", "; ".join(f"{prop}: {reason}" for prop, reason in failures))
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
                return previous.id, _for_program(previous.outputs, previous.secret_keys)
            id_, outputs = engine.create(checked)
            self.driver.count_call("create")
            with self.lock:
                self.replaced.append(old)
            state = ResourceState(entry.type, id_, checked, outputs, secret_keys)
            return self._done(entry, "replace", state, tuple(outcome.replaces))
        if not outcome.has_changes and not outcome.unknown:
            return self._done(entry, "same", previous)
        if self.preview:
            self.record(Operation("update", entry.urn, entry.type, entry.name, changed=changed))
            return previous.id, _for_program({**previous.outputs, **checked}, secret_keys)
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
        return state.id, _for_program(state.outputs, state.secret_keys)


def _changed(previous: ResourceState, checked: Mapping[str, Any], key: str) -> bool:
    """Whether an input changed; reports name keys only, so a changed secret shows by name, never value."""
    return bool(previous.inputs.get(key) != checked.get(key))


class RosterDriver:
    """A stack: its state between commands, and the commands ``up``, ``preview``, ``refresh``, ``destroy``.

    ``config`` maps stack config keys (``roster:clients``, ``fabricai:portalUrl``, ...) to values; wrap
    secret ones in ``Secret``. It is the program's config and, as the engine does, the provider's too.
    """

    def __init__(self, config: Mapping[str, Any], *, stack: str = "sandbox", program: Path = PROGRAM) -> None:
        self.config = dict(config)
        self.stack = stack
        self.program = program
        self.state: dict[str, StateEntry] = {}
        self.outputs: dict[str, Any] = {}
        self.calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()

    def count_call(self, method: str) -> None:
        with self._calls_lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    # -- commands ------------------------------------------------------------------------------------------
    def up(self, config: Mapping[str, Any] | None = None) -> RunReport:
        return self._run_program("up", config, preview=False)

    def preview(self, config: Mapping[str, Any] | None = None) -> RunReport:
        return self._run_program("preview", config, preview=True)

    def refresh(self) -> RunReport:
        report = RunReport("refresh")
        engine = Engine(self.config)
        customs = [entry for entry in self.state.values() if entry.resource is not None]
        with ThreadPoolExecutor(PROVIDER_CALLS_AT_ONCE) as pool:
            results = list(pool.map(lambda entry: self._refresh_one(engine, entry), customs))
        for entry, operation in zip(customs, results, strict=True):
            report.operations.append(operation)
            if operation.kind == "gone":
                del self.state[entry.urn]
        return report

    def destroy(self) -> RunReport:
        report = RunReport("destroy")
        self._delete(Engine(self.config), list(self.state.values()), report)
        self.outputs = {} if not self.state else self.outputs
        return report

    # -- internals -----------------------------------------------------------------------------------------
    def _refresh_one(self, engine: Engine, entry: StateEntry) -> Operation:
        resource = entry.resource
        assert resource is not None
        try:
            refreshed = engine.refresh(resource)
        except EngineCallFailed as failure:
            return Operation("failed", entry.urn, entry.type, entry.name, failure.details)
        self.count_call("read")
        if refreshed is None:
            return Operation("gone", entry.urn, entry.type, entry.name)
        changed = tuple(
            sorted(
                key
                for key in set(resource.outputs) | set(refreshed.outputs)
                if key != PROVIDER_KEY and resource.outputs.get(key) != refreshed.outputs.get(key)
            )
        )
        entry.resource = refreshed
        return Operation("drift" if changed else "read", entry.urn, entry.type, entry.name, changed=changed)

    def _run_program(self, command: str, config: Mapping[str, Any] | None, *, preview: bool) -> RunReport:
        if config is not None:
            self.config = dict(config)
        engine = Engine(self.config)
        run = _Run(self, engine, preview=preview)
        errors = _CollectingHandler()
        logger = logging.getLogger(f"fabricai-roster.driver.{id(run)}")
        logger.addHandler(errors)
        logger.propagate = False
        exit_code = self._execute(run, logger, preview=preview)
        report = RunReport(command, outputs=run.stack_outputs, program_errors=list(errors.messages))
        if exit_code not in (None, 0) and not report.program_errors:
            report.program_errors.append(f"program exited with non-zero exit code: {exit_code}")
        report.operations = run.operations
        if report.program_errors or preview:
            # A program that failed declared nothing usable; a preview changes nothing.
            return report
        gone = [entry for urn, entry in run.previous.items() if urn not in run.state]
        self.state = dict(run.state)
        self._delete(engine, gone, report)
        self._delete(engine, run.replaced, report, replaced=True)
        # Keep parents before children and dependencies before dependents: this run's order first.
        order = [*run.state, *run.previous]
        self.state = {urn: self.state[urn] for urn in dict.fromkeys(order) if urn in self.state}
        self.outputs = run.stack_outputs
        return report

    def _execute(self, run: _Run, logger: logging.Logger, *, preview: bool) -> int | None:
        """Run the program as the language host does; returns the exit code it asked for, if any."""
        values, secret_keys = _config_strings(self.config)
        monitor = _EngineMonitor(run)
        # set_mocks creates a root stack unless one exists; run_in_stack makes the real one, as the CLI does.
        runtime_settings.set_root_resource(_PLACEHOLDER_ROOT)
        pulumi.runtime.set_mocks(_UnusedMocks(), PROJECT, self.stack, preview, logger, monitor)
        runtime_settings.set_root_resource(None)  # type: ignore[arg-type]  # "no root yet" is None
        runtime_settings.SETTINGS.outputs.clear()
        pulumi.runtime.set_all_config(values, secret_keys)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.set_default_executor(ThreadPoolExecutor(REGISTRATION_THREADS))
        program = _program_runner(self.program)
        try:
            loop.run_until_complete(run_in_stack(program))
        except SystemExit as exit_:
            return exit_.code if isinstance(exit_.code, int) else 1
        finally:
            loop.close()
            asyncio.set_event_loop(None)
        return None

    def _delete(
        self,
        engine: Engine,
        entries: list[StateEntry],
        report: RunReport,
        *,
        replaced: bool = False,
    ) -> None:
        """Delete ``entries`` dependents first (reverse registration order), honouring ``protect``.

        ``replaced``: the old halves of replacements, already out of state; they go whatever happens.
        """
        state = self.state
        for entry in reversed(entries):
            children = [other for other in state.values() if other.parent == entry.urn]
            if entry.protect and not replaced:
                report.operations.append(
                    Operation("failed", entry.urn, entry.type, entry.name, _protected(entry))
                )
                state[entry.urn] = entry
                continue
            if children:
                report.operations.append(
                    Operation(
                        "failed",
                        entry.urn,
                        entry.type,
                        entry.name,
                        "a resource it holds could not be deleted",
                    )
                )
                state[entry.urn] = entry
                continue
            if entry.resource is not None:
                try:
                    engine.destroy(entry.resource)
                except EngineCallFailed as failure:
                    report.operations.append(
                        Operation("failed", entry.urn, entry.type, entry.name, failure.details)
                    )
                    if not replaced:
                        state[entry.urn] = entry
                    continue
                self.count_call("delete")
            if not replaced:
                state.pop(entry.urn, None)
            report.operations.append(Operation("delete", entry.urn, entry.type, entry.name))


def _protected(entry: StateEntry) -> str:
    # Pulumi's own wording for deleting a protected resource.
    return (
        f'unable to delete resource "{entry.urn}"\n'
        "as it is currently marked for protection. To unprotect the resource, remove the `protect` flag "
        "from the resource in your Pulumi program and run `pulumi up`"
    )


def _program_runner(program: Path) -> Callable[[], None]:
    def run() -> None:
        runpy.run_path(str(program), run_name="__main__")

    return run


class _PlaceholderRoot:
    """Stands in for the root stack while ``set_mocks`` runs, so it does not register one of its own."""


_PLACEHOLDER_ROOT: Any = _PlaceholderRoot()
