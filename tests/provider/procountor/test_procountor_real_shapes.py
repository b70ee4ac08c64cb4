"""The Procountor client reads every payload in the real shapes (tests/fixtures/real/procountor/), and
diagnoses a refused token request from either body style without resting on a field only a stand-in sends.

These tests serve the fixtures through the client's one test seam (``transport=``): they pin the parsing of
the public shapes, while the sandbox tests prove the behaviour over real HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from provider.errors import ConfigurationError, PrerequisiteFailed, TokenRefused
from provider.procountor.client import ProcountorClient
from provider.procountor.rights import GUIDE_RIGHTS, missing_rights, verified_rights
from provider.settings import ProcountorSettings
from provider.verification.messages import verified_rights as proven_rights
from tests.support.erp_stack import FAST_RETRY
from tests.support.secret_scan import ECHO_FORM_NAMES, echo_forms, leaks
from tests.support.verification import procountor_verdict

FIXTURES = Path(__file__).parents[2] / "fixtures" / "real" / "procountor"
APP_ID = "fabricai-roster-pts"
APP_SECRET = "FAKE-pts/client+secret=Ä"  # characters that URL-encoding changes
API_KEY = "FAKE-pts-api-key/Kuusela+1"
BUSINESS_ID = "3187452-8"
LABEL = "Kuusela Rakennus Oy (3187452-8)"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


Answer = Callable[[httpx.Request], httpx.Response]


def serve(overrides: dict[str, httpx.Response] | None = None) -> tuple[Answer, list[httpx.Request]]:
    """Procountor at PTS, answering each path with its fixture (or an override)."""
    seen: list[httpx.Request] = []
    files = {
        "oauth/token": "token_200.json",
        "company": "company.json",
        "users/rights": "users_rights.json",
        "dimensions": "dimensions.json",
    }

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path.removeprefix("/api/")
        if overrides and path in overrides:
            return overrides[path]
        return httpx.Response(200, json=fixture(files[path]))

    return answer, seen


def client(answer: Answer, secret: str = APP_SECRET) -> ProcountorClient:
    settings = ProcountorSettings(
        base_url="https://pts-api.procountor.com/api", client_id=APP_ID, client_secret=SecretStr(secret)
    )
    return ProcountorClient(settings, retry=FAST_RETRY, transport=httpx.MockTransport(answer))


def test_company_rights_and_dimensions_in_the_real_shapes_verify() -> None:
    answer, seen = serve()
    verified = procountor_verdict(
        client(answer),
        api_key=API_KEY,
        business_id=BUSINESS_ID,
        label=LABEL,
        dimensions=["Kustannuspaikka", "Projekti"],
    )
    assert verified.company is not None
    assert verified.company.erp_company_id == "482913" and verified.company.name == "Kuusela Rakennus Oy"
    assert len(proven_rights(verified)) == len(GUIDE_RIGHTS)
    assert "Purchases > Product register: All rights" in proven_rights(verified)
    assert {request.url.path for request in seen} == {
        "/api/oauth/token",
        "/api/company",
        "/api/users/rights",
        "/api/dimensions",
    }


def test_the_fixture_user_holds_every_guide_right_and_booleans_are_not_levels() -> None:
    rights = fixture("users_rights.json")["rights"]
    assert missing_rights(rights) == []
    assert len(verified_rights(rights)) == len(GUIDE_RIGHTS)
    assert rights["purchases"]["personalPurchaseInvoicesOnly"] is False  # read, never taken for a level


@pytest.mark.parametrize("body", [{}, {"role": "USER"}], ids=["empty", "role-only"])
def test_rights_without_the_optional_rights_object_mean_every_right_is_missing(body: dict[str, Any]) -> None:
    answer, _ = serve({"users/rights": httpx.Response(200, json=body)})
    with pytest.raises(PrerequisiteFailed) as failure:
        procountor_verdict(
            client(answer), api_key=API_KEY, business_id=BUSINESS_ID, label=LABEL, dimensions=[]
        )
    assert f"lacks {len(GUIDE_RIGHTS)} of the rights" in str(failure.value)
    assert "(now: not reported)" in str(failure.value)


def test_dimension_item_status_absent_is_active_and_p_is_inactive() -> None:
    answer, _ = serve()
    cost_centres, projects = client(answer).dimensions(API_KEY)
    assert [item.active for item in cost_centres.items] == [True, True, False]
    assert [item.active for item in projects.items] == [True, False]
    assert cost_centres.items[1].description == "As Oy Kalliokatu 7"


@pytest.mark.parametrize(("status", "active"), [("ACTIVE", True), ("INACTIVE", False), ("p", False)])
def test_dimension_item_status_spelled_out_is_read_too(status: str, active: bool) -> None:
    body = [{"id": 1, "name": "Projekti", "items": [{"id": 2, "codeName": "X", "status": status}]}]
    answer, _ = serve({"dimensions": httpx.Response(200, json=body)})
    assert client(answer).dimensions(API_KEY)[0].items[0].active is active


@pytest.mark.parametrize("brn_type", ["YHD", "FI"])
def test_company_business_id_is_read_under_either_brn_type(brn_type: str) -> None:
    company = fixture("company.json")
    company["businessIdentifier"]["brnType"] = brn_type
    answer, _ = serve({"company": httpx.Response(200, json=company)})
    verified = procountor_verdict(
        client(answer), api_key=API_KEY, business_id=BUSINESS_ID, label=LABEL, dimensions=[]
    )
    assert verified.company is not None and verified.company.name == "Kuusela Rakennus Oy"


def test_a_personal_identity_code_is_never_shown_as_a_business_id() -> None:
    company = fixture("company.json")
    company["businessIdentifier"] = {"brnType": "HETU", "code": "010190-123A"}
    answer, _ = serve({"company": httpx.Response(200, json=company)})
    with pytest.raises(PrerequisiteFailed) as failure:
        procountor_verdict(
            client(answer), api_key=API_KEY, business_id=BUSINESS_ID, label=LABEL, dimensions=[]
        )
    assert "a personal identity code, not a business ID" in str(failure.value)
    assert "010190-123A" not in str(failure.value)


# ---- refused token requests ----

ERRORS_STYLE = fixture("token_refused_errors_style.json")
OAUTH_STYLE = fixture("token_refused_oauth_style.json")


def refused(status: int, body: Any) -> Answer:
    return serve({"oauth/token": httpx.Response(status, json=body)})[0]


def verify(answer: Answer) -> None:
    procountor_verdict(client(answer), api_key=API_KEY, business_id=BUSINESS_ID, label=LABEL, dimensions=[])


def refusal(answer: Answer) -> TokenRefused:
    """What the client makes of a refused token request (the checks turn it into a finding)."""
    with pytest.raises(TokenRefused) as failure:
        client(answer).token(API_KEY)
    return failure.value


@pytest.mark.parametrize("status", [400, 401])
def test_procountors_errors_body_names_the_key_and_the_partner_application(status: int) -> None:
    assert refusal(refused(status, ERRORS_STYLE)).field is None  # the answer does not say which
    with pytest.raises(PrerequisiteFailed) as failure:
        verify(refused(status, ERRORS_STYLE))
    text = str(failure.value)
    assert "Procountor refused the client's API key" in text
    assert "Basics -> API client keys -> New API key" in text and "roster:procountorApiKeys" in text
    assert "procountor:clientId and procountor:clientSecret" in text


def test_a_field_in_the_errors_body_is_not_taken_for_the_cause() -> None:
    """Only our old stand-in sent ``field: client_id``: it must not decide the diagnosis."""
    body = {"errors": [{"status": 401, "field": "client_id", "message": "Invalid credentials"}]}
    assert refusal(refused(401, body)).field is None
    with pytest.raises(PrerequisiteFailed):
        verify(refused(401, body))


@pytest.mark.parametrize("status", [400, 401])
def test_oauth_invalid_grant_is_the_api_key(status: int) -> None:
    assert refusal(refused(status, OAUTH_STYLE)).field == "api_key"
    with pytest.raises(PrerequisiteFailed) as failure:
        verify(refused(status, OAUTH_STYLE))
    text = str(failure.value)
    assert "revoked in Procountor" in text and "Basics -> API client keys -> New API key" in text


@pytest.mark.parametrize("error", ["invalid_client", "unauthorized_client"])
def test_oauth_client_errors_are_the_partner_application(error: str) -> None:
    body = {"error": error, "error_description": "Bad client credentials"}
    assert refusal(refused(401, body)).field == "client_id"
    with pytest.raises(ConfigurationError) as failure:
        verify(refused(401, body))
    text = str(failure.value)
    assert text.startswith(f"{LABEL}: Procountor refused the integration's own partner credentials")
    assert "procountor:clientId" in text and "procountor:clientSecret" in text


@pytest.mark.parametrize("body", [None, "<html>401</html>", {"unexpected": True}])
def test_a_refusal_without_a_readable_body_still_names_both_fixes(body: Any) -> None:
    response = (
        httpx.Response(401)
        if body is None
        else httpx.Response(401, text=body)
        if isinstance(body, str)
        else httpx.Response(401, json=body)
    )
    answer, _ = serve({"oauth/token": response})
    assert "Procountor refused the token request (HTTP 401)" in str(refusal(answer))
    with pytest.raises(PrerequisiteFailed) as failure:
        verify(answer)
    assert "procountor:clientId" in str(failure.value) and "New API key" in str(failure.value)


def test_a_key_refused_after_the_same_client_credentials_worked_is_the_key() -> None:
    refusals = {"count": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            if "Kuusela" in request.content.decode():
                refusals["count"] += 1
                return httpx.Response(401, json=ERRORS_STYLE)
            return httpx.Response(200, json=fixture("token_200.json"))
        return httpx.Response(200, json=fixture("company.json"))

    procountor = client(answer)
    procountor.company("FAKE-another-clients-key")
    with pytest.raises(TokenRefused) as refused_key:
        procountor.token(API_KEY)
    assert refused_key.value.field == "api_key" and refusals["count"] == 1


# ---- what a careless token endpoint echoes back ----


@pytest.mark.parametrize("style", ["errors", "oauth"])
@pytest.mark.parametrize("form", range(len(ECHO_FORM_NAMES)), ids=ECHO_FORM_NAMES)
def test_an_echoed_secret_never_reaches_the_message(style: str, form: int) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        echoed = f"bad request {body} / secret {echo_forms(APP_SECRET)[form]} key {echo_forms(API_KEY)[form]}"
        if style == "oauth":
            return httpx.Response(400, json={"error": "invalid_request", "error_description": echoed})
        return httpx.Response(401, json={"errors": [{"status": 401, "message": echoed}]})

    quoted = str(refusal(answer)).lower()  # the client's error quotes the answer, scrubbed
    assert "[redacted]" in quoted
    with pytest.raises(PrerequisiteFailed) as failure:
        verify(answer)
    assert not leaks(f"{quoted}\n{str(failure.value).lower()}", (APP_SECRET, API_KEY))


# The guide's rights as shared/reference/procountor.md maps them onto GET /users/rights.
REFERENCE_TABLE = {
    "Management > Basic company info": ("management.basicCompanyInfo", "VIEWING_RIGHTS"),
    "Management > Basic accounting info": ("management.basicAccountingInfo", "VIEWING_RIGHTS"),
    "Management > Chart of accounts and default reports": (
        "management.chartOfAccountsAndDefaultReports",
        "VIEWING_RIGHTS",
    ),
    "User > Edit personal info": ("user.editPersonalInfo", "VIEWING_RIGHTS"),
    "Purchases > Rights for purchase invoices": ("purchases.purchaseInvoices", "ALL_RIGHTS"),
    "Purchases > Search purchase invoices": ("purchases.purchaseInvoiceSearch", "ALL_RIGHTS"),
    "Purchases > Supplier register": ("purchases.supplierRegister", "VIEWING_RIGHTS"),
    "Purchases > Product register": ("purchases.productRegister", "ALL_RIGHTS"),
    "Accounting > Rights for journal receipts": ("accounting.journalReceipts", "VIEWING_RIGHTS"),
    "Accounting > Search journal receipts": ("accounting.journalReceiptSearch", "ALL_RIGHTS"),
}


def test_the_guide_rights_table_names_real_fields_at_the_reference_levels() -> None:
    real = fixture("users_rights.json")["rights"]
    assert {right.ui_path: (right.dotted, right.needed.value) for right in GUIDE_RIGHTS} == REFERENCE_TABLE
    for right in GUIDE_RIGHTS:
        assert isinstance(real[right.group][right.field], str), right.dotted  # a level, not a boolean
