"""The sandbox serves Procountor's published clients unchanged, and answers in the real shapes.

Driven with plain httpx the way independent clients of the real API send their requests (read, not copied:
rantalainen/procountor-api-client posts the token form to ``{base}/oauth/token`` with a bare form content
type; vilkasgroup's Procountor posts it to ``{host}/{supported|latest|vYYMM}/api/oauth/token/`` with a
trailing slash and a ``redirect_uri``, and sends ``content-type: application/json`` on body-less GETs; an
HTTP library may add ``; charset=UTF-8``). Each answer is compared with the fixture of the real shape in
tests/fixtures/real/procountor/, so the sandbox cannot drift from the public schema unnoticed.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import APP_ID, APP_SECRET, HEALTHY_KEY

FIXTURES = Path(__file__).parents[1] / "fixtures" / "real" / "procountor"
FORM = "application/x-www-form-urlencoded"
# Procountor's OpenAPI enum of productVersion (Company, SessionInfo).
PRODUCT_VERSIONS = {
    "BACKOFFICE",
    "BACKOFFICE_BASIC",
    "BACKOFFICE_PLUS",
    "BACKOFFICE_PREMIUM",
    "FINAGO_SOLO",
    "FINANCIALS_ALKU",
    "FINANCIALS_BASIC",
    "FINANCIALS_ENTERPRISE",
    "FINANCIALS_GOLD",
    "FINANCIALS_LIGHT",
    "FINANCIALS_MAX",
    "FINANCIALS_PLATINUM",
    "FINANCIALS_PLUS",
    "FINANCIALS_PREMIUM",
    "FINANCIALS_SILVER",
    "FINANCIALS_UNLIMITED",
    "FLEX",
    "SALES_GOLD",
    "SALES_PLATINUM",
    "SALES_SILVER",
}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def token_form(api_key: str = HEALTHY_KEY, **extra: str) -> str:
    fields = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "api_key": api_key,
        **extra,
    }
    return urllib.parse.urlencode(fields)


def post_token(url: str, content_type: str, body: str) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": content_type})


@pytest.mark.parametrize(
    ("prefix", "path", "content_type", "extra"),
    [
        pytest.param("/api", "oauth/token", FORM, {}, id="generated-openapi-client"),
        pytest.param(
            "/supported/api",
            "oauth/token/",
            FORM,
            {"redirect_uri": "https://example.invalid/cb"},
            id="vilkasgroup-supported-trailing-slash",
        ),
        pytest.param("/latest/api", "oauth/token/", FORM, {"redirect_uri": ""}, id="latest"),
        pytest.param("/v2604/api", "oauth/token", f"{FORM}; charset=UTF-8", {}, id="versioned-with-charset"),
        pytest.param("/api", "oauth/token", f"{FORM};charset=utf-8", {}, id="charset-no-space"),
    ],
)
def test_independent_clients_get_a_token_and_read(
    procountor_url: str, prefix: str, path: str, content_type: str, extra: dict[str, str]
) -> None:
    base = f"{procountor_url}{prefix}/"
    response = post_token(base + path, content_type, token_form(**extra))
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert set(response.json()) == set(fixture("token_200.json"))
    # vilkasgroup sends a JSON content type on body-less GETs; paths with and without a trailing slash.
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    for read in ("company", "company/", "users/rights", "dimensions/", "sessioninfo"):
        answer = httpx.get(base + read, headers=headers)
        assert answer.status_code == 200, (read, answer.text)


def test_a_refused_token_has_procountors_error_shape_and_no_cause_field(procountor_url: str) -> None:
    response = post_token(f"{procountor_url}/api/oauth/token", FORM, token_form("FAKE-pc-key-peruttu-avain"))
    assert response.status_code == 401
    assert response.json() == fixture("token_refused_errors_style.json")


@pytest.fixture
def headers(procountor_url: str) -> dict[str, str]:
    response = post_token(f"{procountor_url}/api/oauth/token", FORM, token_form())
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def get(procountor_url: str, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx.get(f"{procountor_url}/api/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def shape(value: Any) -> Any:
    """Keys and value types, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return (
        "bool"
        if isinstance(value, bool)
        else "number"
        if isinstance(value, int | float)
        else type(value).__name__
    )


