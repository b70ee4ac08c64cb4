"""Procountor's pace: 20 requests per second per client application by default, never more in any second
as the server counts them (whatever the network's delays), yet a short burst leaves at once."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from harness.engine import Engine
from provider.defaults import PROCOUNTOR_BURST, PROCOUNTOR_REQUESTS_PER_SECOND
from provider.procountor.client import ProcountorClient
from provider.procountor.pace import RateLimiter
from provider.settings import ProcountorSettings
from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.support.erp_stack import (
    APP_ID,
    APP_SECRET,
    FAST_RETRY,
    HEALTHY,
    Stack,
    engine_config,
    fresh_process,
)

ENGINE_THREADS = 4


def run_threads(count: int, target: Callable[[int], None]) -> float:
    """Run ``target(n)`` on ``count`` threads started together; the seconds it took."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        barrier.wait()
        try:
            target(number)
        except BaseException as error:  # noqa: BLE001 - re-raised below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.monotonic() - started


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_the_default_pace_is_procountors_published_20_per_second() -> None:
    assert PROCOUNTOR_REQUESTS_PER_SECOND == 20


def test_a_short_burst_leaves_at_once() -> None:
    limiter = RateLimiter(20)
    started = time.monotonic()
    for _ in range(PROCOUNTOR_BURST):
        with limiter.slot():
            pass
    assert time.monotonic() - started < 0.05  # evenly spaced, four requests would take 0.15 s
    with limiter.slot():
        pass
    assert time.monotonic() - started >= 1 / 20 * 0.9  # the fifth waits for the bucket


def test_the_average_is_the_pace_and_no_second_holds_more() -> None:
    limiter = RateLimiter(20)
    taken: list[float] = []
    lock = threading.Lock()

    def work(_: int) -> None:
        for _ in range(15):
            with limiter.slot(), lock:
                taken.append(time.monotonic())

    elapsed = run_threads(ENGINE_THREADS, work)
    assert most_in_one_second(taken) <= 20
    assert 2.0 <= elapsed < 6.0  # 60 requests at 20/s: never faster than the pace, not far slower


def test_requests_delayed_on_the_way_still_never_exceed_the_pace_where_they_arrive() -> None:
    """The server counts a request when it arrives, which may be long after the slot was taken (a busy
    machine, a slow network); a slot only frees one second after its answer, so arrivals stay within."""
    limiter = RateLimiter(20)
    arrivals: list[float] = []
    lock = threading.Lock()
    delays = random.Random(7)

    def work(_: int) -> None:
        for _ in range(12):
            with lock:
                before, after = delays.uniform(0, 0.15), delays.uniform(0, 0.15)
            with limiter.slot():
                time.sleep(before)  # on its way to the server
                with lock:
                    arrivals.append(time.monotonic())
                time.sleep(after)  # the answer on its way back

    run_threads(ENGINE_THREADS, work)
    assert len(arrivals) == 48
    assert most_in_one_second(arrivals) <= 20


def verifying_client(running: RunningSandbox, per_second: float | None = None) -> ProcountorClient:
    settings = ProcountorSettings(
        base_url=f"{running.service_url('procountor')}/api",
        client_id=APP_ID,
        client_secret=SecretStr(APP_SECRET),
    )
    return ProcountorClient(settings, retry=FAST_RETRY, requests_per_second=per_second)


def test_four_engine_threads_at_the_configured_pace_send_nothing_beyond_it(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    """The sandbox refuses (429) and counts every request beyond 20 in any second: none may be refused."""
    example_scenario["procountor"]["rateLimitPerSecond"] = 20
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    client = verifying_client(running)  # the default pace
    keys = [key for _, key, _ in HEALTHY.values()]

    def verify(number: int) -> None:
        for round_number in range(5):
            facts = client.company_facts(keys[(number + round_number) % len(keys)], with_dimensions=True)
            assert facts.company.error is None and facts.rights.error is None

    elapsed = run_threads(ENGINE_THREADS, verify)
    stats = running.admin.stats()["services"]["procountor"]
    sent = stats["requestsByApp"][APP_ID]
    assert sent == ENGINE_THREADS * 5 * 3 + len(keys)  # three reads per verification, one token per key
    assert stats["rateLimited"] == {}
    assert stats["peakRequestsPerSecond"][APP_ID] <= 20
    assert sent / elapsed > 8  # near the pace (a loaded machine slows it), not spaced far below it


def test_a_pace_above_procountors_page_is_the_firms_choice_and_is_warned_about(
    example_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="provider.procountor.client"):
        verifying_client(example_sandbox, per_second=20)
        assert caplog.records == []
        verifying_client(example_sandbox, per_second=45)
    (warning,) = [record.getMessage() for record in caplog.records]
    assert "procountor:requestsPerSecond is 45" in warning
    assert "may result in suspending the service" in warning and APP_ID in warning


def test_a_configured_pace_holds_through_the_engine_with_four_threads(
    sandbox: SandboxFactory, example_scenario: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """procountor:requestsPerSecond from stack config, four integrations created at once by the engine path:
    the sandbox, limited to the same pace, refuses none of their requests."""
    example_scenario["procountor"]["rateLimitPerSecond"] = 8
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    fresh_process()
    stack = Stack(running, Engine({**engine_config(running), "procountor:requestsPerSecond": "8"}))
    companies = {
        business_id: stack.company(business_id, name) for business_id, (name, _, _) in HEALTHY.items()
    }
    ordered = sorted(HEALTHY)

    def connect(number: int) -> None:
        for round_number in range(2):  # a create, then a rotation-free re-verification by refresh
            business_id = ordered[number]
            _, key, dimensions = HEALTHY[business_id]
            state = stack.integration(companies[business_id], key, dimensions)
            if round_number:
                assert stack.engine.refresh(state) is not None

    run_threads(ENGINE_THREADS, connect)
    stats = running.admin.stats()["services"]["procountor"]
    assert stats["rateLimited"] == {}
    assert stats["requestsByApp"][APP_ID] >= ENGINE_THREADS * 2 * 3
    assert stats["peakRequestsPerSecond"][APP_ID] <= 8
