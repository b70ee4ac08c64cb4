"""ProcountorClient: token requests, the token cache, any base URL, the rate limiter and typed errors."""

from __future__ import annotations

import threading
import time
import urllib.parse
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from provider.errors import AccessDenied, ProcountorError, ServerFailure, TokenRefused
from provider.procountor.client import ProcountorClient, TokenCache
from provider.procountor.pace import limiter_for
from provider.settings import ProcountorSettings
from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.support.erp_stack import APP_ID, APP_SECRET, FAST_RETRY, HEALTHY

ACME_KEY = HEALTHY["2925630-9"][1]


def client_for(
    running: RunningSandbox, *, prefix: str = "/api", secret: str = APP_SECRET, per_second: float = 50.0
) -> ProcountorClient:
    settings = ProcountorSettings(
        base_url=f"{running.service_url('procountor')}{prefix}",
        client_id=APP_ID,
        client_secret=SecretStr(secret),
    )
    return ProcountorClient(settings, retry=FAST_RETRY, requests_per_second=per_second)


def tokens_issued(running: RunningSandbox) -> int:
    issued: int = running.admin.stats()["services"]["procountor"].get("tokensIssued", 0)
    return issued


def test_the_token_request_is_a_form_body_and_the_url_holds_no_credential() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "FAKE-token-1", "expires_in": 3600})
        return httpx.Response(200, json={"id": 7, "name": "Acme Oy"})

    settings = ProcountorSettings(
        base_url="https://pts-api.procountor.com/v2604/api",
        client_id=APP_ID,
        client_secret=SecretStr(APP_SECRET),
    )
    client = ProcountorClient(settings, retry=FAST_RETRY, transport=httpx.MockTransport(answer))
    assert client.company(ACME_KEY).name == "Acme Oy"
    token, company = seen
    assert str(token.url) == "https://pts-api.procountor.com/v2604/api/oauth/token"
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = urllib.parse.parse_qs(token.content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [APP_ID],
        "client_secret": [APP_SECRET],
        "api_key": [ACME_KEY],
    }
    assert str(company.url) == "https://pts-api.procountor.com/v2604/api/company"
    assert company.headers["Authorization"] == "Bearer FAKE-token-1"
    for request in seen:
        assert ACME_KEY not in str(request.url) and APP_SECRET not in str(request.url)
    assert APP_SECRET not in repr(client)


@pytest.mark.parametrize("prefix", ["/api", "/v2604/api", "/latest/api"])
def test_any_base_url_prefix_works(example_sandbox: RunningSandbox, prefix: str) -> None:
    assert client_for(example_sandbox, prefix=prefix).company(ACME_KEY).id == 101


