"""A firm's stack: no partner secret anywhere, the FabricAI portal verifies (docs/PORTAL_API.md, "Who
verifies"); and the same words whichever path verified.

The firm's engine holds only what a firm holds: the portal key and its clients' ERP credentials. The
sandbox's portal plays FabricAI (its verifier, written apart from provider/, calls the sandbox's
Procountor and Netvisor with the partner credentials of the scenario). Partner mode runs the same
clients against a portal that stores unverified, the provider checking them itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, Secret
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from provider.resources.netvisor_integration import NetvisorIntegrationProvider
from provider.resources.procountor_integration import ProcountorIntegrationProvider
from sandbox.server import RunningSandbox
from tests.support import erp_stack
from tests.support.erp_stack import (
    BETA,
    FIRM,
    HEALTHY,
    PORTAL_KEY,
    SECOND_KEY,
    SECRETS,
    company_inputs,
    engine_config,
    firm_config,
    fresh_process,
)
from tests.support.openapi_contract import ContractTransport
from tests.support.secret_scan import ECHO_FORM_NAMES, echo_forms, leaks

ACME = "2925630-9"
# Every broken client of examples/sandbox.yaml: business ID -> (name, ERP, its credentials).
BROKEN_PROCOUNTOR = {
    "1202527-2": ("Lasku-Laiska Oy", "FAKE-pc-key-lasku-laiska"),
    "1303819-8": ("Johto-Puute Oy", "FAKE-pc-key-johto-puute"),
    "3247652-1": ("Osto-Esto Oy", "FAKE-pc-key-osto-esto"),
    "1394810-8": ("Kirjanpito-Kato Oy", "FAKE-pc-key-kirjanpito-kato"),
    "2718282-8": ("Käyttäjä-Kielto Oy", "FAKE-pc-key-kayttaja-kielto"),
    "2533810-4": ("Kaikki-Vinossa Oy", "FAKE-pc-key-kaikki-vinossa"),
    "1243265-2": ("Peruttu Avain Oy", "FAKE-pc-key-peruttu-avain"),
    "1900509-8": ("Väärä Sovellus Oy", "FAKE-pc-key-vaara-sovellus"),
    # Sauna-Saarinen Oy's key listed under another company (examples/Pulumi.sandbox-broken.yaml).
    "1632707-5": ("Harhautettu Oy", "FAKE-pc-key-sauna-saarinen"),
    # A healthy company asked for a dimension it does not have.
    "2077474-0": ("Kahvila Kuppi Oy", "FAKE-pc-key-kahvila-kuppi"),
}
PROCOUNTOR_DIMENSIONS = {"2077474-0": ["Projekti"]}
BROKEN_NETVISOR = {
    "2236067-2": "Osto-Ovi Kiinni Oy",
    "2645751-9": "Kirjaamaton Oy",
    "3316624-2": "Laskentakohteeton Oy",
    "2449489-3": "Ulkopuolinen Oy",
    "1572860-0": "Beta Oy",  # a dimension Netvisor does not have
}
NETVISOR_DIMENSIONS = {"1572860-0": ["Tuntematon"]}
WRONG_PAIR = ("1618033-3", "Kirja-Kettu Oy")  # the firm's pair with a wrong key


def message_of(call: Any) -> str:
    """The operator's message of a failed call: what the engine shows, without the servicer's frames."""
    with pytest.raises(EngineCallFailed) as failure:
        call()
    details: str = failure.value.details
    return re.sub(r"(?s)^Traceback.*?\n(?=\S)", "", details.split("provider.errors.", 1)[-1]).strip()


def procountor_failure(engine: Engine, business_id: str, name: str, key: str) -> str:
    company = engine.up(ClientCompanyProvider(), company_inputs(business_id, name))
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": business_id,
        "client_name": name,
        "api_key": Secret(key),
        "dimensions": PROCOUNTOR_DIMENSIONS.get(business_id, []),
    }
    return message_of(lambda: engine.up(ProcountorIntegrationProvider(), inputs))


def netvisor_failure(engine: Engine, business_id: str, name: str, key: str = FIRM.key) -> str:
    company = engine.up(ClientCompanyProvider(), company_inputs(business_id, name))
    inputs = {
        "client_id": company.outputs["portal_id"],
        "business_id": business_id,
        "client_name": name,
        "customer_id": FIRM.id,
        "customer_key": Secret(key),
        "dimensions": NETVISOR_DIMENSIONS.get(business_id, []),
    }
    return message_of(lambda: engine.up(NetvisorIntegrationProvider(), inputs))


def broken_messages(running: RunningSandbox, config: dict[str, Any]) -> dict[str, str]:
    fresh_process()
    engine = Engine(config)
    messages = {
        business_id: procountor_failure(engine, business_id, name, key)
        for business_id, (name, key) in BROKEN_PROCOUNTOR.items()
    }
    messages.update(
        (business_id, netvisor_failure(engine, business_id, name))
        for business_id, name in BROKEN_NETVISOR.items()
    )
    messages["wrong-pair"] = netvisor_failure(engine, *WRONG_PAIR, key="FAKE-wrong-customer-key")
    return messages


def test_every_broken_client_says_the_same_words_both_ways(
    example_sandbox: RunningSandbox, partner_sandbox: RunningSandbox
) -> None:
    """16 broken clients (10 Procountor, 6 Netvisor): FabricAI's verdict and the provider's own, worded by
    the same code, read the same; and no connection was stored for any of them."""
    firm = broken_messages(example_sandbox, firm_config(example_sandbox))
    partner = broken_messages(partner_sandbox, engine_config(partner_sandbox))
    assert len(firm) == 16
    for business_id, message in firm.items():
        assert message == partner[business_id], business_id
        assert "Fix:" in message, business_id
    for running in (example_sandbox, partner_sandbox):
        assert running.admin.stats()["services"]["portal"].get("connections", 0) == 0
    assert "belongs to Sauna-Saarinen Oy (2358253-3)" in firm["1632707-5"]
    assert "API key for 1632707-5" in firm["1632707-5"]
    assert not leaks("\n".join(firm.values()), [*SECRETS, "FAKE-wrong-customer-key"])


def test_a_firm_connects_verifies_rotates_and_sees_erp_health(
    example_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The firm's whole life of one client, every exchange with the extension checked against
    docs/portal-connection-extension.openapi.yaml."""
    fresh_process(transport=ContractTransport())
    engine = Engine(firm_config(example_sandbox))
    name, key, dimensions = HEALTHY[ACME]
    with caplog.at_level(logging.DEBUG):
        company = engine.up(ClientCompanyProvider(), company_inputs(ACME, name))
        inputs = {
            "client_id": company.outputs["portal_id"],
            "business_id": ACME,
            "client_name": name,
            "api_key": Secret(key),
            "dimensions": dimensions,
        }
        created = engine.up(ProcountorIntegrationProvider(), inputs)
        assert created.outputs["erp_company_name"] == name
        assert len(created.outputs["verified_rights"]) == 10
        assert created.outputs["erp_health"] == "OK"
        refreshed = engine.refresh(created)
        assert refreshed is not None and refreshed.outputs["erp_health"] == "OK"
        # A rotation: FabricAI verifies the new key before the portal keeps it.
        rotated = engine.up(
            ProcountorIntegrationProvider(), {**inputs, "api_key": Secret(SECOND_KEY)}, refreshed
        )
        assert rotated.id == created.id and rotated.outputs["credentials_rotated_at"]
        held = example_sandbox.admin.credentials_fingerprint(int(company.id))
        assert held == example_sandbox.admin.fingerprint({"apiKey": SECOND_KEY})
        # A key of another company fails the rotation, naming both; the portal keeps the second key.
        other = {**inputs, "api_key": Secret(HEALTHY["2077474-0"][1])}
        message = message_of(lambda: engine.up(ProcountorIntegrationProvider(), other, rotated))
        assert "belongs to Kahvila Kuppi Oy (2077474-0)" in message and name in message
        assert example_sandbox.admin.credentials_fingerprint(int(company.id)) == held
        # A right revoked in Procountor after connecting: drift at the next refresh, from FabricAI's check.
        revoke = {"rightsOverrides": {"purchases.productRegister": "VIEWING_RIGHTS"}}
        answer = httpx.patch(f"{example_sandbox.url}/admin/procountor/companies/{ACME}", json=revoke)
        assert answer.is_success, answer.text
        drifted = engine.refresh(rotated)
        assert drifted is not None and drifted.outputs["erp_health"] == "RIGHTS_MISSING"
        assert "Purchases > Product register: All rights" in drifted.outputs["erp_health_detail"]
        engine.destroy(drifted)
    assert example_sandbox.admin.portal_connection(int(company.id)) is None
    secrets = [PORTAL_KEY, key, SECOND_KEY, HEALTHY["2077474-0"][1]]
    assert not leaks(f"{caplog.text}\n{rotated.outputs}\n{drifted.outputs}", secrets)


