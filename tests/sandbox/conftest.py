"""Helpers for the sandbox conformance tests, written from the public API descriptions (not the provider)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.support.openapi_contract import ContractTransport

# From examples/sandbox.yaml.
APP_ID = "fabricai-roster-sandbox"
APP_SECRET = "FAKE-procountor-client-secret"
OTHER_APP_ID = "other-integration-app"
OTHER_APP_SECRET = "FAKE-other-app-secret"
HEALTHY_KEY = "FAKE-pc-key-oljy-aijat-1"
PORTAL_KEY = "FAKE-portal-org-key-0001"
PORTAL_KEY_2 = "FAKE-portal-org-key-0002"


def request_token(
    procountor_url: str,
    api_key: str,
    client_id: str = APP_ID,
    client_secret: str = APP_SECRET,
    prefix: str = "/api",
) -> httpx.Response:
    """Procountor's M2M token request: a form body with the client credentials and the API key."""
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "api_key": api_key,
    }
    return httpx.post(f"{procountor_url}{prefix}/oauth/token", data=form)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_headers(procountor_url: str, api_key: str) -> dict[str, str]:
    response = request_token(procountor_url, api_key)
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def business_ids(count: int, start: int = 1000000) -> list[str]:
    """Valid Finnish business IDs (weights 7,9,10,5,8,4,2; r = sum mod 11; r=1 is never issued)."""
    found: list[str] = []
    number = start
    while len(found) < count:
        digits = f"{number:07d}"
        remainder = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
        if remainder != 1:
            found.append(f"{digits}-{0 if remainder == 0 else 11 - remainder}")
        number += 1
    return found


def portal_client(
    running: RunningSandbox, key: str = PORTAL_KEY, *, check_requests: bool = False
) -> httpx.Client:
    """An httpx client for the portal API of ``running`` with an organisation key (use it in ``with``).

    Every answer of the connection extension it receives is validated against
    docs/portal-connection-extension.openapi.yaml (``ContractTransport``); its requests too with
    ``check_requests`` (off by default: some tests send malformed requests on purpose)."""
    return httpx.Client(
        base_url=running.service_url("portal"),
        headers=bearer(key),
        timeout=30,
        transport=ContractTransport(check_requests=check_requests),
    )


@pytest.fixture
def example(example_sandbox: RunningSandbox) -> RunningSandbox:
    return example_sandbox


@pytest.fixture
def procountor_url(example: RunningSandbox) -> str:
    return example.service_url("procountor")


@pytest.fixture
def portal(example: RunningSandbox) -> Iterator[httpx.Client]:
    with portal_client(example) as client:
        yield client
