"""The Netvisor client over HTTP: against the sandbox (examples/sandbox.yaml) and httpx.MockTransport."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from pydantic import SecretStr

from provider.errors import (
    CompanyNotReachable,
    ConfigurationError,
    CredentialsRejected,
    HostileAnswer,
    NetvisorError,
    ResourceNotAllowed,
)
from provider.netvisor import signing
from provider.netvisor.client import Company, NetvisorClient
from provider.netvisor.signing import Credentials, RequestStamp, new_stamp
from provider.retry import RetryPolicy
from provider.settings import NetvisorSettings
from sandbox.scenario import EXAMPLE_SCENARIO_PATH, load_scenario
from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory

EXAMPLE = load_scenario(EXAMPLE_SCENARIO_PATH).netvisor
PARTNER = EXAMPLE.partners[0]
FIRM = EXAMPLE.customers[0]
SECOND = EXAMPLE.customers[1]
FAST = RetryPolicy(max_attempts=4, initial_wait=0.005, max_wait=0.02, max_retry_after=0.02)
BETA = Company("1572860-0", "Beta Oy (1572860-0)")
SECRETS = (PARTNER.key, FIRM.key, SECOND.key)


def settings(base_url: str, partner_key: str = PARTNER.key) -> NetvisorSettings:
    return NetvisorSettings(
        base_url=base_url, partner_id=PARTNER.id, partner_key=SecretStr(partner_key), sender="roster tests"
    )


def firm(key: str = FIRM.key) -> Credentials:
    return Credentials(customer_id=FIRM.id, customer_key=SecretStr(key))


@pytest.fixture
def running(sandbox: SandboxFactory) -> RunningSandbox:
    return sandbox()


@pytest.fixture
def client(running: RunningSandbox) -> Iterator[NetvisorClient]:
    client = NetvisorClient(settings(running.service_url("netvisor")), retry=FAST)
    yield client
    client.close()


@pytest.fixture
def slow(sandbox: SandboxFactory, example_scenario: dict[str, Any]) -> RunningSandbox:
    """The example sandbox, each Netvisor request in flight for 150 ms: overlaps are certain, not luck."""
    example_scenario["netvisor"]["processingDelayMs"] = 150
    return sandbox(example_scenario)


def netvisor_stats(running: RunningSandbox) -> dict[str, object]:
    stats: dict[str, object] = running.admin.stats()["services"]["netvisor"]
    return stats


def test_reads_the_three_resources_of_a_healthy_company(client: NetvisorClient) -> None:
    invoices = client.purchase_invoices(firm(), BETA, today=dt.date(2025, 2, 10))
    assert [(invoice.number, invoice.total) for invoice in invoices] == [
        ("24017", Decimal("124.00")),
        ("8841", Decimal("1850.00")),
    ]
    assert {account.number for account in client.accounts(firm(), BETA)} >= {"4000", "2871"}
    dimensions = {d.name: d for d in client.dimensions(firm(), BETA)}
    assert dimensions["Kustannuspaikka"].items == ("Hallinto", "Myynti", "Tuotanto")
    assert dimensions["Vanha jaottelu"].hidden


def test_answers_become_typed_errors_without_secrets(running: RunningSandbox, client: NetvisorClient) -> None:
    with pytest.raises(CredentialsRejected) as rejected:
        client.accounts(firm(key="not-the-key"), BETA)
    with pytest.raises(CompanyNotReachable) as unreachable:
        client.accounts(firm(), Company("2449489-3", "Ulkopuolinen Oy (2449489-3)"))
    with pytest.raises(ResourceNotAllowed) as denied:
        client.purchase_invoices(firm(), Company("2236067-2", "Osto-Ovi Kiinni Oy (2236067-2)"))
    assert str(rejected.value).startswith("Beta Oy (1572860-0): Netvisor answered AUTHENTICATION_FAILED")
    assert "Ulkopuolinen Oy (2449489-3)" in str(unreachable.value)
    assert denied.value.code == "SERVICE_ACCESS_ERROR"
    text = "\n".join(str(error.value) for error in (rejected, unreachable, denied))
    assert not any(secret in text for secret in (*SECRETS, "not-the-key"))


def test_one_request_at_a_time_per_customer_environment(slow: RunningSandbox) -> None:
    """8 reads of one pair from 4 threads (and the second pair alongside): never two in flight per pair."""
    client = NetvisorClient(settings(slow.service_url("netvisor")), retry=FAST)
    second = Credentials(customer_id=SECOND.id, customer_key=SecretStr(SECOND.key))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: client.accounts(c, BETA), [firm()] * 8 + [second] * 2))
    client.close()
    assert all(results)
    stats = netvisor_stats(slow)
    assert stats["concurrencyViolations"] == 0
    assert stats["maxInFlightPerCustomer"] == 1


def test_without_the_lock_the_sandbox_sees_overlapping_requests(slow: RunningSandbox) -> None:
    """The control for the test above: the same load signed by hand, with no lock, does overlap."""
    running = slow
    url = f"{running.service_url('netvisor')}/accountlist.nv"
    partner = signing.Partner(PARTNER.id, SecretStr(PARTNER.key), "roster tests", "FI")
    barrier = threading.Barrier(4)

    def unlocked_request(_: int) -> int:
        headers = signing.sign(
            url, partner=partner, credentials=firm(), organisation_id=BETA.business_id, stamp=new_stamp()
        )
        barrier.wait()
        return httpx.get(url, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(unlocked_request, range(4)))
    stats = netvisor_stats(running)
    assert stats["maxInFlightPerCustomer"] > 1  # type: ignore[operator]
    assert stats["concurrencyViolations"] > 0  # type: ignore[operator]
    assert 429 in statuses


def repeating_first_id() -> Callable[[], RequestStamp]:
    """Stamps whose first two transaction ids are the same (as a buggy id source would make them)."""
    stamps = [new_stamp()]

    def next_stamp() -> RequestStamp:
        if len(stamps) < 3:
            stamps.append(stamps[0] if len(stamps) == 1 else new_stamp())
            return stamps[-2]
        return new_stamp()

    return next_stamp


def test_request_not_unique_is_retried_with_a_new_transaction_id(running: RunningSandbox) -> None:
    client = NetvisorClient(
        settings(running.service_url("netvisor")), retry=FAST, stamps=repeating_first_id()
    )
    client.accounts(firm(), BETA)
    client.accounts(firm(), BETA)  # its first attempt reuses the id; the retry signs with a new one
    stats = netvisor_stats(running)
    assert stats["failures"] == {"REQUEST_NOT_UNIQUE": 1}
    assert stats["requests"] == {"accountlist.nv": 3}


def test_5xx_429_and_drops_are_retried_each_with_a_new_signature(running: RunningSandbox) -> None:
    running.admin.set_faults("netvisor", errorRate=0.3, rateLimitRate=0.2, dropRate=0.2, seed=3)
    seen: list[str] = []

    def recording_stamp() -> RequestStamp:
        stamp = new_stamp()
        seen.append(stamp.transaction_id)
        return stamp

    client = NetvisorClient(
        settings(running.service_url("netvisor")),
        retry=RetryPolicy(max_attempts=12, initial_wait=0.002, max_wait=0.01, max_retry_after=0.01),
        stamps=recording_stamp,
    )
    for _ in range(5):
        assert client.accounts(firm(), BETA)
    injected = running.admin.stats()["faults"]["netvisor"]["injected"]
    assert sum(injected.values()) > 0
    assert len(seen) == len(set(seen)) == 5 + sum(injected.values())
    assert netvisor_stats(running)["failures"] == {}


def test_gives_up_after_retries_with_a_retryable_error(
    running: RunningSandbox, client: NetvisorClient
) -> None:
    running.admin.set_faults("netvisor", errorRate=1.0, errorStatus=502)
    with pytest.raises(NetvisorError) as failed:
        client.accounts(firm(), BETA)
    assert failed.value.retryable
    assert "Beta Oy (1572860-0)" in str(failed.value) and "HTTP 502" in str(failed.value)


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> NetvisorClient:
    return NetvisorClient(
        settings("https://netvisor.test"), retry=FAST, transport=httpx.MockTransport(handler)
    )


def test_hostile_answers_fail_cleanly_through_the_client() -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE Root [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Root><ResponseStatus><Status>OK</Status></ResponseStatus><AccountList><Accounts><Account>"
        b"<NetvisorKey>1</NetvisorKey><Number>&b;&x;</Number></Account></Accounts></AccountList></Root>"
    )
    client = mock_client(lambda request: httpx.Response(200, content=payload))
    with pytest.raises(HostileAnswer) as refused:
        client.accounts(firm(), BETA)
    message = str(refused.value)
    assert "aaaaaaaaaa" not in message and "root:" not in message
    assert message.startswith("Beta Oy (1572860-0): Netvisor's answer to accountlist.nv declared a DTD")


def test_a_mac_echo_never_leaks_a_key() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        echoed = f"x&{FIRM.key}&{PARTNER.key}"
        text = f"AUTHENTICATION_FAILED :: MAC is miscalculated. Expected MAC of string: {echoed}"
        statuses = f"<Status>FAILED</Status><Status>{escape(text)}</Status>"
        body = f"<Root><ResponseStatus>{statuses}</ResponseStatus></Root>"
        return httpx.Response(401, content=body.encode())

    with pytest.raises(CredentialsRejected) as rejected:
        mock_client(echo).accounts(firm(), BETA)
    assert not any(secret in str(rejected.value) for secret in SECRETS)
    assert "x&[redacted]&[redacted]" in str(rejected.value)


def test_values_latin1_cannot_encode_are_refused_before_sending() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    with pytest.raises(ConfigurationError) as refused:
        mock_client(record).accounts(Credentials("käyttäjä€", SecretStr("k")), BETA)
    assert sent == []
    assert str(refused.value).startswith("Beta Oy (1572860-0): the customer id contains a character")


# AUTHENTICATION_FAILED answers and what they are about. Netvisor gives no sub-code, so the client reads
# the free text (see provider/netvisor/client.py, _about_organisation). The key wordings are Netvisor's
# own as published (its "Controlling errors" support page; fixtures of independent clients); the
# organisation wordings are the sandbox's and our Finnish rendering of it: no public capture exists.
AUTHENTICATION_ANSWERS = [
    ("Integration keys are not valid. Please check the keys specific to the user and partner.", False),
    ("Integraatiokumppania ei löydy, katso dokumentaatio", False),
    (
        "URI-metodi ei kelpaa, katso dokumentaatio. Käytä MAC-tiivisteen laskentaan merkkijonoa: "
        "https://isvapi.netvisor.fi/accountlist.nv&roster&TT_tase_api_1&2023-06-05T13:12:06.378Z&FI"
        "&2449489-3&TRANSID1&*** :: F634424F",
        False,
    ),
    ("MAC is miscalculated. Expected MAC of string: x&y&FI&2449489-3 (organisation id 2449489-3)", False),
    ("The user of these API credentials has no rights to organisation 2449489-3.", True),
    ("The user has no access to the organization 2449489-3", True),
    ("Käyttäjällä ei ole oikeuksia organisaatioon 2449489-3", True),
]


@pytest.mark.parametrize(("text", "about_the_company"), AUTHENTICATION_ANSWERS)
def test_authentication_failures_about_keys_or_the_company(text: str, about_the_company: bool) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        statuses = f"<Status>FAILED</Status><Status>{escape(f'AUTHENTICATION_FAILED :: {text}')}</Status>"
        return httpx.Response(
            200, content=f"<Root><ResponseStatus>{statuses}</ResponseStatus></Root>".encode()
        )

    with pytest.raises(NetvisorError) as failed:
        mock_client(answer).accounts(firm(), BETA)
    expected = CompanyNotReachable if about_the_company else CredentialsRejected
    assert type(failed.value) is expected
