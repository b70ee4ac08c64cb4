"""FabricAI's Procountor checks: an M2M token for the firm's API key, then company, rights and dimensions.

Written from Procountor's documentation and the FabricAI guide ("Connecting FabricAI to Procountor"),
without importing ``provider`` or the sandbox's Procountor (the two sides of the wire stay independent):
- token: ``POST oauth/token`` form ``grant_type=client_credentials, client_id, client_secret, api_key``.
  OAuth's ``invalid_client`` is FabricAI's application refused (``partner_app``, INCONCLUSIVE); any other
  400/401 refuses the key (``credentials``: ``API_KEY`` when the answer names it, ``invalid_grant``, else
  ``UNKNOWN``: Procountor's own refusal does not say which credential it refused, and FabricAI's
  application is known good in operation, so the key is what the firm must look at);
- then ``GET company``, ``users/rights`` and (when dimensions are asked for) ``dimensions``, concurrently,
  each within FabricAI's one-application pace. Any 500 among them is the guide's "Internal server error"
  (billable interfaces off): not retried, ``billable_interfaces`` fails and nothing else is judged;
- a 403 on ``company`` counts ``management.basicCompanyInfo`` missing, on ``dimensions``
  ``management.basicAccountingInfo``, on ``users/rights`` every guide right.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.business_id import normalise_business_id
from sandbox.portal.scenario import ProcountorPartner
from sandbox.portal.verifier import Answer, Company, ErpCalls, Outcome, RequestWindow, Unreachable

# The guide's API user, step 2 of "Connecting FabricAI to Procountor", by GET /users/rights field.
GUIDE_RIGHTS: tuple[tuple[str, str], ...] = (
    ("management.basicCompanyInfo", "VIEWING_RIGHTS"),
    ("management.basicAccountingInfo", "VIEWING_RIGHTS"),
    ("management.chartOfAccountsAndDefaultReports", "VIEWING_RIGHTS"),
    ("user.editPersonalInfo", "VIEWING_RIGHTS"),
    ("purchases.purchaseInvoices", "ALL_RIGHTS"),
    ("purchases.purchaseInvoiceSearch", "ALL_RIGHTS"),
    ("purchases.supplierRegister", "VIEWING_RIGHTS"),
    ("purchases.productRegister", "ALL_RIGHTS"),
    ("accounting.journalReceipts", "VIEWING_RIGHTS"),
    ("accounting.journalReceiptSearch", "ALL_RIGHTS"),
)
# A level grants every level at or below it; NO_ACCESS and NOT_ENABLED grant nothing.
_RANK = {"ALL_RIGHTS": 2, "VIEWING_RIGHTS": 1, "NO_ACCESS": 0, "NOT_ENABLED": 0}
_RIGHT_BEHIND = {"company": "management.basicCompanyInfo", "dimensions": "management.basicAccountingInfo"}
# brnType values that carry a person's identity code: never shown.
_PERSONAL_ID_TYPES = frozenset({"HETU", "SSN", "PN"})
_IDENTIFIER = re.compile(r"[0-9A-Za-z-]{1,32}")
_MAX_NAME = 200


@dataclass(frozen=True)
class ProcountorRequest:
    """What FabricAI is asked to verify."""

    api_key: str
    expected_business_id: str  # NNNNNNN-C, the client record's
    expected_company_id: str | None  # erpCompanyId, when given or stored
    dimensions: Sequence[str] | None


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def _is_server_failure(status: int) -> bool:
    return status >= 500


class ProcountorChecks:
    def __init__(self, partner: ProcountorPartner, base_url: str, window: RequestWindow) -> None:
        self.partner = partner
        self.base_url = base_url.rstrip("/")
        self.window = window

    async def __call__(self, calls: ErpCalls, request: ProcountorRequest) -> Outcome:
        outcome = Outcome()
        token = await self._token(calls, request, outcome)
        if token is None:
            return outcome
        reads = ["company", "users/rights"] + (["dimensions"] if request.dimensions else [])
        answers = await asyncio.gather(*(self._get(calls, token, path) for path in reads))
        by_path = dict(zip(reads, answers, strict=True))
        if any(isinstance(a, Answer) and a.status == 500 for a in answers):
            outcome.add("erp_reachable", True)
            outcome.add("billable_interfaces", False)
            return outcome
        if any(isinstance(a, Answer) for a in answers):
            outcome.add("billable_interfaces", True)
        forbidden = {path for path, a in by_path.items() if isinstance(a, Answer) and a.status == 403}
        problems: list[Unreachable | None] = [a for a in answers if isinstance(a, Unreachable)]
        problems += [self._company(by_path["company"], request, outcome)]
        problems += [self._rights(by_path["users/rights"], forbidden, outcome)]
        if request.dimensions:
            problems += [self._dimensions(by_path["dimensions"], request.dimensions, outcome)]
        found = [problem for problem in problems if problem is not None]
        outcome.add("erp_reachable", not found, **(found[0].facts() if found else {}))
        return outcome

    # ---- requests ----

    def _paced(self) -> Any:
        return self.window.slot()

    async def _token(self, calls: ErpCalls, request: ProcountorRequest, outcome: Outcome) -> str | None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.partner.client_id,
            "client_secret": self.partner.client_secret,
            "api_key": request.api_key,
        }
        url = f"{self.base_url}/oauth/token"
        answer = await calls.call(
            lambda: calls.http.build_request("POST", url, data=form),
            paced=self._paced,
            retryable_status=_is_server_failure,
        )
        if isinstance(answer, Unreachable):
            outcome.add("erp_reachable", False, **answer.facts())
            return None
        body = _json(answer)
        if answer.status == 200:
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                outcome.add("erp_reachable", False, reason="bad_answer", status=answer.status)
                return None
            outcome.add("partner_app", True)
            outcome.add("credentials", True)
            return token
        if answer.status in (400, 401):
            error = body.get("error") if isinstance(body, dict) else None
            if error == "invalid_client":
                outcome.add("partner_app", False)
                outcome.add("erp_reachable", True)
                return None
            outcome.add("partner_app", True)
            outcome.add("erp_reachable", True)
            outcome.add("credentials", False, refused="API_KEY" if error == "invalid_grant" else "UNKNOWN")
            return None
        outcome.add("erp_reachable", False, reason="bad_answer", status=answer.status)
        return None

    async def _get(self, calls: ErpCalls, token: str, path: str) -> Answer | Unreachable:
        url = f"{self.base_url}/{path}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        # 500 right after the token is the guide's billable-interfaces answer: never retried.
        return await calls.call(
            lambda: calls.http.build_request("GET", url, headers=headers),
            paced=self._paced,
            retryable_status=lambda status: status > 500,
        )

    # ---- judging the answers ----

    @staticmethod
    def _company(
        answer: Answer | Unreachable, request: ProcountorRequest, outcome: Outcome
    ) -> Unreachable | None:
        """``company_identity``; an unusable answer is returned (for ``erp_reachable``)."""
        if not isinstance(answer, Answer) or answer.status == 403:
            return None  # 403: counted under user_rights; unreachable: already an erp_reachable problem
        if answer.status != 200:
            return Unreachable("bad_answer", answer.status)
        body = _json(answer)
        if not isinstance(body, dict) or not isinstance(body.get("id"), int | str):
            return Unreachable("bad_answer", answer.status)
        company_id = str(body["id"])
        raw_name = body.get("name")
        name = raw_name[:_MAX_NAME] if isinstance(raw_name, str) else None
        identifier = body.get("businessIdentifier")
        kind, reported = "NONE", None
        if isinstance(identifier, Mapping) and isinstance(identifier.get("code"), str):
            code = identifier["code"].strip()
            if str(identifier.get("brnType", "")).upper() in _PERSONAL_ID_TYPES:
                kind = "PERSONAL_ID"
            elif _IDENTIFIER.fullmatch(code):
                kind, reported = "BUSINESS_ID", code
        outcome.company = Company(erp_company_id=company_id, name=name, business_id=reported)
        same_business = (
            reported is not None and normalise_business_id(reported) == request.expected_business_id
        )
        same_company = request.expected_company_id is None or request.expected_company_id == company_id
        facts: dict[str, Any] = {
            "expectedBusinessId": request.expected_business_id,
            "reportedBusinessId": reported,
            "reportedName": name,
            "reportedKind": kind,
        }
        if request.expected_company_id is not None:
            facts["expectedErpCompanyId"] = request.expected_company_id
            facts["reportedErpCompanyId"] = company_id
        outcome.add("company_identity", same_business and same_company, **facts)
        return None

    @staticmethod
    def _rights(answer: Answer | Unreachable, forbidden: set[str], outcome: Outcome) -> Unreachable | None:
        if isinstance(answer, Unreachable):
            return None
        levels: dict[str, Any] = {}
        if answer.status == 200:
            body = _json(answer)
            groups = body.get("rights") if isinstance(body, dict) else None
            if not isinstance(groups, dict):
                return Unreachable("bad_answer", answer.status)
            for dotted, _needed in GUIDE_RIGHTS:
                group, _, name = dotted.partition(".")
                fields = groups.get(group)
                value = fields.get(name) if isinstance(fields, dict) else None
                levels[dotted] = value if isinstance(value, str) and value in _RANK else None
        elif answer.status != 403:
            return Unreachable("bad_answer", answer.status)
        # else 403 on users/rights itself: every right missing, held unknown (null).
        needs = dict(GUIDE_RIGHTS)
        for path in forbidden:
            if path in _RIGHT_BEHIND:
                # The ERP refused what this right grants: missing. A level /users/rights reported as too
                # low stays as reported; one it claimed sufficient is contradicted, so unknown (null).
                dotted = _RIGHT_BEHIND[path]
                level = levels.get(dotted)
                if level is None or _RANK[level] >= _RANK[needs[dotted]]:
                    levels[dotted] = None
        missing, held = [], []
        for dotted, needed in GUIDE_RIGHTS:
            level = levels.get(dotted)
            if level is not None and _RANK[level] >= _RANK[needed]:
                held.append({"right": dotted, "level": level})
            else:
                missing.append({"right": dotted, "needed": needed, "held": level})
        outcome.add("user_rights", not missing, missing=missing, held=held)
        return None

    @staticmethod
    def _dimensions(
        answer: Answer | Unreachable, asked: Sequence[str], outcome: Outcome
    ) -> Unreachable | None:
        if not isinstance(answer, Answer) or answer.status == 403:
            return None  # 403 counted under user_rights; unreachable under erp_reachable
        if answer.status != 200:
            return Unreachable("bad_answer", answer.status)
        body = _json(answer)
        if not isinstance(body, list):
            return Unreachable("bad_answer", answer.status)
        names = [
            d["name"][:_MAX_NAME] for d in body if isinstance(d, dict) and isinstance(d.get("name"), str)
        ]
        known = {name.strip().casefold() for name in names}
        missing = [name for name in asked if name.strip().casefold() not in known]
        existing = [{"name": name, "hidden": False} for name in names]  # Procountor hides no dimension
        outcome.add("dimensions", not missing, missing=missing, existing=existing)
        return None
