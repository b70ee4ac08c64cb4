"""A killed run leaves nothing running (issue 18.5).

A `pulumi up` killed with SIGKILL tells its plugins nothing: Pulumi's own plugins notice that the engine is
gone by health-checking it, and so must ours, the language host (tools/pulumi/languagehost, with its
program) and the dynamic provider (the SDK's server, started through tools/pulumi/pulumi-python-dynamic-
provider.py, which adds the health check the SDK's server lacks). First the provider's watch against a
stand-in engine (fast), then the whole run through the real CLI against the sandbox.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from scripts.example_config import demo_secrets
from tests.cli.conftest import PulumiProject
from tests.cli.test_cli_lifecycle import stack_settings
from tests.conftest import SandboxFactory
from tests.support.processes import alive, descendants, matching, wait_until_gone

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "tools" / "pulumi" / "pulumi-python-dynamic-provider.py"
# The watch checks every 2 s: 5 s covers two checks, 30 s is a generous bound for noticing and ending.
ALIVE_FOR_SECONDS = 5.0
GONE_WITHIN_SECONDS = 30.0


def _health_check(request: bytes, context: Any) -> bytes:
    return b""  # HealthCheckResponse{}: what the answer says does not matter to the watch, that it comes does


@pytest.fixture
def engine() -> Iterator[tuple[Any, str]]:
    """A stand-in for the engine's gRPC server that answers the standard health check."""
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "grpc.health.v1.Health",
                {
                    "Check": grpc.unary_unary_rpc_method_handler(
                        _health_check, request_deserializer=bytes, response_serializer=bytes
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield server, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture
def bare_engine() -> Iterator[str]:
    """An engine stand-in without the health service: every check answers UNIMPLEMENTED."""
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def start_provider(address: str, directory: Path) -> subprocess.Popen[bytes]:
    """The dynamic provider as the launcher starts it (the engine's address as the last argument); waits
    (bounded) for the port it prints, as the engine does."""
    provider = subprocess.Popen(
        [sys.executable, "-u", str(SERVE), address],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert provider.stdout is not None
    ready, _, _ = select.select([provider.stdout], [], [], 60)
    if not ready:
        provider.kill()
        provider.wait()
        pytest.fail("the dynamic provider printed no port within 60 s")
    line = provider.stdout.readline().decode()
    assert line.strip().isdigit(), line
    return provider


def test_the_dynamic_provider_ends_when_the_engine_is_gone(engine: tuple[Any, str], tmp_path: Path) -> None:
    server, address = engine
    provider = start_provider(address, tmp_path)
    try:
        time.sleep(ALIVE_FOR_SECONDS)
        assert provider.poll() is None, "the provider ended while the engine was answering"
        server.stop(0)
        provider.wait(timeout=GONE_WITHIN_SECONDS)
        assert provider.returncode != 0
    finally:
        if provider.poll() is None:
            provider.kill()
            provider.wait()


def test_an_engine_without_the_health_service_counts_as_alive(bare_engine: str, tmp_path: Path) -> None:
    provider = start_provider(bare_engine, tmp_path)
    try:
        time.sleep(ALIVE_FOR_SECONDS)
        assert provider.poll() is None, "an UNIMPLEMENTED health check ended the provider"
    finally:
        provider.kill()
        provider.wait()


def _kind(command_line: str) -> str | None:
    """Which part of a run a process is, by what it runs."""
    words = command_line.split()
    if not words:
        return None
    if words[0].endswith("/pulumi-language-python"):
        return "language host"
    if "pulumi-language-python-exec" in command_line:
        return "program"
    # Ours, or the SDK's server started directly (as Pulumi's own launcher does).
    if "pulumi-python-dynamic-provider.py" in command_line or "-m pulumi.dynamic" in command_line:
        return "dynamic provider"
    return None


def _portal_requests(admin: Any) -> int:
    total: int = admin.stats()["requests"]["portal"]["total"]
    return total


@pytest.mark.cli
def test_a_killed_pulumi_up_leaves_nothing_running(
    pulumi_project: PulumiProject, sandbox: SandboxFactory, tmp_path: Path
) -> None:
    running = sandbox()
    project = pulumi_project
    project.init_stack("sandbox", stack_settings("sandbox", running), demo_secrets("sandbox"))
    # Slow portal answers keep the run busy (registering, connecting) when it is killed.
    running.admin.set_faults("portal", latencyMs=1500)
    before = _portal_requests(running.admin)

    output = (tmp_path / "killed-up.txt").open("wb")
    up = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color", "never"]
    cli = subprocess.Popen(
        [*up, "--stack", "sandbox"],
        cwd=project.directory,
        env=project.env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    run: dict[int, str] = {}
    try:
        # Mid-run: the language host, the program and the provider all running, and the portal being called.
        deadline = time.monotonic() + 180
        while True:
            run = {pid: line for pid, line in descendants(cli.pid).items() if _kind(line)}
            kinds = {_kind(line) for line in run.values()}
            if len(kinds) == 3 and _portal_requests(running.admin) > before:
                break
            assert cli.poll() is None, f"`pulumi up` ended before it was killed: {kinds}"
            assert time.monotonic() < deadline, f"the run never got going: {run}"
            time.sleep(0.2)
        host = next(line for line in run.values() if _kind(line) == "language host")
        engine_address = host.split()[-1]

        os.kill(cli.pid, signal.SIGKILL)
        killed = time.monotonic()
        cli.wait(timeout=30)

        left = wait_until_gone(run, GONE_WITHIN_SECONDS)
        assert not left, f"still running {GONE_WITHIN_SECONDS:.0f} s after the CLI was killed: {left}"
        print(f"every process of the run ended {time.monotonic() - killed:.1f} s after the CLI was killed")
        # Nothing else of that run either (anything started with the engine's address).
        assert not matching(engine_address), matching(engine_address)
        # And nobody is still calling the portal on the run's behalf.
        settled = _portal_requests(running.admin)
        time.sleep(3)
        assert _portal_requests(running.admin) == settled
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        output.close()
        # A failed assertion must not leave the run's processes behind for the next test.
        for pid in run:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
