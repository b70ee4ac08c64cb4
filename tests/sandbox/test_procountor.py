"""Conformance of the sandbox's Procountor service, driven with plain httpx as Procountor's docs describe."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import RunningSandbox, run_in_thread
from tests.conftest import SandboxFactory
from tests.sandbox.conftest import (
    APP_ID,
    APP_SECRET,
    HEALTHY_KEY,
    OTHER_APP_ID,
    OTHER_APP_SECRET,
    bearer,
    request_token,
    token_headers,
)

LEVELS = {"ALL_RIGHTS", "VIEWING_RIGHTS", "NO_ACCESS", "NOT_ENABLED"}
GUIDE = {
    ("management", "basicCompanyInfo"): "VIEWING_RIGHTS",
    ("management", "basicAccountingInfo"): "VIEWING_RIGHTS",
    ("management", "chartOfAccountsAndDefaultReports"): "VIEWING_RIGHTS",
    ("user", "editPersonalInfo"): "VIEWING_RIGHTS",
    ("purchases", "purchaseInvoices"): "ALL_RIGHTS",
    ("purchases", "purchaseInvoiceSearch"): "ALL_RIGHTS",
    ("purchases", "supplierRegister"): "VIEWING_RIGHTS",
    ("purchases", "productRegister"): "ALL_RIGHTS",
    ("accounting", "journalReceipts"): "VIEWING_RIGHTS",
    ("accounting", "journalReceiptSearch"): "ALL_RIGHTS",
}


def assert_procountor_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["errors"], list) and body["errors"]
    error: dict[str, Any] = body["errors"][0]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"status", "field", "message", "model"}  # Procountor's ErrorMessage
    return error


# ---- oauth/token ----


def test_token_is_granted_for_a_form_body(procountor_url: str) -> None:
    response = request_token(procountor_url, HEALTHY_KEY)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == 3600
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 20


def test_credentials_in_the_query_string_are_refused(procountor_url: str) -> None:
    params = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "api_key": HEALTHY_KEY,
    }
    only_query = httpx.post(f"{procountor_url}/api/oauth/token", params=params)
    assert_procountor_error(only_query, 400)
    both = httpx.post(f"{procountor_url}/api/oauth/token", params={"api_key": HEALTHY_KEY}, data=params)
    assert_procountor_error(both, 400)


def test_token_needs_a_form_content_type(procountor_url: str) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "api_key": HEALTHY_KEY,
    }
    assert_procountor_error(httpx.post(f"{procountor_url}/api/oauth/token", json=form), 400)


def test_token_needs_client_credentials_grant(procountor_url: str) -> None:
    form = {
        "grant_type": "authorization_code",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "api_key": HEALTHY_KEY,
    }
    error = assert_procountor_error(httpx.post(f"{procountor_url}/api/oauth/token", data=form), 400)
    assert error["field"] == "grant_type"


@pytest.mark.parametrize(
    ("client_id", "secret", "api_key"),
    [
        pytest.param(APP_ID, "wrong-secret", HEALTHY_KEY, id="wrong-secret"),
        pytest.param("unknown-app", APP_SECRET, HEALTHY_KEY, id="unknown-app"),
        pytest.param(APP_ID, APP_SECRET, "FAKE-no-such-key", id="unknown-key"),
        pytest.param(APP_ID, APP_SECRET, "FAKE-pc-key-peruttu-avain", id="revoked-key"),
        pytest.param(APP_ID, APP_SECRET, "FAKE-pc-key-vaara-sovellus", id="key-of-another-app"),
    ],
)
def test_bad_credentials_get_401_with_procountor_errors(
    procountor_url: str, client_id: str, secret: str, api_key: str
) -> None:
    response = request_token(procountor_url, api_key, client_id=client_id, client_secret=secret)
    assert_procountor_error(response, 401)
    for secret_value in (secret, api_key):
        assert secret_value not in response.text


def test_a_key_works_with_the_application_it_was_created_for(procountor_url: str) -> None:
    response = request_token(
        procountor_url, "FAKE-pc-key-vaara-sovellus", client_id=OTHER_APP_ID, client_secret=OTHER_APP_SECRET
    )
    assert response.status_code == 200


def test_tokens_expire_after_the_scenario_lifetime(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["procountor"]["tokenLifetimeSeconds"] = 0.3
    url = sandbox(example_scenario).service_url("procountor")
    response = request_token(url, HEALTHY_KEY)
    assert response.json()["expires_in"] == 1
    headers = bearer(response.json()["access_token"])
    assert httpx.get(f"{url}/api/company", headers=headers).status_code == 200
    time.sleep(0.35)
    assert_procountor_error(httpx.get(f"{url}/api/company", headers=headers), 401)
    assert httpx.get(f"{url}/api/company", headers=token_headers(url, HEALTHY_KEY)).status_code == 200


# ---- bearer tokens ----


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}],
    ids=["missing", "unknown", "wrong-scheme"],
)
def test_api_calls_need_a_valid_bearer_token(procountor_url: str, headers: dict[str, str]) -> None:
    assert_procountor_error(httpx.get(f"{procountor_url}/api/company", headers=headers), 401)


# ---- company, session, rights, dimensions ----


@pytest.mark.parametrize("prefix", ["/api", "/latest/api", "/supported/api", "/v2604/api"])
def test_company_under_every_prefix(procountor_url: str, prefix: str) -> None:
    token = request_token(procountor_url, HEALTHY_KEY, prefix=prefix).json()["access_token"]
    response = httpx.get(f"{procountor_url}{prefix}/company", headers=bearer(token))
    assert response.status_code == 200
    company = response.json()
    assert company["id"] == 101
    assert company["name"] == "Öljy-Äijät Oy"
    assert company["businessIdentifier"] == {"brnType": "FI", "code": "2925630-9"}
    assert company["country"] == "FINLAND"


def test_unknown_version_prefix_is_not_found(procountor_url: str) -> None:
    response = httpx.get(
        f"{procountor_url}/nonsense/api/company", headers=token_headers(procountor_url, HEALTHY_KEY)
    )
    assert response.status_code == 404


def test_sessioninfo_names_company_and_user(procountor_url: str) -> None:
    info = httpx.get(
        f"{procountor_url}/api/sessioninfo", headers=token_headers(procountor_url, HEALTHY_KEY)
    ).json()
    assert info["companyId"] == 101
    assert info["userName"] == "API Tilitoimisto Tase"
    assert {"name", "country", "productVersion", "userId", "companySettings"} <= info.keys()


def test_rights_of_the_guide_user(procountor_url: str) -> None:
    response = httpx.get(
        f"{procountor_url}/api/users/rights", headers=token_headers(procountor_url, HEALTHY_KEY)
    )
    body = response.json()
    assert isinstance(body["role"], str)
    rights = body["rights"]
    assert {
        "management",
        "user",
        "purchases",
        "accounting",
        "sales",
        "invoiceCirculation",
        "salaries",
        "payments",
        "travelAndExpenses",
    } <= rights.keys()
    for (group, field), level in GUIDE.items():
        assert rights[group][field] == level
    assert rights["purchases"]["personalPurchaseInvoicesOnly"] is False
    for group in rights.values():
        for value in group.values():
            assert isinstance(value, bool) or value in LEVELS


def test_dimensions_schema(procountor_url: str) -> None:
    response = httpx.get(
        f"{procountor_url}/api/dimensions", headers=token_headers(procountor_url, HEALTHY_KEY)
    )
    dimensions = response.json()
    assert [d["name"] for d in dimensions] == ["Kustannuspaikka", "Projekti"]
    item = dimensions[1]["items"][1]
    assert isinstance(item["id"], int)
    assert item == {"id": item["id"], "codeName": "Vanha projekti", "status": "P"}  # inactive
    assert all("status" not in active for active in dimensions[0]["items"])  # absent when active


def test_purchase_invoices_are_paged(procountor_url: str) -> None:
    headers = token_headers(procountor_url, HEALTHY_KEY)
    url = f"{procountor_url}/api/invoices"
    first = httpx.get(url, params={"types": "PURCHASE_INVOICE", "size": 2, "page": 0}, headers=headers).json()
    second = httpx.get(
        url, params={"types": "PURCHASE_INVOICE", "size": 2, "page": 1}, headers=headers
    ).json()
    assert first["meta"] == {"pageNumber": 0, "pageSize": 2, "resultCount": 2, "totalCount": 3}
    assert second["meta"]["resultCount"] == 1
    assert {i["type"] for i in first["results"] + second["results"]} == {"PURCHASE_INVOICE"}
    too_big = httpx.get(url, params={"types": "PURCHASE_INVOICE", "size": 201}, headers=headers)
    assert_procountor_error(too_big, 400)


def test_purchase_invoices_carry_their_counter_party(procountor_url: str) -> None:
    headers = token_headers(procountor_url, HEALTHY_KEY)
    rows = httpx.get(
        f"{procountor_url}/api/invoices", params={"types": "PURCHASE_INVOICE"}, headers=headers
    ).json()["results"]
    for row in rows:
        party = row["counterParty"]  # required in Procountor's Invoice: the seller of a purchase invoice
        assert set(party) <= {
            "contactPersonName",
            "identifier",
            "taxCode",
            "customerNumber",
            "email",
            "counterPartyAddress",
            "bankAccount",
            "einvoiceAddress",
        }
        assert party["counterPartyAddress"]["name"] and re.fullmatch(r"\d{7}-\d", party["identifier"])


def test_purchase_invoices_are_filtered_by_start_and_end_date(procountor_url: str) -> None:
    """The example company has invoices dated 2025-01-02, 2025-01-09 and 2025-01-16."""
    headers = token_headers(procountor_url, HEALTHY_KEY)
    url = f"{procountor_url}/api/invoices"

    def dates(**params: str) -> list[str]:
        answer = httpx.get(url, params={"types": "PURCHASE_INVOICE", **params}, headers=headers).json()
        assert answer["meta"]["totalCount"] == len(answer["results"])
        return [row["date"] for row in answer["results"]]

    assert dates() == ["2025-01-02", "2025-01-09", "2025-01-16"]
    assert dates(startDate="2025-01-09") == ["2025-01-09", "2025-01-16"]
    assert dates(endDate="2025-01-09") == ["2025-01-02", "2025-01-09"]
    assert dates(startDate="2025-01-03", endDate="2025-01-15") == ["2025-01-09"]
    assert dates(startDate="2025-02-01") == []
    for params in ({"startDate": "9.1.2025"}, {"startDate": "2025-01-10", "endDate": "2025-01-09"}):
        wrong = httpx.get(url, params={"types": "PURCHASE_INVOICE", **params}, headers=headers)
        assert assert_procountor_error(wrong, 400)["field"] == "startDate"


def test_other_reads_answer(procountor_url: str) -> None:
    headers = token_headers(procountor_url, HEALTHY_KEY)
    assert (
        httpx.get(f"{procountor_url}/api/ledgerreceipts", headers=headers).json()["meta"]["totalCount"] == 3
    )
    assert httpx.get(f"{procountor_url}/api/coa", headers=headers).json()["ledgerAccounts"]
    suppliers = httpx.get(
        f"{procountor_url}/api/businesspartners", params={"type": "SUPPLIER"}, headers=headers
    )
    assert suppliers.json()["results"]
    products = httpx.get(f"{procountor_url}/api/products", params={"type": "PURCHASE"}, headers=headers)
    assert products.status_code == 200


# ---- rights enforcement ----

ENDPOINTS = [
    ("company", {}, "management.basicCompanyInfo"),
    ("dimensions", {}, "management.basicAccountingInfo"),
    ("coa", {}, "management.chartOfAccountsAndDefaultReports"),
    ("ledgerreceipts", {}, "accounting.journalReceipts"),
    ("ledgerreceipts", {}, "accounting.journalReceiptSearch"),
    ("invoices", {"types": "PURCHASE_INVOICE"}, "purchases.purchaseInvoices"),
    ("invoices", {"types": "PURCHASE_INVOICE"}, "purchases.purchaseInvoiceSearch"),
    ("businesspartners", {"type": "SUPPLIER"}, "purchases.supplierRegister"),
    ("products", {"type": "PURCHASE"}, "purchases.productRegister"),
]


def _one_company(overrides: dict[str, str]) -> dict[str, Any]:
    return {
        "procountor": {
            "apps": [{"clientId": APP_ID, "clientSecret": APP_SECRET}],
            "companies": [
                {
                    "id": 1,
                    "name": "Testi Oy",
                    "businessId": "2925630-9",
                    "users": [{"userName": "api", "rights": "guide", "rightsOverrides": overrides}],
                    "apiKeys": [{"key": "FAKE-k", "clientId": APP_ID, "userName": "api"}],
                }
            ],
        }
    }


@pytest.mark.parametrize(("path", "params", "right"), ENDPOINTS, ids=[f"{p}-{r}" for p, _, r in ENDPOINTS])
def test_each_endpoint_needs_its_right(
    sandbox: SandboxFactory, path: str, params: dict[str, str], right: str
) -> None:
    url = sandbox(_one_company({right: "NO_ACCESS"})).service_url("procountor")
    headers = token_headers(url, "FAKE-k")
    error = assert_procountor_error(httpx.get(f"{url}/api/{path}", params=params, headers=headers), 403)
    assert error == {"status": 403, "message": "Insufficient user rights"}
    # The user can still read which rights it has.
    assert httpx.get(f"{url}/api/users/rights", headers=headers).status_code == 200


def test_viewing_rights_are_enough_to_read(sandbox: SandboxFactory) -> None:
    url = sandbox(_one_company({"purchases.purchaseInvoices": "VIEWING_RIGHTS"})).service_url("procountor")
    response = httpx.get(
        f"{url}/api/invoices", params={"types": "PURCHASE_INVOICE"}, headers=token_headers(url, "FAKE-k")
    )
    assert response.status_code == 200


# ---- the example scenario's broken companies ----


def test_billable_interfaces_off_answers_nginx_html_500(procountor_url: str) -> None:
    headers = token_headers(procountor_url, "FAKE-pc-key-lasku-laiska")  # the token endpoint still works
    for path in ("company", "users/rights", "sessioninfo"):
        response = httpx.get(f"{procountor_url}/api/{path}", headers=headers)
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>500 Internal Server Error</title>" in response.text


def _rights(procountor_url: str, key: str) -> dict[str, dict[str, Any]]:
    rights: dict[str, dict[str, Any]] = httpx.get(
        f"{procountor_url}/api/users/rights", headers=token_headers(procountor_url, key)
    ).json()["rights"]
    return rights


def _missing(rights: dict[str, dict[str, Any]]) -> set[str]:
    rank = {"ALL_RIGHTS": 2, "VIEWING_RIGHTS": 1}
    return {
        f"{group}.{field}"
        for (group, field), level in GUIDE.items()
        if rank.get(rights[group][field], 0) < rank[level]
    }


@pytest.mark.parametrize(
    ("key", "missing"),
    [
        ("FAKE-pc-key-oljy-aijat-1", set()),
        ("FAKE-pc-key-kahvila-kuppi", set()),
        ("FAKE-pc-key-metsa-mokit", set()),
        ("FAKE-pc-key-johto-puute", {"management.basicCompanyInfo"}),
        ("FAKE-pc-key-osto-esto", {"purchases.productRegister"}),
        ("FAKE-pc-key-kirjanpito-kato", {"accounting.journalReceipts"}),
        ("FAKE-pc-key-kayttaja-kielto", {"user.editPersonalInfo"}),
        (
            "FAKE-pc-key-kaikki-vinossa",
            {
                "management.chartOfAccountsAndDefaultReports",
                "user.editPersonalInfo",
                "purchases.purchaseInvoices",
                "purchases.supplierRegister",
                "accounting.journalReceiptSearch",
            },
        ),
    ],
)
def test_example_companies_reproduce_the_guide_rights_issues(
    procountor_url: str, key: str, missing: set[str]
) -> None:
    assert _missing(_rights(procountor_url, key)) == missing


def test_example_key_listed_under_another_business_id(procountor_url: str) -> None:
    company = httpx.get(
        f"{procountor_url}/api/company", headers=token_headers(procountor_url, "FAKE-pc-key-sauna-saarinen")
    ).json()
    assert company["businessIdentifier"]["code"] == "2358253-3"  # the roster lists it under 1632707-5


def test_example_second_key_reaches_the_same_company(procountor_url: str) -> None:
    company = httpx.get(
        f"{procountor_url}/api/company", headers=token_headers(procountor_url, "FAKE-pc-key-oljy-aijat-2")
    ).json()
    assert company["id"] == 101


# ---- rate limit ----


def test_per_application_rate_limit(sandbox: SandboxFactory, example_scenario: dict[str, Any]) -> None:
    example_scenario["procountor"]["rateLimitPerSecond"] = 3
    running: RunningSandbox = sandbox(example_scenario)
    url = running.service_url("procountor")
    headers = token_headers(url, HEALTHY_KEY)  # the token request is the first of the second
    statuses = [httpx.get(f"{url}/api/coa", headers=headers).status_code for _ in range(4)]
    assert 429 in statuses
    assert statuses[0] == 200
    stats = running.admin.stats()["services"]["procountor"]
    assert stats["rateLimited"][APP_ID] == statuses.count(429)
    assert stats["peakRequestsPerSecond"][APP_ID] <= 3


def test_oauth_refusal_style_names_the_refused_credential(
    sandbox: SandboxFactory, example_scenario: dict[str, Any]
) -> None:
    example_scenario["procountor"].update(refusalStyle="oauth", refusalEchoesRequest=True)
    url = sandbox(example_scenario).service_url("procountor")
    wrong_app = request_token(url, HEALTHY_KEY, client_secret="FAKE-wrong/secret")
    assert wrong_app.status_code == 401
    assert set(wrong_app.json()) == {"error", "error_description"}
    assert wrong_app.json()["error"] == "invalid_client"
    assert "FAKE-wrong%2Fsecret" in wrong_app.json()["error_description"]  # the careless echo, URL-encoded
    revoked = request_token(url, "FAKE-pc-key-peruttu-avain")
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


def test_a_token_of_a_company_gone_from_the_scenario_is_refused_after_a_restart(
    tmp_path: Path, example_scenario: dict[str, Any]
) -> None:
    """A restart keeps issued tokens (the state file); a scenario without their company must not 500."""
    state = tmp_path / "state.db"
    with run_in_thread(example_scenario, state) as first:
        headers = token_headers(first.service_url("procountor"), HEALTHY_KEY)
        assert httpx.get(f"{first.service_url('procountor')}/api/company", headers=headers).status_code == 200
    example_scenario["procountor"]["companies"] = [
        company for company in example_scenario["procountor"]["companies"] if company["id"] != 101
    ]
    with run_in_thread(example_scenario, state) as second:
        for path in ("company", "users/rights", "sessioninfo"):
            response = httpx.get(f"{second.service_url('procountor')}/api/{path}", headers=headers)
            assert_procountor_error(response, 401)