def test_sixteen_concurrent_callers_of_one_key_fetch_one_token(example_sandbox: RunningSandbox) -> None:
    client = client_for(example_sandbox)
    barrier = threading.Barrier(16)
    names: list[str] = []

    def verify() -> None:
        barrier.wait()
        names.append(client.company(ACME_KEY).name)

    threads = [threading.Thread(target=verify) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert names == ["Öljy-Äijät Oy"] * 16
    assert tokens_issued(example_sandbox) == 1


def test_a_token_refused_with_401_is_renewed_once(example_sandbox: RunningSandbox) -> None:
    client = client_for(example_sandbox)
    client.company(ACME_KEY)
    example_sandbox.admin.reset()  # Procountor forgets every token it issued
    rights = client.user_rights(ACME_KEY).rights
    assert rights is not None and rights["purchases"]["productRegister"] == "ALL_RIGHTS"
    assert tokens_issued(example_sandbox) == 1


def test_a_token_is_renewed_before_it_expires() -> None:
    fetched: list[str] = []

    def fetch(api_key: str) -> tuple[str, float]:
        fetched.append(api_key)
        return f"FAKE-token-{len(fetched)}", 0.05

    cache = TokenCache(fetch)
    assert cache.get(ACME_KEY) == cache.get(ACME_KEY) == "FAKE-token-1"
    time.sleep(0.05)  # past the renewal point (a tenth of the lifetime before expiry)
    assert cache.get(ACME_KEY) == "FAKE-token-2"
    cache.discard(ACME_KEY, "FAKE-token-1")  # a stale discard does not drop the newer token
    assert cache.get(ACME_KEY) == "FAKE-token-2"
    assert ACME_KEY not in repr(cache.__dict__["_tokens"])


def test_clients_of_one_application_share_one_rate_limit(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["procountor"]["rateLimitPerSecond"] = 10
    running = sandbox(example_scenario)
    # Each client alone paces at 10/s: only a shared limiter keeps the two at the sandbox's 10/s.
    clients = [client_for(running, per_second=10), client_for(running, per_second=10)]
    assert limiter_for(f"{running.service_url('procountor')}/api/", APP_ID, 20) is limiter_for(
        f"{running.service_url('procountor')}/api/", APP_ID, 99
    )

    def read(client: ProcountorClient) -> None:
        for _ in range(5):
            client.company(ACME_KEY)

    threads = [threading.Thread(target=read, args=(clients[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = running.admin.stats()["services"]["procountor"]
    assert stats["rateLimited"] == {}
    assert stats["requestsByApp"][APP_ID] == 20 + 2  # two clients, one token each


def test_typed_errors(example_sandbox: RunningSandbox) -> None:
    client = client_for(example_sandbox)
    with pytest.raises(ServerFailure):
        client.company("FAKE-pc-key-lasku-laiska")
    with pytest.raises(AccessDenied) as denied:
        client.company("FAKE-pc-key-johto-puute")
    assert denied.value.path == "company"
    # Procountor's errors[] refusal names no cause; a client whose credentials never worked cannot tell.
    with pytest.raises(TokenRefused) as wrong_app:
        client_for(example_sandbox, secret="FAKE-wrong-secret").token(ACME_KEY)
    assert wrong_app.value.field is None and wrong_app.value.status_code == 401
    # Once the same client credentials got a token for another key, the refused key is the cause.
    with pytest.raises(TokenRefused) as revoked:
        client.token("FAKE-pc-key-peruttu-avain")
    assert revoked.value.field == "api_key"
    for error in (denied.value, revoked.value, wrong_app.value):
        assert "FAKE-pc-key" not in str(error) and "FAKE-wrong-secret" not in str(error)


def company_reads(running: RunningSandbox) -> int:
    reads: int = running.admin.stats()["requests"]["procountor"]["byPath"].get("/procountor/api/company", 0)
    return reads


def test_a_500_after_the_token_is_asked_once(example_sandbox: RunningSandbox) -> None:
    """The guide's billable-interfaces answer: asking again cannot change it, it only costs time."""
    client = client_for(example_sandbox)
    with pytest.raises(ServerFailure) as billable_off:
        client.company("FAKE-pc-key-lasku-laiska")
    assert company_reads(example_sandbox) == 1
    client.token(ACME_KEY)
    example_sandbox.admin.set_faults("procountor", errorRate=1.0, errorStatus=500)
    with pytest.raises(ServerFailure) as failing:
        client.company(ACME_KEY)
    assert company_reads(example_sandbox) == 2
    for error in (billable_off.value, failing.value):
        assert error.retryable and error.status_code == 500
        assert "'Internal server error' (HTTP 500) while reading company" in str(error)


@pytest.mark.parametrize("status", [502, 503])
def test_other_5xx_after_the_token_are_still_retried(example_sandbox: RunningSandbox, status: int) -> None:
    client = client_for(example_sandbox)
    client.token(ACME_KEY)
    example_sandbox.admin.set_faults("procountor", errorRate=1.0, errorStatus=status)
    with pytest.raises(ProcountorError) as failure:
        client.company(ACME_KEY)
    assert not isinstance(failure.value, ServerFailure) and failure.value.retryable
    assert f"(last answer HTTP {status})" in str(failure.value)
    assert company_reads(example_sandbox) == FAST_RETRY.max_attempts