def test_a_firm_netvisor_pair_is_verified_once_through_the_portal(example_sandbox: RunningSandbox) -> None:
    """The credential set is verified through its first client's record; a bad new pair fails there,
    once, before any integration is touched."""
    fresh_process(transport=ContractTransport())
    engine = Engine(firm_config(example_sandbox))
    business_id, name, dimensions = BETA
    company = engine.up(ClientCompanyProvider(), company_inputs(business_id, name))
    credentials = erp_stack.netvisor_credentials(engine, FIRM)
    assert credentials.outputs["verified_at"]
    integration = erp_stack.netvisor_integration(engine, company, credentials, dimensions)
    assert integration.outputs["verified_rights"] == [
        "purchase invoices",
        "accounting material",
        "calculation targets",
    ]
    inputs = {**credentials.inputs, "customer_key": Secret("FAKE-wrong-customer-key")}
    message = message_of(lambda: engine.up(NetvisorCredentialsProvider(), inputs, credentials))
    assert "Netvisor rejected the API credentials 'firm'" in message
    assert example_sandbox.admin.credentials_fingerprint(
        int(company.id)
    ) == example_sandbox.admin.fingerprint(erp_stack.held(FIRM))


def test_forcing_local_verification_without_partner_secrets_says_what_a_firm_does(
    example_sandbox: RunningSandbox,
) -> None:
    fresh_process()
    engine = Engine({**firm_config(example_sandbox), "fabricai:verification": "local"})
    name, key, _ = HEALTHY[ACME]
    message = procountor_failure(engine, ACME, name, key)
    assert (
        "fabricai:verification is local" in message
        and "pulumi config set fabricai:verification auto" in message
    )
    assert example_sandbox.admin.stats()["services"]["portal"].get("connections", 0) == 0


