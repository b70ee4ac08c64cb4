"""NetvisorCredentials and NetvisorIntegration through the engine's path, against the sandbox over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from harness.engine import Engine, EngineCallFailed, ResourceState, Secret, all_text
from provider.resources.client_company import ClientCompanyProvider
from provider.resources.netvisor_credentials import NetvisorCredentialsProvider
from sandbox.netvisor.scenario import NetvisorCustomer
from sandbox.server import AdminClient, RunningSandbox
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import business_ids
from tests.support.erp_stack import (
    BETA,
    EXAMPLE,
    FIRM,
    PARTNER,
    PORTAL_KEY,
    SECOND,
    Stack,
    company_inputs,
    engine_config,
    firm_config,
    fresh_process,
)

SECRETS = [PORTAL_KEY, PARTNER.key, FIRM.key, SECOND.key, "FAKE-wrong-customer-key"]
THREE_RIGHTS = ["purchase invoices", "accounting material", "calculation targets"]
ACCESS_KEY = "E2DCB2FF20700782F1EA878EDC19DC27"

# The healthy Netvisor companies of examples/sandbox.yaml and a dimension each has.
HEALTHY = {
    "1572860-0": ("Beta Oy", ["Kustannuspaikka", "Projekti"]),
    "1618033-3": ("Kirja-Kettu Oy", ["Kustannuspaikka"]),
    "1414213-0": ("Tili-Tiira Oy", ["Asiakas"]),
}


def held(customer: NetvisorCustomer) -> str:
    """The fingerprint the sandbox portal reports when it holds this customer's pair."""
    return AdminClient.fingerprint({"customerId": customer.id, "customerKey": customer.key})


def connect(
    stack: Stack, credentials: ResourceState, business_id: str
) -> tuple[ResourceState, ResourceState]:
    name, dimensions = HEALTHY[business_id]
    company = stack.company(business_id, name, dimensions)
    return company, stack.netvisor_integration(company, credentials, dimensions)


# ---- connecting ----------------------------------------------------------------------------------


def test_credentials_are_verified_once_and_never_output(stack: Stack) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    assert credentials.id == "firm"
    assert credentials.outputs["customer_key_fingerprint"]
    assert credentials.outputs["verified_at"].endswith("+00:00")
    assert "customer_key" not in credentials.outputs
    assert stack.netvisor_stats()["requests"] == {"accountlist.nv": 1}


@pytest.mark.parametrize("business_id", list(HEALTHY))
def test_every_healthy_netvisor_client_connects(stack: Stack, business_id: str) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    company, integration = connect(stack, credentials, business_id)
    outputs = integration.outputs
    assert integration.id == outputs["connection_id"]
    assert outputs["erp_company_id"] == business_id
    assert outputs["verified_rights"] == THREE_RIGHTS
    assert outputs["status"] == "ACTIVE"
    assert outputs["client_status"] == "TRAINING"
    assert outputs["customer_key_fingerprint"] == credentials.outputs["customer_key_fingerprint"]
    assert "customer_key" not in outputs
    assert stack.credentials_fingerprint(company) == held(FIRM)
    connection = stack.running.admin.portal_connection(int(company.id))
    assert connection is not None and connection["system"] == "netvisor"


BROKEN = {
    "2236067-2": ("Osto-Ovi Kiinni Oy", ['not allowed in this company: "purchase invoices"', ACCESS_KEY]),
    "2645751-9": (
        "Kirjaamaton Oy",
        ['not allowed in this company: "accounting material"', "Custom integrations"],
    ),
    "3316624-2": ("Laskentakohteeton Oy", ['"calculation targets"', "separately for each client company"]),
    "2449489-3": (
        "Ulkopuolinen Oy",
        [
            "cannot reach this company",
            "accountant role",
            "purchase invoice approval circulation setter",
            "User Administrator (KH)",
            "Accounting Firm's Main User (TPK)",
        ],
    ),
}


