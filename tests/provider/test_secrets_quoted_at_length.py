"""A service that quotes what it was sent, at any length: no part of a key ever shows.

A quote is shortened for the message; were it shortened before the redaction, a key cut at the limit would no
longer match any of its forms and its first characters would show. Each test pads the echo so that the key
straddles every limit the messages use, and asserts that not even eight of its characters in a row appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from harness.engine import Engine, EngineCallFailed, ResourceState, Secret
from provider.errors import PortalError, TokenRefused
from provider.procountor.client import ProcountorClient
from provider.redaction import redacted_quote
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from provider.settings import ProcountorSettings
from sandbox.server import RunningSandbox
from tests.support.erp_stack import (
    APP_ID,
    FAST_RETRY,
    HEALTHY,
    company_inputs,
    firm_config,
    fresh_process,
)
from tests.support.intercept import Intercept

ACME = "2925630-9"
CLIENT_KEY = "FAKE-pc-key-0123456789abcdefghijklmnopqrstuv"
ORG_KEY = "FAKE-org-key-ZYXWVUTSRQPONMLKJIHGFEDCBA9876"
PARTNER_SECRET = "FAKE-app-secret-9q8w7e6r5t4y3u2i1o0p"  # distinct from every word of the messages
# Where a key may start in the echo: around each limit a message uses (300 characters of a quote, 1,000 of a
# whole message), and well inside them.
PADDINGS = (10, 250, 270, 285, 295, 299, 900, 960, 985, 995)


def no_part_of(secret: str, text: str) -> bool:
    """Not even eight characters of ``secret`` in a row appear in ``text``."""
    return not any(secret[start : start + 8] in text for start in range(len(secret) - 7))


def padded(length: int) -> str:
    return "x" * length


@pytest.mark.parametrize("padding", PADDINGS)
def test_redacted_quote_redacts_before_it_shortens(padding: int) -> None:
    quoted = redacted_quote(f"{padded(padding)} key={CLIENT_KEY} end", [CLIENT_KEY], 300)
    assert no_part_of(CLIENT_KEY, quoted) and len(quoted) <= 300


def test_a_service_error_is_shortened_only_when_shown() -> None:
    error = PortalError("The FabricAI portal refused it: " + padded(2_000))
    assert len(str(error)) == PortalError.SHOWN_LIMIT and str(error).endswith("...")
    assert len(error.args[0]) > 2_000  # whole, for every layer that still has a secret to redact


@pytest.mark.parametrize("padding", PADDINGS)
def test_a_portal_refusal_quoting_the_request_body_shows_no_part_of_the_client_key(padding: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        return httpx.Response(400, json={"error": f"bad request: {padded(padding)} body={body}"})

    fresh_process(transport=httpx.MockTransport(answer))
    engine = Engine({"fabricai:portalUrl": "http://portal.test/portal", "fabricai:apiKey": Secret(ORG_KEY)})
    inputs = {"client_id": 7, "business_id": ACME, "client_name": "Acme Oy", "api_key": Secret(CLIENT_KEY)}
    with pytest.raises(EngineCallFailed) as failure:
        engine.up(ProcountorIntegrationProvider(), inputs)
    assert "HTTP 400" in failure.value.details
    assert no_part_of(CLIENT_KEY, failure.value.details) and no_part_of(ORG_KEY, failure.value.details)


@pytest.mark.parametrize("padding", PADDINGS)
def test_a_portal_refusal_quoting_the_authorization_header_shows_no_part_of_the_org_key(padding: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"error": f"{padded(padding)} auth={request.headers['authorization']}"}
        )

    fresh_process(transport=httpx.MockTransport(answer))
    engine = Engine({"fabricai:portalUrl": "http://portal.test/portal", "fabricai:apiKey": Secret(ORG_KEY)})
    with pytest.raises(EngineCallFailed) as failure:
        engine.up(ClientCompanyProvider(), {"business_id": ACME, "name": "Acme Oy"})
    assert "HTTP 400" in failure.value.details
    assert no_part_of(ORG_KEY, failure.value.details)


@pytest.mark.parametrize("padding", PADDINGS)
def test_a_procountor_token_refusal_quoting_the_form_shows_no_part_of_either_secret(padding: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        form = request.content.decode()
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": f"{padded(padding)} {form}"}
        )

    settings = ProcountorSettings(
        base_url="https://pts-api.procountor.com/api",
        client_id=APP_ID,
        client_secret=SecretStr(PARTNER_SECRET),
    )
    client = ProcountorClient(settings, retry=FAST_RETRY, transport=httpx.MockTransport(answer))
    with pytest.raises(TokenRefused) as refused:
        client.company(CLIENT_KEY)
    assert no_part_of(CLIENT_KEY, str(refused.value)) and no_part_of(PARTNER_SECRET, str(refused.value))


def connected_acme(running: RunningSandbox) -> tuple[Engine, dict[str, Any], ResourceState]:
    """Acme registered and connected on a firm's stack whose config holds its key (as the program hands the
    roster's keys to the provider): the engine, the integration's inputs and its state."""
    name, key, dimensions = HEALTHY[ACME]
    engine = Engine({**firm_config(running), "roster:procountorApiKeys": Secret({ACME: key})})
    company = engine.up(ClientCompanyProvider(), company_inputs(ACME, name))
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": ACME,
        "client_name": name,
        "api_key": Secret(key),
        "dimensions": dimensions,
    }
    return engine, inputs, engine.up(ProcountorIntegrationProvider(), inputs)


@pytest.fixture
def echoing_stored_credentials() -> Iterator[dict[str, bool]]:
    """The portal's re-verification of a stored connection answers 400 quoting the key it holds, once on."""
    echo = {"on": False}
    key = HEALTHY[ACME][1]

    def before(request: httpx.Request) -> httpx.Response | None:
        if echo["on"] and request.method == "POST" and request.url.path.endswith("/verify"):
            quoted = f"{padded(280)} stored credentials {{'apiKey': '{key}'}} could not be used"
            return httpx.Response(400, json={"error": quoted})
        return None

    fresh_process(transport=Intercept(before=before))
    yield echo


