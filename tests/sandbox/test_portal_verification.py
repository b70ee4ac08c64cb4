"""The sandbox's portal plays FabricAI: the verifying connection extension (/work/contract-verification.md,
docs/portal-connection-extension.openapi.yaml), driven with plain httpx, every extension exchange validated
against the OpenAPI document (requests too, except where a test sends a malformed one on purpose).

Each "possible issue" of the two onboarding guides, as examples/sandbox.yaml seeds it, must come back as the
contract's findings; an ERP that cannot answer must come back INCONCLUSIVE, never FAILED; FabricAI's pace
must hold towards both ERPs; and no credential may appear in any answer, statistic or log line."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import time
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import portal_client
from tests.support.openapi_contract import (
    ContractTransport,
    ContractViolation,
    validate_document,
    validate_exchange,
)

OLJY = {"apiKey": "FAKE-pc-key-oljy-aijat-1"}
OLJY_2 = {"apiKey": "FAKE-pc-key-oljy-aijat-2"}
SAUNA = {"apiKey": "FAKE-pc-key-sauna-saarinen"}
TASE = {"customerId": "TT_tase_api_1", "customerKey": "FAKE-nv-customer-key-tase-1"}
SECRETS = (
    *(
        f"FAKE-pc-key-{name}"
        for name in ("oljy-aijat-1", "oljy-aijat-2", "sauna-saarinen", "peruttu-avain", "vaara-sovellus")
    ),
    "FAKE-procountor-client-secret",
    "FAKE-nv-partner-key-fabricai",
    "FAKE-nv-customer-key-tase-1",
    "FAKE-wrong-customer-key",
)
GUIDE_RIGHTS = {
    "management.basicCompanyInfo",
    "management.basicAccountingInfo",
    "management.chartOfAccountsAndDefaultReports",
    "user.editPersonalInfo",
    "purchases.purchaseInvoices",
    "purchases.purchaseInvoiceSearch",
    "purchases.supplierRegister",
    "purchases.productRegister",
    "accounting.journalReceipts",
    "accounting.journalReceiptSearch",
}


def make_client(portal: httpx.Client, business_id: str, name: str = "Asiakas Oy") -> int:
    vat = "FI" + business_id.replace("-", "")
    response = portal.post("/clients", json={"name": name, "country": "FI", "businessId": vat})
    assert response.status_code == 201, response.text
    client_id: int = response.json()["data"]["id"]
    return client_id


def body(system: str, credentials: dict[str, str], dimensions: list[str] | None = None) -> dict[str, Any]:
    sent: dict[str, Any] = {"system": system, "credentials": credentials}
    if dimensions is not None:
        sent["dimensions"] = dimensions
    return sent


def verify(portal: httpx.Client, client_id: int, sent: dict[str, Any]) -> dict[str, Any]:
    response = portal.post(f"/clients/{client_id}/connection/verify", json=sent)
    assert response.status_code == 200, response.text
    verification: dict[str, Any] = response.json()["data"]
    return verification


def by_check(verification: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {finding["check"]: finding for finding in verification["findings"]}


def checks(verification: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(finding["check"], finding["holds"]) for finding in verification["findings"]]


@pytest.fixture
def portal(example: RunningSandbox) -> Any:
    with portal_client(example, check_requests=True) as client:
        yield client


# ---- the document and its validator ----


def test_the_document_is_valid_openapi_and_the_validator_refuses_what_it_does_not_allow() -> None:
    validate_document()
    bearer = {"Authorization": "Bearer FAKE-portal-org-key-0001"}
    request = httpx.Request(
        "POST", "http://x/portal/clients/7/connection/verify", json=body("procountor", OLJY), headers=bearer
    )
    good = {
        "verdict": "INCONCLUSIVE",
        "checkedAt": "2026-12-06T05:00:00Z",
        "system": "procountor",
        "company": None,
        "findings": [{"check": "erp_reachable", "holds": False, "facts": {"reason": "timeout"}}],
    }
    validate_exchange(request, httpx.Response(200, json={"data": good}))
    for broken in (
        {**good, "verdict": "MAYBE"},
        {**good, "findings": [{"check": "erp_reachable", "holds": False, "facts": {}}]},  # reason required
        {**good, "findings": [{"check": "credentials", "holds": False, "facts": {"refused": "apiKey"}}]},
        {**good, "findings": [{"check": "rights", "holds": True, "facts": {}}]},
        {**good, "company": {"erpCompanyId": "101"}},
    ):
        with pytest.raises(ContractViolation):
            validate_exchange(request, httpx.Response(200, json={"data": broken}))
    with pytest.raises(ContractViolation):  # credentials in the other system's shape
        validate_exchange(
            httpx.Request(
                "POST", "http://x/clients/7/connection/verify", json=body("netvisor", OLJY), headers=bearer
            ),
            httpx.Response(200, json={"data": good}),
        )
    with pytest.raises(ContractViolation):  # the organisation key is required
        validate_exchange(
            httpx.Request("POST", request.url, json=body("procountor", OLJY)),
            httpx.Response(200, json={"data": good}),
        )
    with pytest.raises(ContractViolation):  # an error body is {"error"} only
        validate_exchange(request, httpx.Response(404, json={"error": "no", "detail": 1}))


def test_the_contract_transport_passes_the_wire_bytes_on_and_refuses_a_bad_answer() -> None:
    """A client that reads ``response.stream`` itself gets the encoded bytes the server sent."""
    import gzip

    sent = gzip.compress(b'{"data": null}')
    wire = ContractTransport(
        httpx.MockTransport(
            lambda request: httpx.Response(
                200, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}, content=sent
            )
        )
    )
    client = httpx.Client(transport=wire, headers={"Authorization": "Bearer k"})
    response = client.send(client.build_request("GET", "http://x/portal/clients/7/connection"), stream=True)
    stream = response.stream
    assert isinstance(stream, httpx.SyncByteStream)
    assert b"".join(stream) == sent and wire.exchanges == 1
    response.close()
    bad = ContractTransport(
        httpx.MockTransport(lambda request: httpx.Response(200, json={"data": {"id": 1}}))
    )
    with pytest.raises(ContractViolation):
        httpx.Client(transport=bad, headers={"Authorization": "Bearer k"}).get(
            "http://x/clients/7/connection"
        )
    other = ContractTransport(httpx.MockTransport(lambda request: httpx.Response(200, json=[])))
    assert httpx.Client(transport=other).get("http://x/clients/7").status_code == 200  # not the extension
    assert other.exchanges == 0


# ---- the guides' issues, as the example scenario seeds them ----


PROCOUNTOR_CASES = [
    # (business ID, key, verdict, findings as (check, holds))
    (
        "2925630-9",
        OLJY,
        "PASSED",
        [
            ("partner_app", True),
            ("erp_reachable", True),
            ("credentials", True),
            ("billable_interfaces", True),
            ("company_identity", True),
            ("user_rights", True),
            ("dimensions", True),
        ],
    ),
    (
        "1202527-2",
        {"apiKey": "FAKE-pc-key-lasku-laiska"},
        "FAILED",
        [
            ("partner_app", True),
            ("erp_reachable", True),
            ("credentials", True),
            ("billable_interfaces", False),
        ],
    ),
    (
        "1243265-2",
        {"apiKey": "FAKE-pc-key-peruttu-avain"},
        "FAILED",
        [("partner_app", True), ("erp_reachable", True), ("credentials", False)],
    ),
    (
        "1900509-8",
        {"apiKey": "FAKE-pc-key-vaara-sovellus"},
        "FAILED",
        [("partner_app", True), ("erp_reachable", True), ("credentials", False)],
    ),
]


@pytest.mark.parametrize(
    ("business_id", "key", "verdict", "found"), PROCOUNTOR_CASES, ids=lambda v: str(v)[:12]
)
def test_procountor_issues_come_back_as_findings(
    portal: httpx.Client, business_id: str, key: dict[str, str], verdict: str, found: list[tuple[str, bool]]
) -> None:
    client_id = make_client(portal, business_id)
    verification = verify(portal, client_id, body("procountor", key, ["Kustannuspaikka"]))
    assert verification["verdict"] == verdict
    assert checks(verification) == found
    if not by_check(verification).get("credentials", {"holds": True})["holds"]:
        # Procountor's own refusal does not say which credential it refused.
        assert by_check(verification)["credentials"]["facts"] == {"refused": "UNKNOWN"}


def test_a_healthy_company_is_named_with_every_guide_right_held(portal: httpx.Client) -> None:
    client_id = make_client(portal, "2925630-9")
    verification = verify(portal, client_id, body("procountor", OLJY, ["kustannuspaikka", "Projekti"]))
    assert verification["verdict"] == "PASSED" and verification["system"] == "procountor"
    assert verification["company"] == {
        "erpCompanyId": "101",
        "name": "Öljy-Äijät Oy",
        "businessId": "2925630-9",
    }
    found = by_check(verification)
    assert found["company_identity"]["facts"] == {
        "expectedBusinessId": "2925630-9",
        "reportedBusinessId": "2925630-9",
        "reportedName": "Öljy-Äijät Oy",
        "reportedKind": "BUSINESS_ID",
    }
    rights = found["user_rights"]["facts"]
    assert rights["missing"] == [] and {held["right"] for held in rights["held"]} == GUIDE_RIGHTS
    assert found["dimensions"]["facts"] == {
        "missing": [],
        "existing": [{"name": "Kustannuspaikka", "hidden": False}, {"name": "Projekti", "hidden": False}],
    }


def test_missing_rights_name_the_right_the_level_needed_and_held(portal: httpx.Client) -> None:
    client_id = make_client(portal, "2533810-4")  # Kaikki-Vinossa Oy: rights missing in several groups
    verification = verify(portal, client_id, body("procountor", {"apiKey": "FAKE-pc-key-kaikki-vinossa"}))
    assert verification["verdict"] == "FAILED"
    missing = by_check(verification)["user_rights"]["facts"]["missing"]
    assert missing == [
        {
            "right": "management.chartOfAccountsAndDefaultReports",
            "needed": "VIEWING_RIGHTS",
            "held": "NO_ACCESS",
        },
        {"right": "user.editPersonalInfo", "needed": "VIEWING_RIGHTS", "held": "NO_ACCESS"},
        {"right": "purchases.purchaseInvoices", "needed": "ALL_RIGHTS", "held": "VIEWING_RIGHTS"},
        {"right": "purchases.supplierRegister", "needed": "VIEWING_RIGHTS", "held": "NOT_ENABLED"},
        {"right": "accounting.journalReceiptSearch", "needed": "ALL_RIGHTS", "held": "VIEWING_RIGHTS"},
    ]
    assert len(by_check(verification)["user_rights"]["facts"]["held"]) == 5


def test_a_403_on_company_counts_basic_company_info_missing(portal: httpx.Client) -> None:
    client_id = make_client(portal, "1303819-8")  # Johto-Puute Oy: Basic company info NO_ACCESS
    verification = verify(portal, client_id, body("procountor", {"apiKey": "FAKE-pc-key-johto-puute"}))
    assert verification["verdict"] == "FAILED" and verification["company"] is None
    assert "company_identity" not in by_check(verification)  # not reached: the company could not be read
    assert by_check(verification)["user_rights"]["facts"]["missing"] == [
        # /users/rights reported the level: it stays as reported (only a level it claimed sufficient, which
        # the 403 contradicts, becomes unknown)
        {"right": "management.basicCompanyInfo", "needed": "VIEWING_RIGHTS", "held": "NO_ACCESS"}
    ]


def test_a_403_on_users_rights_counts_every_right_missing(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    """The sandbox's Procountor never refuses /users/rights, so a stand-in ERP answers for it here."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "t", "expires_in": 3600})

    async def company(request: Request) -> JSONResponse:
        return JSONResponse({"id": 9, "name": "Oy", "businessIdentifier": {"brnType": "HETU", "code": "x"}})

    async def refused(request: Request) -> JSONResponse:
        return JSONResponse({"errors": [{"status": 403, "message": "Insufficient user rights"}]}, 403)

    import threading

    import uvicorn

    stand_in = Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/company", company),
            Route("/users/rights", refused),
            Route("/dimensions", refused),
        ]
    )
    server = uvicorn.Server(uvicorn.Config(stand_in, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        pass
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        example_scenario["portal"]["verifier"]["procountor"]["baseUrl"] = f"http://127.0.0.1:{port}"
        running = sandbox(example_scenario)
        with portal_client(running, check_requests=True) as portal:
            client_id = make_client(portal, "2925630-9")
            verification = verify(portal, client_id, body("procountor", OLJY, ["Kp"]))
    finally:
        server.should_exit = True
        thread.join(timeout=5)
    assert verification["verdict"] == "FAILED"
    found = by_check(verification)
    assert found["company_identity"]["facts"]["reportedKind"] == "PERSONAL_ID"
    assert found["company_identity"]["facts"]["reportedBusinessId"] is None  # a person's code is never shown
    assert verification["company"] == {"erpCompanyId": "9", "name": "Oy", "businessId": None}
    missing = found["user_rights"]["facts"]["missing"]
    assert {m["right"] for m in missing} == GUIDE_RIGHTS and {m["held"] for m in missing} == {None}
    assert "dimensions" not in found  # /dimensions refused: counted as a right, not judged


def test_a_key_of_another_company_fails_company_identity(portal: httpx.Client) -> None:
    client_id = make_client(portal, "1632707-5", "Harhautettu Oy")
    verification = verify(portal, client_id, body("procountor", SAUNA))
    assert verification["verdict"] == "FAILED"
    assert by_check(verification)["company_identity"] == {
        "check": "company_identity",
        "holds": False,
        "facts": {
            "expectedBusinessId": "1632707-5",
            "reportedBusinessId": "2358253-3",
            "reportedName": "Sauna-Saarinen Oy",
            "reportedKind": "BUSINESS_ID",
        },
    }


def test_a_missing_dimension_is_named_with_the_existing_ones(portal: httpx.Client) -> None:
    client_id = make_client(portal, "2925630-9")
    verification = verify(portal, client_id, body("procountor", OLJY, ["Projekti", "Kustannuspaikat"]))
    assert verification["verdict"] == "FAILED"
    assert by_check(verification)["dimensions"]["facts"]["missing"] == ["Kustannuspaikat"]


def test_oauth_style_refusals_tell_the_key_from_fabricais_application(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["procountor"]["refusalStyle"] = "oauth"
    example_scenario["procountor"]["refusalEchoesRequest"] = True  # a careless ERP quotes the request
    running = sandbox(example_scenario)
    with portal_client(running, check_requests=True) as portal:
        client_id = make_client(portal, "1243265-2")
        revoked = portal.post(
            f"/clients/{client_id}/connection/verify",
            json=body("procountor", {"apiKey": "FAKE-pc-key-peruttu-avain"}),
        )
        assert revoked.json()["data"]["verdict"] == "FAILED"
        assert by_check(revoked.json()["data"])["credentials"]["facts"] == {"refused": "API_KEY"}
    example_scenario["portal"]["verifier"]["procountor"]["clientSecret"] = "FAKE-not-fabricais-secret"
    running = sandbox(example_scenario)
    with portal_client(running, check_requests=True) as portal:
        client_id = make_client(portal, "2925630-9")
        put = portal.put(f"/clients/{client_id}/connection", json=body("procountor", OLJY))
        assert put.status_code == 503, put.text
        assert checks(put.json()["data"]) == [("partner_app", False), ("erp_reachable", True)]
        assert (
            put.json()["data"]["verdict"] == "INCONCLUSIVE" and "partner credentials" in put.json()["error"]
        )
        assert portal.get(f"/clients/{client_id}/connection").json() == {"data": None}
    for text in (revoked.text, put.text):
        assert not any(secret in text for secret in (*SECRETS, "FAKE-not-fabricais-secret"))


NETVISOR_CASES = [
    ("1572860-0", TASE, "PASSED", None),
    ("2236067-2", TASE, "FAILED", ["PURCHASE_INVOICES"]),
    ("2645751-9", TASE, "FAILED", ["ACCOUNTING_MATERIAL"]),
    ("3316624-2", TASE, "FAILED", ["CALCULATION_TARGETS"]),
]


@pytest.mark.parametrize(
    ("business_id", "keys", "verdict", "not_allowed"), NETVISOR_CASES, ids=lambda v: str(v)[:12]
)
def test_netvisor_resource_rights_come_back_as_findings(
    portal: httpx.Client, business_id: str, keys: dict[str, str], verdict: str, not_allowed: list[str] | None
) -> None:
    client_id = make_client(portal, business_id)
    verification = verify(portal, client_id, body("netvisor", keys))
    assert verification["verdict"] == verdict
    assert verification["company"] == {"erpCompanyId": business_id, "name": None, "businessId": business_id}
    assert checks(verification)[:4] == [
        ("partner_app", True),
        ("erp_reachable", True),
        ("credentials", True),
        ("company_access", True),
    ]
    facts = by_check(verification)["resource_rights"]["facts"]
    assert facts["notAllowed"] == (not_allowed or [])
    assert len(facts["allowed"]) + len(facts["notAllowed"]) == 3


def test_netvisor_refused_keys_and_an_unreachable_company(portal: httpx.Client) -> None:
    wrong = verify(
        portal,
        make_client(portal, "1572860-0"),
        body("netvisor", {"customerId": "TT_tase_api_1", "customerKey": "FAKE-wrong-customer-key"}),
    )
    assert wrong["verdict"] == "FAILED" and wrong["company"] is None
    assert checks(wrong) == [("partner_app", True), ("erp_reachable", True), ("credentials", False)]
    assert by_check(wrong)["credentials"]["facts"] == {"refused": "CUSTOMER_KEYS"}
    outside = verify(portal, make_client(portal, "2449489-3"), body("netvisor", TASE))
    assert outside["verdict"] == "FAILED"
    assert checks(outside)[-1] == ("company_access", False)


def test_netvisor_dimensions_list_hidden_ones_and_count_them_missing(portal: httpx.Client) -> None:
    client_id = make_client(portal, "1572860-0")
    verification = verify(portal, client_id, body("netvisor", TASE, ["KUSTANNUSPAIKKA", "Vanha jaottelu"]))
    assert verification["verdict"] == "FAILED"
    assert by_check(verification)["dimensions"]["facts"] == {
        "missing": ["Vanha jaottelu"],
        "existing": [
            {"name": "Kustannuspaikka", "hidden": False},
            {"name": "Projekti", "hidden": False},
            {"name": "Vanha jaottelu", "hidden": True},
        ],
    }


# ---- an ERP that cannot answer: INCONCLUSIVE, never FAILED, nothing stored ----


@pytest.mark.parametrize(
    ("system", "faults", "facts"),
    [
        ("procountor", {"errorRate": 1, "errorStatus": 503}, {"reason": "unavailable", "status": 503}),
        (
            "procountor",
            {"rateLimitRate": 1, "retryAfterSeconds": 0},
            {"reason": "rate_limited", "status": 429},
        ),
        ("netvisor", {"errorRate": 1, "errorStatus": 502}, {"reason": "unavailable", "status": 502}),
        ("netvisor", {"dropRate": 1}, {"reason": "unavailable"}),
    ],
    ids=["procountor-503", "procountor-429", "netvisor-502", "netvisor-dropped"],
)
def test_an_erp_outage_is_inconclusive_and_stores_nothing(
    example: RunningSandbox, portal: httpx.Client, system: str, faults: dict[str, Any], facts: dict[str, Any]
) -> None:
    business_id, credentials = ("2925630-9", OLJY) if system == "procountor" else ("1572860-0", TASE)
    client_id = make_client(portal, business_id)
    example.admin.set_faults(system, **faults)
    put = portal.put(f"/clients/{client_id}/connection", json=body(system, credentials))
    assert put.status_code == 503, put.text
    verification = put.json()["data"]
    assert verification["verdict"] == "INCONCLUSIVE"
    assert checks(verification) == [("erp_reachable", False)]
    assert by_check(verification)["erp_reachable"]["facts"] == facts
    assert portal.get(f"/clients/{client_id}/connection").json() == {"data": None}
    # Retried a few times, not once and not endlessly (requests are counted before faults).
    assert example.admin.stats()["requests"][system]["total"] == 3


@pytest.mark.parametrize(("retry_after", "requests"), [(60, 1), (1, 3)], ids=["beyond-the-cap", "honoured"])
def test_retry_after_is_honoured_up_to_its_cap(
    example: RunningSandbox, portal: httpx.Client, retry_after: int, requests: int
) -> None:
    client_id = make_client(portal, "2925630-9")
    example.admin.set_faults("procountor", rateLimitRate=1, retryAfterSeconds=retry_after)
    started = time.monotonic()
    verification = verify(portal, client_id, body("procountor", OLJY))
    elapsed = time.monotonic() - started
    assert verification["verdict"] == "INCONCLUSIVE"
    assert by_check(verification)["erp_reachable"]["facts"] == {"reason": "rate_limited", "status": 429}
    assert example.admin.stats()["requests"]["procountor"]["total"] == requests
    # Waited out each Retry-After it honoured; gave up at once on one beyond maxRetryAfterSeconds (5 s).
    assert (elapsed >= 2 * retry_after) if requests > 1 else elapsed < 5


def test_a_timeout_is_inconclusive(sandbox: SandboxFactory, example_scenario: dict[str, Any]) -> None:
    example_scenario["portal"]["verifier"].update(timeoutSeconds=0.3, attempts=2)
    example_scenario["faults"] = {"procountor": {"latencyMs": 1000}}
    running = sandbox(example_scenario)
    with portal_client(running, check_requests=True) as portal:
        verification = verify(portal, make_client(portal, "2925630-9"), body("procountor", OLJY))
    assert verification["verdict"] == "INCONCLUSIVE"
    assert by_check(verification)["erp_reachable"]["facts"] == {"reason": "timeout"}


def test_a_passing_fault_is_retried_to_a_verdict(example: RunningSandbox, portal: httpx.Client) -> None:
    """One 503 in four requests, repeatable by its seed: the retries reach the ERP's real answer."""
    client_id = make_client(portal, "2925630-9")
    example.admin.set_faults("procountor", errorRate=0.25, errorStatus=503, seed=3)
    verification = verify(portal, client_id, body("procountor", OLJY))
    assert verification["verdict"] == "PASSED", verification
    assert example.admin.stats()["faults"]["procountor"]["injected"]


def test_an_erp_at_an_address_nobody_listens_on_is_unavailable(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["portal"]["verifier"]["netvisor"]["baseUrl"] = "http://127.0.0.1:9/netvisor"
    running = sandbox(example_scenario)
    with portal_client(running, check_requests=True) as portal:
        verification = verify(portal, make_client(portal, "1572860-0"), body("netvisor", TASE))
    assert verification["verdict"] == "INCONCLUSIVE"
    assert by_check(verification)["erp_reachable"]["facts"] == {"reason": "unavailable"}


def test_an_erp_without_partner_credentials_is_inconclusive(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    del example_scenario["portal"]["verifier"]["netvisor"]
    running = sandbox(example_scenario)
    with portal_client(running, check_requests=True) as portal:
        put = portal.put(
            f"/clients/{make_client(portal, '1572860-0')}/connection", json=body("netvisor", TASE)
        )
    assert put.status_code == 503
    assert checks(put.json()["data"]) == [("partner_app", False)]


# ---- the connection's life: verified first, stored with its verification ----


def test_put_stores_the_passed_verification_and_get_shows_it(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    client_id = make_client(portal, "2925630-9")
    put = portal.put(f"/clients/{client_id}/connection", json=body("procountor", OLJY, ["Projekti"]))
    assert put.status_code == 201, put.text
    connection = put.json()["data"]
    assert connection["erpCompanyId"] == "101" and connection["credentialsRotatedAt"] is None
    assert connection["verification"]["verdict"] == "PASSED"
    assert portal.get(f"/clients/{client_id}/connection").json()["data"] == connection
    assert example.admin.credentials_fingerprint(client_id) == example.admin.fingerprint(OLJY)


def test_put_with_another_companys_erp_company_id_fails(portal: httpx.Client) -> None:
    client_id = make_client(portal, "2925630-9")
    sent = {**body("procountor", OLJY), "erpCompanyId": "104"}
    put = portal.put(f"/clients/{client_id}/connection", json=sent)
    assert put.status_code == 422, put.text
    assert put.json()["error"] == "verification failed"
    identity = by_check(put.json()["data"])["company_identity"]
    assert identity["holds"] is False
    assert (
        identity["facts"]["expectedErpCompanyId"] == "104"
        and identity["facts"]["reportedErpCompanyId"] == "101"
    )
    assert portal.get(f"/clients/{client_id}/connection").json() == {"data": None}
    same = portal.put(f"/clients/{client_id}/connection", json={**sent, "erpCompanyId": "101"})
    assert same.status_code == 201


def test_a_netvisor_erp_company_id_is_the_business_id(portal: httpx.Client) -> None:
    client_id = make_client(portal, "1572860-0")
    sent = body("netvisor", TASE)
    assert (
        portal.put(f"/clients/{client_id}/connection", json={**sent, "erpCompanyId": "1572860-0"}).status_code
        == 201
    )
    other = portal.put(f"/clients/{client_id}/connection", json={**sent, "erpCompanyId": "2236067-2"})
    assert other.status_code == 400 and set(other.json()) == {"error"}


def test_rotation_is_verified_against_the_same_company_first(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    client_id = make_client(portal, "2925630-9")
    connection = portal.put(f"/clients/{client_id}/connection", json=body("procountor", OLJY)).json()["data"]
    path = f"/clients/{client_id}/connection/{connection['id']}"
    other_company = portal.patch(path, json={"credentials": SAUNA})
    assert other_company.status_code == 422
    assert (
        by_check(other_company.json()["data"])["company_identity"]["facts"]["reportedErpCompanyId"] == "104"
    )
    example.admin.set_faults("procountor", errorRate=1, errorStatus=503)
    unanswered = portal.patch(path, json={"credentials": OLJY_2})
    assert unanswered.status_code == 503
    example.admin.clear_faults("procountor")
    assert example.admin.credentials_fingerprint(client_id) == example.admin.fingerprint(OLJY)  # kept
    assert portal.get(f"/clients/{client_id}/connection").json()["data"]["credentialsRotatedAt"] is None
    rotated = portal.patch(path, json={"credentials": OLJY_2})
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["data"]["id"] == connection["id"] and rotated.json()["data"]["credentialsRotatedAt"]
    assert example.admin.credentials_fingerprint(client_id) == example.admin.fingerprint(OLJY_2)
    wrong_shape = portal.patch(path, json={"credentials": TASE})  # Netvisor keys for a Procountor connection
    assert wrong_shape.status_code == 400


def test_reverify_stores_the_latest_verdict_and_keeps_the_connection(
    example: RunningSandbox, portal: httpx.Client
) -> None:
    client_id = make_client(portal, "2925630-9")
    connection = portal.put(f"/clients/{client_id}/connection", json=body("procountor", OLJY)).json()["data"]
    path = f"/clients/{client_id}/connection/{connection['id']}/verify"
    assert portal.post(path).json()["data"]["verdict"] == "PASSED"  # no body at all
    # A right revoked in Procountor after onboarding: drift that a refresh must see.
    httpx.patch(
        f"{example.url}/admin/procountor/companies/2925630-9",
        json={"rightsOverrides": {"purchases.productRegister": "VIEWING_RIGHTS"}},
    ).raise_for_status()
    again = portal.post(path, json={"dimensions": ["Projekti"]})
    assert again.status_code == 200
    assert again.json()["data"]["verdict"] == "FAILED"
    assert by_check(again.json()["data"])["dimensions"]["holds"] is True
    held = portal.get(f"/clients/{client_id}/connection").json()["data"]
    assert held["id"] == connection["id"] and held["verification"] == again.json()["data"]
    replaced = portal.put(f"/clients/{client_id}/connection", json=body("procountor", OLJY_2))
    assert replaced.status_code == 422  # the key still lacks the right: nothing replaced
    assert portal.post(f"/clients/{client_id}/connection/conn_gone/verify", json={}).status_code == 404


@pytest.mark.parametrize(
    "sent",
    [
        {"system": "procountor", "credentials": {"customerId": "FAKE-id-x", "customerKey": "FAKE-secret-y"}},
        {"system": "netvisor", "credentials": {"customerId": "TT é", "customerKey": "k"}},
        {"system": "netvisor", "credentials": {"customerId": "TT", "customerKey": "€"}},
        {"system": "procountor", "credentials": OLJY, "dimensions": [""]},
        {"system": "procountor", "credentials": OLJY, "erpCompanyId": "101"},  # verify takes no erpCompanyId
        {"system": "procountor"},
    ],
    ids=[
        "wrong-shape",
        "non-ascii-id",
        "non-latin1-key",
        "empty-dimension",
        "unknown-field",
        "no-credentials",
    ],
)
def test_malformed_verify_bodies_are_400_without_the_credentials(
    example: RunningSandbox, sent: dict[str, Any]
) -> None:
    with portal_client(example) as portal:
        response = portal.post(f"/clients/{make_client(portal, '2925630-9')}/connection/verify", json=sent)
    assert response.status_code == 400 and set(response.json()) == {"error"}
    assert not any(str(value) in response.text for value in sent.get("credentials", {}).values())


def test_a_client_without_a_business_id_cannot_be_verified(portal: httpx.Client) -> None:
    client_id = portal.post("/clients", json={"name": "Nimetön Oy", "country": "FI"}).json()["data"]["id"]
    response = portal.post(f"/clients/{client_id}/connection/verify", json=body("procountor", OLJY))
    assert response.status_code == 400 and "businessId" in response.json()["error"]
    assert portal.post("/clients/999/connection/verify", json=body("procountor", OLJY)).status_code == 404


def test_without_the_extension_its_verify_routes_are_404(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["portal"]["connectionExtension"] = False
    running = sandbox(example_scenario)
    with portal_client(running, check_requests=True) as portal:
        client_id = make_client(portal, "2925630-9")
        for response in (
            portal.post(f"/clients/{client_id}/connection/verify", json=body("procountor", OLJY)),
            portal.post(f"/clients/{client_id}/connection/conn_1/verify", json={}),
            portal.patch(f"/clients/{client_id}/connection/conn_1", json={"credentials": OLJY}),
        ):
            assert response.status_code == 404 and set(response.json()) == {"error"}
    assert running.admin.stats()["requests"]["procountor"]["total"] == 0


# ---- FabricAI's pace ----


def test_procountor_is_paced_for_the_one_application_across_clients(example: RunningSandbox) -> None:
    """Twelve verifications at once (48 requests of one application) stay within 20 per second."""
    with portal_client(example) as portal:
        ids = [make_client(portal, "2925630-9") for _ in range(12)]

    def one(client_id: int) -> str:
        with portal_client(example, check_requests=True) as own:
            return str(verify(own, client_id, body("procountor", OLJY, ["Projekti"]))["verdict"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        verdicts = list(pool.map(one, ids))
    assert verdicts == ["PASSED"] * 12
    procountor = example.admin.stats()["services"]["procountor"]
    assert procountor["requestsByApp"]["fabricai-roster-sandbox"] == 48
    assert (
        procountor["rateLimited"] == {}
        and procountor["peakRequestsPerSecond"]["fabricai-roster-sandbox"] <= 20
    )


def test_netvisor_gets_one_request_at_a_time_per_customer(example: RunningSandbox) -> None:
    business_ids = ["1572860-0", "1618033-3", "1414213-0", "2236067-2", "2645751-9", "3316624-2"]
    with portal_client(example) as portal:
        ids = [make_client(portal, business_id) for business_id in business_ids]

    def one(client_id: int) -> str:
        with portal_client(example, check_requests=True) as own:
            return str(verify(own, client_id, body("netvisor", TASE))["verdict"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        verdicts = list(pool.map(one, ids))
    assert verdicts == ["PASSED"] * 3 + ["FAILED"] * 3
    netvisor = example.admin.stats()["services"]["netvisor"]
    assert netvisor["concurrencyViolations"] == 0 and netvisor["customers"]["TT_tase_api_1"]["requests"] == 18


# ---- secrets ----


def test_no_credential_in_any_answer_statistic_or_log_line(
    example: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with portal_client(example, check_requests=True) as portal:
        for business_id, system, credentials in (
            ("2925630-9", "procountor", OLJY),
            ("1243265-2", "procountor", {"apiKey": "FAKE-pc-key-peruttu-avain"}),
            ("1572860-0", "netvisor", TASE),
            (
                "1572860-0",
                "netvisor",
                {"customerId": "TT_tase_api_1", "customerKey": "FAKE-wrong-customer-key"},
            ),
        ):
            client_id = make_client(portal, business_id)
            texts.append(
                portal.post(f"/clients/{client_id}/connection/verify", json=body(system, credentials)).text
            )
            put = portal.put(f"/clients/{client_id}/connection", json=body(system, credentials))
            texts.append(put.text)
            if put.status_code == 201:
                connection_id = put.json()["data"]["id"]
                texts.append(portal.post(f"/clients/{client_id}/connection/{connection_id}/verify").text)
                texts.append(portal.get(f"/clients/{client_id}/connection").text)
    texts.append(json.dumps(example.admin.stats()))
    texts.append(caplog.text)
    for text in texts:
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, (leaked, text[:300])
