"""Whole-roster runs without the Pulumi CLI: the real program, the real providers, the engine's part here.

``RosterDriver`` runs ``stacks/__main__.py`` exactly as ``pulumi-language-python-exec`` does (config in the
runtime, ``run_in_stack``), under a mock resource monitor that plays the engine:

- a custom resource goes through the dynamic-provider servicer (``harness/engine.py``): Check, then
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
  just register;
- ``retain_on_delete``: deleting such a resource drops it from state without the provider's Delete;
- the engine's ``readStackResourceOutputs`` / ``readStackOutputs`` answer from the state and outputs of the
  last command (an invoke: nothing is kept in state); a ``StackReference`` to the stack itself is read
  from the outputs of its last update (kept in state as a read resource, as the engine keeps it); a
  program that fails leaves the outputs as they were;
- a resource whose step failed or was skipped is answered with ``result: FAIL``: the SDK resolves its
  outputs as unknown, and what depends on them is skipped, never registered without them.

``preview`` runs Check and Diff only; ``refresh`` runs Read on every resource (4 at a time); ``destroy``
deletes everything. Each command returns a ``RunReport`` that can print a Pulumi-like summary.
"""

from __future__ import annotations

import asyncio
import logging
import runpy
import threading
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_in_stack

from harness.engine import PROVIDER_KEY, Engine, EngineCallFailed
from harness.monitor import ORGANIZATION, EngineMonitor, UnusedMocks, config_strings
from harness.report import Operation, RunReport
from harness.run import PROVIDER_CALLS_AT_ONCE, Run, StateEntry

__all__ = ["Operation", "RosterDriver", "RunReport", "StateEntry"]

PROJECT = "fabricai-roster"
# The language host's exit code for "the error was shown already".
MESSAGE_SHOWN = 32
# Threads the program's event loop registers resources from (the CLI's --parallel is larger than 4).
REGISTRATION_THREADS = 32


class _CollectingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class RosterDriver:
    """A stack: its state between commands, and the commands ``up``, ``preview``, ``refresh``, ``destroy``.

    ``config`` maps stack config keys (``roster:clients``, ``fabricai:portalUrl``, ...) to values; wrap
    secret ones in ``Secret``. It is the program's config and, as the engine does, the provider's too.
    ``program`` is the Pulumi program to run: the repository's ``stacks/__main__.py``.
    """

    def __init__(self, config: Mapping[str, Any], *, program: Path, stack: str = "sandbox") -> None:
        self.config = dict(config)
        self.stack = stack
        self.project = PROJECT
        self.program = program
        self.state: dict[str, StateEntry] = {}
        # Commands that run no program (refresh, destroy) configure the provider as the last update
        # did: the engine keeps the provider's settings in state and does not read today's config.
        self.deployed_config: dict[str, Any] = dict(config)
        self.outputs: dict[str, Any] = {}
        self.calls: dict[str, int] = {}
        self._calls_lock = threading.Lock()
        # What a test may set to play an engine that differs: the organization the engine knows this stack
        # by (the program asks for ORGANIZATION/<project>/<stack>), and failures (messages) the engine
        # answers the program's next invokes with, one each, before it answers them as usual.
        self.organization = ORGANIZATION
        self.invoke_failures: list[str] = []

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
        engine = Engine(self.deployed_config)
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
        self._delete(Engine(self.deployed_config), list(self.state.values()), report)
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
        run = Run(self, engine, preview=preview)
        errors = _CollectingHandler()
        logger = logging.getLogger(f"fabricai-roster.driver.{id(run)}")
        logger.addHandler(errors)
        logger.propagate = False
        exit_code = self._execute(run, logger, preview=preview)
        report = RunReport(command, outputs=run.stack_outputs, program_errors=list(errors.messages))
        if exit_code not in (None, 0) and not report.program_errors:
            report.program_errors.append(f"program exited with non-zero exit code: {exit_code}")
        report.operations = run.operations
        if report.program_errors:
            return report  # a program that failed declared nothing usable
        gone = [entry for urn, entry in run.previous.items() if urn not in run.state]
        if preview:
            # What the program no longer declares would be deleted, as the engine's preview shows.
            report.operations += [Operation("delete", e.urn, e.type, e.name) for e in reversed(gone)]
            return report
        self.state = dict(run.state)
        self._delete(engine, gone, report)
        self._delete(engine, run.replaced, report, replaced=True)
        # Keep parents before children and dependencies before dependents: this run's order first.
        order = [*run.state, *run.previous]
        self.state = {urn: self.state[urn] for urn in dict.fromkeys(order) if urn in self.state}
        self.outputs = run.stack_outputs
        self.deployed_config = dict(self.config)
        return report

    def _execute(self, run: Run, logger: logging.Logger, *, preview: bool) -> int | None:
        """Run the program as the language host does; returns the exit code it asked for, if any."""
        values, secret_keys = config_strings(self.config)
        monitor = EngineMonitor(run)
        # set_mocks creates a root stack unless one exists; run_in_stack makes the real one, as the CLI does.
        runtime_settings.set_root_resource(_PLACEHOLDER_ROOT)
        pulumi.runtime.set_mocks(
            UnusedMocks(), PROJECT, self.stack, preview, logger, monitor, organization=ORGANIZATION
        )
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
        except Exception:  # noqa: BLE001 - as pulumi-language-python-exec does: shown, exit code "shown"
            logger.error("The program failed:\n" + traceback.format_exc())
            return MESSAGE_SHOWN
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
            # The engine deletes nothing that a resource still in state holds or depends on.
            children = [
                other
                for other in state.values()
                if other.urn != entry.urn and (other.parent == entry.urn or entry.urn in other.dependencies)
            ]
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
            if entry.resource is not None and not entry.retain:
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