def test_a_refresh_whose_reverification_quotes_the_stored_key_keeps_it_out_of_the_health_detail(
    example_sandbox: RunningSandbox, echoing_stored_credentials: dict[str, bool]
) -> None:
    key = HEALTHY[ACME][1]
    engine, _, created = connected_acme(example_sandbox)
    echoing_stored_credentials["on"] = True
    refreshed = engine.refresh(created)
    assert refreshed is not None
    detail = refreshed.outputs["erp_health_detail"]
    assert refreshed.outputs["erp_health"] == "UNKNOWN" and "HTTP 400" in detail
    assert "erp_health_detail" not in refreshed.secret_keys  # a plain output: the key must not be in it
    assert no_part_of(key, detail)


@pytest.fixture
def echoing_on_every_connection_call() -> Iterator[dict[str, bool]]:
    """Once on, every call on a client's connection answers 400 quoting the key the portal holds."""
    echo = {"on": False}
    key = HEALTHY[ACME][1]

    def before(request: httpx.Request) -> httpx.Response | None:
        if echo["on"] and "/connection" in request.url.path:
            return httpx.Response(400, json={"error": f"stored credentials {{'apiKey': '{key}'}} refused"})
        return None

    fresh_process(transport=Intercept(before=before))
    yield echo


@pytest.mark.parametrize("step", ["update", "refresh", "destroy"])
def test_no_step_quotes_a_stored_key_the_portal_echoes(
    example_sandbox: RunningSandbox, echoing_on_every_connection_call: dict[str, bool], step: str
) -> None:
    """Not only the request's own secrets: every key stack config holds is kept out of every message
    (an update that re-verifies, a refresh that reads the connection, a delete that disconnects it)."""
    key, dimensions = HEALTHY[ACME][1:]
    engine, inputs, created = connected_acme(example_sandbox)
    provider = ProcountorIntegrationProvider()
    echoing_on_every_connection_call["on"] = True
    with pytest.raises(EngineCallFailed) as failure:
        if step == "update":
            engine.up(provider, {**inputs, "dimensions": [*dimensions, "Projekti"]}, state=created)
        elif step == "refresh":
            engine.refresh(created)
        else:
            engine.destroy(created)
    assert "HTTP 400" in failure.value.details
    assert no_part_of(key, failure.value.details)
