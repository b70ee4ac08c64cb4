"""The retry policy's rule for writes: a write that may have been processed is never sent twice in a run.

Unit tests of ``RetryPolicy.call``, then the two races a red team reproduced against the sandbox: a
registration POST and a connection PUT that the portal was still processing when the provider gave up on
their answer, and that landed after the provider had retried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, Secret
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.retry import RetryableStatus, RetryPolicy
from sandbox.server import RunningSandbox
from tests.support.erp_stack import HEALTHY, company_inputs, firm_config, fresh_process
from tests.support.intercept import Intercept

FAST = RetryPolicy(max_attempts=4, initial_wait=0.001, max_wait=0.01, max_retry_after=0.02)
ACME = "2925630-9"


def answer(status: int) -> RetryableStatus:
    return RetryableStatus(httpx.Response(status, request=httpx.Request("POST", "https://portal.test/x")))


def counted(*outcomes: BaseException | str) -> tuple[Callable[[], str], list[int]]:
    """An attempt that raises or returns each outcome in turn; and how many times it was sent."""
    sent = [0]

    def attempt() -> str:
        outcome = outcomes[min(sent[0], len(outcomes) - 1)]
        sent[0] += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return attempt, sent


@pytest.mark.parametrize(
    "lost",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("dropped"),
        answer(504),
        answer(502),
        answer(500),
    ],
    ids=["read timeout", "dropped", "504", "502", "500"],
)
def test_a_write_that_may_have_been_processed_is_looked_for_never_sent_again(lost: BaseException) -> None:
    attempt, sent = counted(lost, "sent twice")
    looks = iter([None, None, "found by the look-up"])
    assert FAST.call(attempt, idempotent=False, describe="POST", recover=lambda: next(looks)) == (
        "found by the look-up"
    )
    assert sent == [1]


def test_when_the_look_up_never_finds_it_the_first_error_is_raised_and_nothing_was_resent() -> None:
    attempt, sent = counted(httpx.ReadTimeout("timed out"), "sent twice")
    with pytest.raises(httpx.ReadTimeout):
        FAST.call(attempt, idempotent=False, describe="POST", recover=lambda: None)
    assert sent == [1]
    without_look_up, sent_once = counted(answer(504), "sent twice")
    with pytest.raises(RetryableStatus):
        FAST.call(without_look_up, idempotent=False, describe="PUT")
    assert sent_once == [1]


@pytest.mark.parametrize(
    "refused",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("no connection"), answer(429)],
    ids=["connect error", "connect timeout", "429"],
)
def test_a_write_that_certainly_was_not_processed_is_sent_again(refused: BaseException) -> None:
    attempt, sent = counted(refused, "sent again")
    assert FAST.call(attempt, idempotent=False, describe="POST", recover=lambda: None) == "sent again"
    assert sent == [2]


def test_an_idempotent_call_is_sent_again_after_any_retryable_failure() -> None:
    attempt, sent = counted(httpx.ReadTimeout("timed out"), answer(504), "done")
    assert FAST.call(attempt, idempotent=True, describe="GET") == "done"
    assert sent == [3]


# ---- the races, against the sandbox ----------------------------------------------------------------------


@pytest.fixture
def first_write_lands_late() -> Iterator[Callable[[str, str], list[int]]]:
    """``arm(method, path_end)``: the first such request is answered 504 at once (a proxy giving up) and
    reaches the sandbox 0.5 s later (the backend still working on it). Returns the count of those sent."""
    late: list[threading.Thread] = []

    def arm(method: str, path_end: str) -> list[int]:
        sent = [0]

        def before(request: httpx.Request) -> httpx.Response | None:
            if request.method != method or not request.url.path.endswith(path_end):
                return None
            sent[0] += 1
            if sent[0] > 1:
                return None
            body, headers, url = request.content, dict(request.headers), str(request.url)

            def land() -> None:
                time.sleep(0.5)
                httpx.request(method, url, content=body, headers=headers)

            late.append(threading.Thread(target=land))
            late[-1].start()
            return httpx.Response(504, json={"error": "gateway timeout"}, request=request)

        fresh_process(transport=Intercept(before=before))
        return sent

    yield arm
    for thread in late:
        thread.join()


def test_a_registration_still_in_flight_is_never_made_twice(
    example_sandbox: RunningSandbox, first_write_lands_late: Callable[[str, str], list[int]]
) -> None:
    sent = first_write_lands_late("POST", "/clients")
    engine = Engine(firm_config(example_sandbox))
    try:
        engine.up(ClientCompanyProvider(), company_inputs(ACME, "Acme Oy"))
    except EngineCallFailed as failed:  # the look-up ran out before the late write landed: said so
        assert "may" in failed.details
    time.sleep(1.0)
    assert sent == [1]
    assert example_sandbox.admin.stats()["services"]["portal"]["clients"] == 1
    # The next run takes the record back by its stack tag: still one.
    fresh_process()
    taken = Engine(firm_config(example_sandbox)).up(ClientCompanyProvider(), company_inputs(ACME, "Acme Oy"))
    assert taken.outputs["portal_id"] and example_sandbox.admin.stats()["services"]["portal"]["clients"] == 1


def test_a_connection_put_still_in_flight_never_leaves_the_state_on_a_replaced_connection(
    example_sandbox: RunningSandbox, first_write_lands_late: Callable[[str, str], list[int]]
) -> None:
    name, key, dimensions = HEALTHY[ACME]
    config = {**firm_config(example_sandbox), "roster:procountorApiKeys": Secret({ACME: key})}
    fresh_process()
    company = Engine(config).up(ClientCompanyProvider(), company_inputs(ACME, name))
    client_id = int(company.outputs["portal_id"])
    sent = first_write_lands_late("PUT", f"/clients/{client_id}/connection")
    engine = Engine(config)
    inputs = {
        "client_id": client_id,
        "business_id": ACME,
        "client_name": name,
        "api_key": Secret(key),
        "dimensions": dimensions,
    }
    with pytest.raises(EngineCallFailed) as failed:
        engine.up(ProcountorIntegrationProvider(), inputs)
    assert "may or may not have applied the change" in failed.value.details
    time.sleep(1.0)
    assert sent == [1]  # not sent again in that run
    # The next run's PUT replaces whatever the late one left: the state names the portal's connection.
    connected = engine.up(ProcountorIntegrationProvider(), inputs)
    portal = httpx.get(
        f"{config['fabricai:portalUrl']}/clients/{client_id}/connection",
        headers={"Authorization": f"Bearer {config['fabricai:apiKey'].value}"},
    ).json()["data"]
    assert connected.id == portal["id"]