def test_rights_have_exactly_the_real_groups_fields_and_types(
    procountor_url: str, headers: dict[str, str]
) -> None:
    rights = get(procountor_url, headers, "users/rights")
    assert shape(rights) == shape(fixture("users_rights.json"))
    assert list(rights["rights"]) == list(fixture("users_rights.json")["rights"])


def test_sessioninfo_has_the_real_fields_and_product_version(
    procountor_url: str, headers: dict[str, str]
) -> None:
    info = get(procountor_url, headers, "sessioninfo")
    assert shape(info) == shape(fixture("sessioninfo.json"))
    assert info["productVersion"] in PRODUCT_VERSIONS


def test_company_has_only_real_fields(procountor_url: str, headers: dict[str, str]) -> None:
    company = get(procountor_url, headers, "company")
    real = fixture("company.json")
    assert set(company) <= set(real) | {"billingAddress"}
    assert shape(company["businessIdentifier"]) == shape(real["businessIdentifier"])
    assert company["productVersion"] in PRODUCT_VERSIONS


def test_dimension_items_have_status_only_when_inactive(procountor_url: str, headers: dict[str, str]) -> None:
    for dimension in get(procountor_url, headers, "dimensions"):
        assert set(dimension) == {"id", "name", "items"}
        for item in dimension["items"]:
            assert set(item) <= {"id", "codeName", "status", "description"}
            assert item.get("status", "P") == "P"


def test_invoice_rows_carry_sums_in_invoice_sum_info(procountor_url: str, headers: dict[str, str]) -> None:
    page = get(procountor_url, headers, "invoices", types="PURCHASE_INVOICE", size=2, page=0)
    real = fixture("invoices_page.json")
    # The fixture's row (InvoiceBasicInfo as the OpenAPI read lists it) has no counterParty; the sandbox's
    # row adds the CounterParty that Procountor's Invoice requires (docs/SANDBOX.md, assumption).
    parties = [row.pop("counterParty") for row in page["results"]]
    assert shape(page) == shape(real)
    assert shape(parties[0]) == {
        "identifier": "str",
        "counterPartyAddress": {"name": "str", "country": "str"},
    }
    assert "currency" not in page["results"][0] and "totalAmount" not in page["results"][0]


def test_ledger_receipts_and_chart_of_accounts(procountor_url: str, headers: dict[str, str]) -> None:
    receipts = get(procountor_url, headers, "ledgerreceipts")
    assert shape(receipts) == shape(fixture("ledgerreceipts_page.json"))
    accounts = get(procountor_url, headers, "coa")["ledgerAccounts"]
    assert {"ledgerAccountCode", "name", "active"} == set(accounts[0])
    assert {type(account["active"]) for account in accounts} == {bool}


def test_products_page_by_previous_id(procountor_url: str, headers: dict[str, str]) -> None:
    first = get(procountor_url, headers, "products", type="PURCHASE", size=2)
    assert shape(first) == shape(fixture("products_page_first.json"))
    last = first["results"][-1]["id"]
    rest = get(procountor_url, headers, "products", type="PURCHASE", size=2, previousId=last)
    assert [row["id"] > last for row in rest["results"]] == [True] * len(rest["results"])
    ids = [row["id"] for row in first["results"] + rest["results"]]
    assert len(ids) == len(set(ids)) == first["meta"]["totalCount"]
    too_big = httpx.get(
        f"{procountor_url}/api/products", params={"type": "PURCHASE", "size": 201}, headers=headers
    )
    assert too_big.status_code == 400
    assert too_big.json()["errors"][0]["field"] == "size"