@pytest.mark.parametrize("business_id", list(BROKEN))
def test_every_broken_netvisor_client_fails_with_its_fix(stack: Stack, business_id: str) -> None:
    name, expected = BROKEN[business_id]
    company = stack.company(business_id, name)
    with pytest.raises(EngineCallFailed) as failed:
        stack.netvisor_integration(company, (FIRM.id, FIRM.key))
    message = failed.value.details
    assert f"{name} ({business_id}):" in message and "Fix:" in message
    for words in expected:
        assert words in message
    assert stack.running.admin.portal_connection(int(company.id)) is None
    assert not any(secret in message for secret in SECRETS)


def test_all_missing_rights_are_listed_at_once(
    sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = EXAMPLE.model_dump(by_alias=True, mode="json")
    beta = next(c for c in scenario["netvisor"]["companies"] if c["businessId"] == "1572860-0")
    beta["resourceRights"] = {PARTNER.id: []}
    scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(scenario)
    fresh_process()
    stack = Stack(running, Engine(engine_config(running)))
    company = stack.company("1572860-0", "Beta Oy")
    with pytest.raises(EngineCallFailed) as failed:
        stack.netvisor_integration(company, (FIRM.id, FIRM.key))
    assert '"purchase invoices", "accounting material", "calculation targets"' in failed.value.details
    # Each right was probed, one request after another.
    assert sum(stack.netvisor_stats()["requests"].values()) == 3


def test_rejected_credentials_and_missing_dimensions(stack: Stack) -> None:
    company = stack.company("1572860-0", "Beta Oy")
    with pytest.raises(EngineCallFailed) as rejected:
        stack.netvisor_integration(company, (FIRM.id, "FAKE-wrong-customer-key"))
    assert "Netvisor rejected the API credentials" in rejected.value.details
    assert "Software interface > Software interface credentials" in rejected.value.details
    assert "generic API user" in rejected.value.details
    with pytest.raises(EngineCallFailed) as missing:
        stack.netvisor_integration(company, (FIRM.id, FIRM.key), ["Kustannuspaikka", "Kustanuspaikka"])
    assert "'Kustanuspaikka' do not exist" in missing.value.details
    assert "'Kustannuspaikka', 'Projekti', 'Vanha jaottelu' (hidden)" in missing.value.details
    assert not any(secret in rejected.value.details + missing.value.details for secret in SECRETS)


def test_a_wrong_key_fails_at_the_credentials(stack: Stack) -> None:
    with pytest.raises(EngineCallFailed) as failed:
        stack.credentials(FIRM.id, "FAKE-wrong-customer-key")
    assert (
        failed.value.details.count("Beta Oy (1572860-0): Netvisor rejected the API credentials 'firm'") == 1
    )


UNREACHABLE = ("2449489-3", "Ulkopuolinen Oy")


def test_credentials_verified_against_an_unreachable_company_are_valid(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    # Netvisor checks the keys before the organisation: "cannot reach this company" proves the keys.
    with caplog.at_level(logging.WARNING, logger="provider.netvisor.checks"):
        credentials = stack.credentials(FIRM.id, FIRM.key, verify_with=UNREACHABLE)
    assert credentials.outputs["verify_business_id"] == "2449489-3"
    # ... and says so, since telling the two answers apart rests on Netvisor's wording.
    assert "keys accepted; Ulkopuolinen Oy (2449489-3) is not reachable by their user" in caplog.text
    assert FIRM.key not in caplog.text
    assert stack.netvisor_stats()["failures"] == {"AUTHENTICATION_FAILED": 1}
    _, integration = connect(stack, credentials, "1572860-0")
    assert integration.outputs["status"] == "ACTIVE"


def test_a_rotation_verified_against_a_client_that_left_the_firm_succeeds(stack: Stack) -> None:
    # The pinned verification company is no longer reachable by either pair's user.
    credentials = stack.credentials(FIRM.id, FIRM.key, verify_with=UNREACHABLE)
    rotated = stack.credentials(SECOND.id, SECOND.key, credentials, verify_with=UNREACHABLE)
    assert rotated.outputs["customer_key_fingerprint"] != credentials.outputs["customer_key_fingerprint"]


def test_a_wrong_key_against_an_unreachable_company_still_fails(stack: Stack) -> None:
    with pytest.raises(EngineCallFailed) as failed:
        stack.credentials(FIRM.id, "FAKE-wrong-customer-key", verify_with=UNREACHABLE)
    message = failed.value.details
    assert "Ulkopuolinen Oy (2449489-3): Netvisor rejected the API credentials 'firm'" in message
    assert "cannot reach" not in message
    assert not any(secret in message for secret in SECRETS)


def test_check_refuses_a_pair_netvisor_cannot_sign(stack: Stack) -> None:
    inputs = {
        "name": "firm",
        "customer_id": "käyttäjä€",
        "customer_key": Secret("k€y-FAKE"),
        "verify_business_id": "1572860-0",
    }
    _, failures = stack.engine.check(NetvisorCredentialsProvider(), inputs)
    reasons = dict(failures)
    assert "ISO-8859-1" in reasons["customer_id"] and "ISO-8859-1" in reasons["customer_key"]
    assert "k€y" not in all_text(failures)
    assert stack.netvisor_stats()["requests"] == {}


# ---- rotation ------------------------------------------------------------------------------------


def test_rotating_the_shared_pair_rotates_every_integration(stack: Stack) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    connected = [connect(stack, credentials, business_id) for business_id in HEALTHY]
    rotated = stack.credentials(SECOND.id, SECOND.key, credentials)
    assert rotated.outputs["customer_key_fingerprint"] != credentials.outputs["customer_key_fingerprint"]
    for company, integration in connected:
        _, dimensions = HEALTHY[company.outputs["business_id"]]
        after = stack.netvisor_integration(company, rotated, dimensions, integration)
        assert after.id == integration.id  # the same connection, new credentials
        assert after.outputs["credentials_rotated_at"]
        assert after.outputs["customer_key_fingerprint"] == rotated.outputs["customer_key_fingerprint"]
        assert stack.credentials_fingerprint(company) == held(SECOND)


def test_a_bad_new_pair_fails_at_the_credentials_and_changes_nothing(stack: Stack) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    connected = [connect(stack, credentials, business_id) for business_id in HEALTHY]
    before = stack.running.admin.stats()["services"]["portal"]
    with pytest.raises(EngineCallFailed) as failed:
        stack.credentials(SECOND.id, "FAKE-wrong-customer-key", credentials)
    assert "Netvisor rejected the API credentials 'firm' (customer id TT_tase_api_2)" in failed.value.details
    # The engine runs no dependent integration after a failed NetvisorCredentials: the portal is untouched.
    assert stack.running.admin.stats()["services"]["portal"] == before
    for company, _ in connected:
        assert stack.credentials_fingerprint(company) == held(FIRM)


def test_a_rotation_that_fails_verification_leaves_the_connection(stack: Stack) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    company, integration = connect(stack, credentials, "1572860-0")
    with pytest.raises(EngineCallFailed):
        stack.netvisor_integration(
            company, (SECOND.id, "FAKE-wrong-customer-key"), ["Kustannuspaikka"], integration
        )
    assert stack.credentials_fingerprint(company) == held(FIRM)


# ---- one request at a time -----------------------------------------------------------------------


def test_sixteen_integrations_on_one_pair_from_four_threads(
    sandbox: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = EXAMPLE.model_dump(by_alias=True, mode="json")
    extra = business_ids(13, start=4000000)
    scenario["netvisor"]["customers"][0]["companies"] += extra
    template = next(c for c in scenario["netvisor"]["companies"] if c["businessId"] == "1618033-3")
    scenario["netvisor"]["companies"] += [
        {**template, "businessId": business_id, "name": f"Asiakas {n} Oy"}
        for n, business_id in enumerate(extra)
    ]
    scenario["portal"]["verifyConnections"] = False  # partner mode: the provider verifies
    running = sandbox(scenario)
    running.admin.set_faults("netvisor", latencyMs=2)
    fresh_process()
    stack = Stack(running, Engine(engine_config(running)))
    credentials = stack.credentials(FIRM.id, FIRM.key)
    names = {**{b: n for b, (n, _) in HEALTHY.items()}, **{b: f"Asiakas {n} Oy" for n, b in enumerate(extra)}}

    def client(business_id: str) -> ResourceState:
        company = stack.company(business_id, names[business_id], ["Kustannuspaikka"])
        return stack.netvisor_integration(company, credentials, ["Kustannuspaikka"])

    with ThreadPoolExecutor(max_workers=4) as pool:  # the engine's four provider threads
        integrations = list(pool.map(client, names))
    assert len({integration.id for integration in integrations}) == 16
    stats = stack.netvisor_stats()
    assert stats["customers"][FIRM.id]["requests"] == 1 + 16 * 3
    assert stats["concurrencyViolations"] == 0
    assert stats["maxInFlightPerCustomer"] == 1
    assert running.admin.stats()["services"]["portal"]["connections"] == 16


# ---- deregistration and refresh ------------------------------------------------------------------


def test_deregistration_removes_only_this_connection(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    company, integration = connect(stack, credentials, "1572860-0")
    with caplog.at_level(logging.INFO):
        stack.engine.destroy(integration)
        assert stack.running.admin.portal_connection(int(company.id)) is None
        stack.engine.destroy(integration)  # already gone: success
        stack.engine.destroy(credentials)
    assert (
        "remove them in Netvisor (Software interface > Software interface credentials) only when no client"
        in (caplog.text)
    )
    assert "was already gone" in caplog.text
    assert "nothing was changed in Netvisor" in caplog.text
    assert not any(secret in caplog.text for secret in SECRETS)


def test_a_replaced_connection_survives_its_predecessors_delete(stack: Stack) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    company, old = connect(stack, credentials, "1572860-0")
    successor = stack.netvisor_integration(
        company, credentials, ["Projekti"]
    )  # create before delete, as on replace
    stack.engine.destroy(old)
    connection = stack.running.admin.portal_connection(int(company.id))
    assert connection is not None and connection["id"] == successor.id
    assert stack.engine.refresh(old) is None
    refreshed = stack.engine.refresh(successor)
    assert refreshed is not None and refreshed.outputs["status"] == "ACTIVE"


def test_refresh_drops_a_connection_removed_outside_pulumi(stack: Stack) -> None:
    credentials = stack.credentials(FIRM.id, FIRM.key)
    company, integration = connect(stack, credentials, "1572860-0")
    assert stack.engine.refresh(credentials) == credentials  # nothing remote to read: state as it is
    with httpx.Client(headers={"Authorization": f"Bearer {PORTAL_KEY}"}) as portal:
        url = f"{stack.running.service_url('portal')}/clients/{company.id}/connection/{integration.id}"
        assert portal.delete(url).status_code == 200
    assert stack.engine.refresh(integration) is None
    with pytest.raises(EngineCallFailed) as failed:
        stack.netvisor_integration(company, credentials, ["Projekti"], integration)
    assert "no longer exists" in failed.value.details and "pulumi refresh" in failed.value.details


# ---- faults and secrets --------------------------------------------------------------------------


def test_faults_converge_on_rerun(stack: Stack) -> None:
    for service in ("netvisor", "portal"):
        stack.running.admin.set_faults(
            service,
            latencyMs=1,
            errorRate=0.25,
            rateLimitRate=0.15,
            retryAfterSeconds=1,
            dropRate=0.15,
            seed=11,
        )
    credentials = None
    states: dict[str, tuple[ResourceState | None, ResourceState | None]] = dict.fromkeys(
        HEALTHY, (None, None)
    )
    failures = 0
    for _run in range(8):
        try:
            credentials = credentials or stack.credentials(FIRM.id, FIRM.key)
            for business_id, (company, integration) in states.items():
                name, dimensions = HEALTHY[business_id]
                company = company or stack.company(business_id, name, dimensions)
                states[business_id] = (company, None)
                integration = integration or stack.netvisor_integration(company, credentials, dimensions)
                states[business_id] = (company, integration)
            break
        except EngineCallFailed as error:
            failures += 1
            # A short operator error, retryable by running again, with no chain of causes behind it.
            last = error.details.strip().splitlines()[-1]
            assert (
                "run `pulumi up` again" in last
                or "try again later (`pulumi up`" in last
                or "the next `pulumi up` finds out which and finishes it" in last  # a write not resent
            )
            assert "During handling" not in error.details
    assert all(integration is not None for _, integration in states.values())
    assert failures > 0  # the faults did make runs fail; re-running converged
    injected = stack.running.admin.stats()["faults"]
    assert sum(injected["netvisor"]["injected"].values()) + sum(injected["portal"]["injected"].values()) > 0
    portal = stack.running.admin.stats()["services"]["portal"]
    assert portal["connections"] == 3 and portal.get("duplicateRegistrations", 0) == 0
    assert stack.netvisor_stats()["concurrencyViolations"] == 0


def test_no_secret_anywhere(
    stack: Stack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.DEBUG):
        credentials = stack.credentials(FIRM.id, FIRM.key)
        company, integration = connect(stack, credentials, "1572860-0")
        rotated = stack.credentials(SECOND.id, SECOND.key, credentials)
        integration = stack.netvisor_integration(
            company, rotated, ["Kustannuspaikka", "Projekti"], integration
        )
        errors = []
        attempts: list[Callable[[], ResourceState]] = [
            lambda: stack.credentials(SECOND.id, "FAKE-wrong-customer-key", rotated),
            lambda: stack.netvisor_integration(stack.company("2449489-3", "Ulkopuolinen Oy"), rotated),
            lambda: stack.netvisor_integration(stack.company("2236067-2", "Osto-Ovi Kiinni Oy"), rotated),
        ]
        for attempt in attempts:
            with pytest.raises(EngineCallFailed) as failed:
                attempt()
            errors.append(failed.value.details)
        stack.engine.destroy(integration)
        stack.engine.destroy(rotated)
    out, err = capsys.readouterr()
    published = [credentials.outputs, rotated.outputs, integration.outputs]
    text = "\n".join([all_text(published), *errors, caplog.text, out, err])
    assert "__provider" in all_text(published)  # the serialized provider is part of the scan
    for secret in SECRETS:
        assert secret not in text


def test_a_rotation_is_verified_through_another_client_of_the_set_once_the_first_has_left(
    example_sandbox: RunningSandbox,
) -> None:
    """A firm's stack (the portal verifies): the set's first client left the roster and the portal, so its
    record cannot verify the new pair; one of the set's other clients does, and a wrong key fails there,
    once, before any integration is touched."""
    fresh_process()
    engine = Engine(firm_config(example_sandbox))
    others = [("1618033-3", "Kirja-Kettu Oy"), ("1414213-0", "Tili-Tiira Oy")]
    beta = engine.up(ClientCompanyProvider(), company_inputs(BETA[0], BETA[1]))
    companies = [engine.up(ClientCompanyProvider(), company_inputs(*other)) for other in others]
    inputs = {
        "name": "firm",
        "customer_id": FIRM.id,
        "customer_key": Secret(FIRM.key),
        "verify_business_id": BETA[0],
        "verify_client_name": BETA[1],
        "verify_alternatives": [business_id for business_id, _ in others],
    }
    credentials = engine.up(NetvisorCredentialsProvider(), inputs)
    assert credentials.outputs["verified_at"] is not None
    engine.destroy(beta)  # Beta leaves: the set's pinned first client has no record any more
    with pytest.raises(EngineCallFailed) as refused:
        engine.up(
            NetvisorCredentialsProvider(), {**inputs, "customer_key": Secret("FAKE-wrong-key")}, credentials
        )
    assert "Kirja-Kettu Oy (1618033-3)" in refused.value.details
    rotated = engine.up(
        NetvisorCredentialsProvider(),
        {**inputs, "customer_id": SECOND.id, "customer_key": Secret(SECOND.key)},
        credentials,
    )
    assert rotated.outputs["verified_at"] is not None
    assert len(companies) == 2
    # Who else uses the set is no change by itself.
    assert not engine.diff(
        "firm",
        credentials.outputs,
        engine.checked(
            NetvisorCredentialsProvider(), {**inputs, "verify_alternatives": []}, credentials.inputs
        ),
    ).has_changes
