"""No secret of a Procountor roster leaks; check and diff make no network call."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, Secret, all_text
from provider.resources.client_company import ClientCompany, ClientCompanyProvider
from provider.resources.procountor_integration import ProcountorIntegration, ProcountorIntegrationProvider
from tests.conftest import SandboxFactory
from tests.support.erp_stack import (
    HEALTHY,
    SECOND_KEY,
    SECRETS,
    Stack,
    engine_config,
    fresh_process,
)
from tests.support.intercept import Intercept
from tests.support.secret_scan import leaks

ACME = "2925630-9"


BROKEN = [
    ("1243265-2", "Peruttu Avain Oy", "FAKE-pc-key-peruttu-avain"),
    ("1202527-2", "Lasku-Laiska Oy", "FAKE-pc-key-lasku-laiska"),
]


def test_no_secret_in_outputs_errors_logs_output_or_the_provider(
    stack: Stack, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    tokens: list[str] = []

    def issued(request: httpx.Request, response: httpx.Response) -> None:
        """Every access token the sandbox's Procountor hands out, as the client receives it."""
        if request.url.path.endswith("/oauth/token") and response.status_code == 200:
            tokens.append(response.json()["access_token"])

    fresh_process(transport=Intercept(after=issued))
    seen: list[Any] = []
    with caplog.at_level(logging.DEBUG):
        company, integration = stack.connect(ACME)
        rotated = stack.integration(company, SECOND_KEY, HEALTHY[ACME][2], state=integration)
        for business_id, name, key in BROKEN:
            broken = stack.company(business_id, name)
            with pytest.raises(EngineCallFailed) as failure:
                stack.integration(broken, key)
            seen.append(failure.value.details)
        for state in (
            rotated,
            company,
        ):  # inputs hold the key by design (the engine encrypts them): scan outputs
            refreshed = stack.engine.refresh(state)
            assert refreshed is not None
            seen.append(refreshed.outputs)
        stack.engine.destroy(rotated)
        stack.engine.destroy(company)
    assert tokens, "the spy saw no token, so the scan below would prove nothing"
    assert len(tokens) == stack.stats()["services"]["procountor"]["tokensIssued"]
    out, err = capfd.readouterr()
    for state in (company, integration, rotated):
        seen += [state.outputs, state.public_outputs(), state.outputs["__provider"]]
        assert "api_key" not in state.outputs
    text = "\n".join([all_text(seen), caplog.text, out, err])
    for secret in [*SECRETS, *tokens]:
        where = text.find(secret)
        assert where < 0, text[max(0, where - 300) : where + 50]
    # The fingerprint is the only trace of the key, and the resource marks it secret.
    assert rotated.outputs["api_key_fingerprint"]


def test_the_serialized_provider_is_a_reference_without_secrets(stack: Stack) -> None:
    _, integration = stack.connect(ACME)
    pickled = integration.outputs["__provider"]
    assert len(pickled) < 2000  # by reference: a name, not a class body or captured state
    assert ProcountorIntegrationProvider.serialize_as_secret_always is False
    for secret in SECRETS:
        assert secret not in pickled


def test_the_resource_classes_have_their_type_tokens_and_mark_the_fingerprint_secret() -> None:
    assert ClientCompany._resource_type_name == "dynamic/fabricai:ClientCompany"
    assert ProcountorIntegration._resource_type_name == "dynamic/fabricai:ProcountorIntegration"
    for cls, outputs in (
        (ClientCompany, ["portal_id", "status", "created_at"]),
        (ProcountorIntegration, ["api_key_fingerprint", "connection_id", "verified_rights"]),
    ):
        for output in outputs:
            assert output in cls.provider_class.schema.added_outputs
    assert ProcountorIntegration.provider_class.schema.secret_outputs == ("api_key_fingerprint",)


def test_check_and_diff_make_no_network_call(stack: Stack) -> None:
    company, integration = stack.connect(ACME)
    before = stack.stats()["requests"]
    inputs = {**integration.inputs, "api_key": SECOND_KEY, "dimensions": ["Projekti"]}
    checked, failures = stack.engine.check(ProcountorIntegrationProvider(), inputs, integration.inputs)
    assert failures == []
    outcome = stack.engine.diff(integration.id, integration.outputs, checked)
    assert outcome.has_changes and outcome.replaces == []
    moved = stack.engine.diff(integration.id, integration.outputs, {**checked, "business_id": "2077474-0"})
    assert moved.replaces == ["business_id"]
    same = stack.engine.diff(integration.id, integration.outputs, {**integration.inputs})
    assert not same.has_changes
    company_checked, _ = stack.engine.check(ClientCompanyProvider(), {**company.inputs, "tags": {"a": "b"}})
    assert stack.engine.diff(company.id, company.outputs, company_checked).has_changes
    bad, problems = stack.engine.check(
        ClientCompanyProvider(), {**company.inputs, "vat": {"mode": "partial"}}
    )
    assert problems and bad
    assert stack.stats()["requests"] == before


ECHO_SECRET = "FAKE/procountor+Secret=Ä ö"  # URL-encoding and letter case change it
ECHO_KEY = "FAKE-pc-key/Peruttu+Avain Ö"


@pytest.mark.parametrize("style", ["errors", "oauth"])
def test_credentials_a_token_endpoint_echoes_never_reach_the_operator(
    sandbox: SandboxFactory,
    example_scenario: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    style: str,
) -> None:
    """A service that quotes the refused request (its form body, URL-encoded) in its error: the client
    secret and the API key must not reach the message, in any encoding or letter case."""
    procountor = example_scenario["procountor"]
    procountor.update(refusalStyle=style, refusalEchoesRequest=True)
    procountor["apps"][0]["clientSecret"] = ECHO_SECRET
    revoked = next(company for company in procountor["companies"] if company["id"] == 206)
    revoked["apiKeys"][0]["key"] = ECHO_KEY
    example_scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(example_scenario)
    fresh_process()
    engine = Engine({**engine_config(running), "procountor:clientSecret": Secret(ECHO_SECRET)})
    company = engine.up(ClientCompanyProvider(), {"business_id": "1243265-2", "name": "Peruttu Avain Oy"})
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": "1243265-2",
        "client_name": "Peruttu Avain Oy",
        "api_key": Secret(ECHO_KEY),
        "dimensions": [],
    }
    with caplog.at_level(logging.DEBUG), pytest.raises(EngineCallFailed) as failure:
        engine.up(ProcountorIntegrationProvider(), inputs)
    details = failure.value.details
    assert "Procountor refused the client's API key" in details
    assert not leaks(f"{details}\n{caplog.text}", (ECHO_SECRET, ECHO_KEY))