def test_a_portal_that_does_not_verify_is_never_trusted_in_firm_mode(partner_sandbox: RunningSandbox) -> None:
    fresh_process()
    engine = Engine(firm_config(partner_sandbox))
    name, key, _ = HEALTHY[ACME]
    message = procountor_failure(engine, ACME, name, key)
    assert "does not verify" in message  # the portal's own words, quoted
    assert partner_sandbox.admin.stats()["services"]["portal"].get("connections", 0) == 0


@pytest.mark.parametrize("form", range(len(ECHO_FORM_NAMES)), ids=ECHO_FORM_NAMES)
def test_a_key_the_portal_echoes_in_its_findings_never_reaches_the_words(form: int) -> None:
    """A portal that quotes the key it was sent inside a finding's facts (here the company "name" the key
    opened), in any form: the operator's message is built from those facts, and redacts the key."""
    key = "FAKE-pc-key/echoed+Ä=1"

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.method == "PUT" and request.url.path == "/portal/clients/7/connection"
        finding = {
            "check": "company_identity",
            "holds": False,
            "facts": {"reportedName": f"Muu Oy {echo_forms(key)[form]}", "reportedKind": "NONE"},
        }
        verification = {"verdict": "FAILED", "system": "procountor", "findings": [finding]}
        return httpx.Response(422, json={"error": "verification failed", "data": verification})

    fresh_process(transport=httpx.MockTransport(answer))
    engine = Engine({"fabricai:portalUrl": "http://portal.test/portal", "fabricai:apiKey": Secret("FAKE-k")})
    inputs = {"client_id": 7, "business_id": ACME, "client_name": "Acme Oy", "api_key": Secret(key)}
    message = message_of(lambda: engine.up(ProcountorIntegrationProvider(), inputs))
    assert "the API key for 2925630-9 belongs to Muu Oy" in message and "[redacted]" in message
    assert not leaks(message.lower(), [key])
