"""Fixtures shared by every test: a real sandbox server on 127.0.0.1 and the example scenario.

    def test_read(example_sandbox: RunningSandbox) -> None:  # shared server, reset to the seed per test
        ...

    def test_something(sandbox: SandboxFactory) -> None:  # a server of its own
        running = sandbox()                                  # examples/sandbox.yaml, fresh state
        running = sandbox({"portal": {"apiKeys": ["k"]}})    # an inline scenario (dict), or a Path
        running = sandbox(state_path=tmp_path / "s.db")      # a chosen state file (restart tests)
        running.url, running.service_url("portal"), running.admin.set_faults("portal", errorRate=1)

Every server started by the factory stops when the test ends.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from sandbox.scenario import EXAMPLE_SCENARIO_PATH
from sandbox.server import RunningSandbox, ScenarioSource, run_in_thread

_EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_SCENARIO_PATH.read_text(encoding="utf-8"))


class SandboxFactory(Protocol):
    def __call__(self, scenario: ScenarioSource = None, state_path: Path | None = None) -> RunningSandbox: ...


@pytest.fixture
def example_scenario() -> dict[str, Any]:
    """A fresh copy of examples/sandbox.yaml as a dict, to tweak and pass to ``sandbox(...)``."""
    return copy.deepcopy(_EXAMPLE)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxFactory]:
    """Start real sandbox servers (ephemeral ports, temp state files); all stop after the test."""
    numbers = itertools.count(1)
    with ExitStack() as servers:

        def start(scenario: ScenarioSource = None, state_path: Path | None = None) -> RunningSandbox:
            path = state_path or tmp_path / f"sandbox-state-{next(numbers)}.db"
            return servers.enter_context(run_in_thread(scenario, path))

        yield start


@pytest.fixture(scope="session")
def _example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with run_in_thread(None, tmp_path_factory.mktemp("example-sandbox") / "state.db") as running:
        yield running


@pytest.fixture
def example_sandbox(_example_server: RunningSandbox) -> RunningSandbox:
    """The examples/sandbox.yaml sandbox, shared by the session and reset to its seed for each test."""
    _example_server.admin.reset()
    return _example_server


@pytest.fixture(scope="session")
def _partner_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    scenario = copy.deepcopy(_EXAMPLE)
    scenario["portal"]["verifyConnections"] = False
    with run_in_thread(scenario, tmp_path_factory.mktemp("partner-sandbox") / "state.db") as running:
        yield running


@pytest.fixture
def partner_sandbox(_partner_server: RunningSandbox) -> RunningSandbox:
    """The example sandbox with a portal that stores connections unverified (``verifyConnections: false``):
    what partner mode rehearses against, where the provider verifies with FabricAI's partner credentials
    itself (a verifying portal would run every check a second time against the same partner app)."""
    _partner_server.admin.reset()
    return _partner_server


@pytest.fixture(autouse=True)
def new_provider_process() -> Iterator[None]:
    """Every test starts as a new provider process would: no clients, token caches, Procountor rate
    limiters or Netvisor locks shared with an earlier test (whose sandbox may even have had the same port)."""
    from provider import context

    context.reset()
    yield
    context.reset()
