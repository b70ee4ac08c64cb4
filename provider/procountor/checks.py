"""The guide's Procountor checks, run here (partner mode): one API key -> a ``Verification`` of findings.

The token comes first (a refusal stops there: ``credentials`` or, for FabricAI's own app, ``partner_app``);
then company, rights and dimensions are read at once. A 500 after the token is the guide's "Internal
server error" (``billable_interfaces``); the company's business ID must be the client's
(``company_identity``); every guide right must be held, a 403 on /company or /dimensions counting as the
right that read needs (``user_rights``); the roster's dimensions must exist (``dimensions``). A read that
fails otherwise (unreachable, 5xx or 429 after retries, an unreadable answer) is ``erp_reachable`` not
holding: the verdict is INCONCLUSIVE, never a false FAILED. Findings hold facts only, never the key or
Procountor's text; ``provider.verification.messages`` words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provider.business_id import BusinessId, InvalidBusinessId
from provider.errors import AccessDenied, ProcountorError, ServerFailure, TokenRefused
from provider.http_body import TooLarge
from provider.procountor.client import CompanyFacts, Outcome, ProcountorClient
from provider.procountor.models import Company, Dimension
from provider.procountor.rights import BY_DOTTED, GUIDE_RIGHTS, RightLevel, held_level
from provider.verification.findings import Check, ErpCompany, Finding, Verification, fails, holds

SYSTEM = "procountor"
# The right each read needs: a 403 there means this right is missing even if /users/rights says not.
_RIGHT_OF_PATH = {"company": "management.basicCompanyInfo", "dimensions": "management.basicAccountingInfo"}
# brnType values of GET /company that hold a person's identity code, not a business ID (never shown).
_PERSONAL_ID_TYPES = frozenset({"HETU", "SSN", "PN"})


def check_api_key(
    procountor: ProcountorClient, *, api_key: str, business_id: str, dimensions: Sequence[str]
) -> Verification:
    """Every Procountor prerequisite of the guide for one client's API key, as findings."""
    try:
        facts = procountor.company_facts(api_key, with_dimensions=bool(dimensions))
    except TokenRefused as error:
        if error.field == "client_id":
            return Verification.of(SYSTEM, [fails(Check.PARTNER_APP)])
        refused = "API_KEY" if error.field == "api_key" else "UNKNOWN"
        return Verification.of(SYSTEM, [fails(Check.CREDENTIALS, refused=refused)])
    except ProcountorError as error:
        return Verification.of(SYSTEM, [unreachable(error)])
    return _verdict(facts, business_id, dimensions)


def unreachable(error: Exception) -> Finding:
    """``erp_reachable`` not holding, with why (no text of the service's)."""
    status = error.status_code if isinstance(error, ProcountorError) else None
    if status == 429:
        reason = "rate_limited"
    elif status is not None and status >= 500:
        reason = "unavailable"
    elif status is None and "time" in str(error).lower():
        reason = "timeout"
    elif status is None and not isinstance(error, TooLarge):
        reason = "unavailable"
    else:
        reason = "bad_answer"
    return fails(Check.ERP_REACHABLE, reason=reason, status=status)


def _verdict(facts: CompanyFacts, business_id: str, wanted: Sequence[str]) -> Verification:
    findings: list[Finding] = [holds(Check.CREDENTIALS)]
    outcomes: list[Outcome[Any]] = [
        facts.company,
        facts.rights,
        *([facts.dimensions] if facts.dimensions else []),
    ]
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    if any(isinstance(error, ServerFailure) for error in errors):
        return Verification.of(SYSTEM, [*findings, fails(Check.BILLABLE_INTERFACES)])
    findings.append(holds(Check.BILLABLE_INTERFACES))
    company = facts.company.value
    if company is not None:
        findings.append(_company_identity(company, business_id))
    rights = _user_rights(facts)
    if rights is not None:
        findings.append(rights)
    others = [error for error in errors if not isinstance(error, AccessDenied)]
    if others:
        findings.append(unreachable(others[0]))
    if facts.dimensions is not None and facts.dimensions.value is not None:
        findings.append(_dimensions(facts.dimensions.value, wanted))
    erp_company = (
        None
        if company is None
        else ErpCompany(
            erp_company_id=str(company.id),
            name=company.name,
            business_id=company.business_identifier.code if company.business_identifier else None,
        )
    )
    return Verification.of(SYSTEM, findings, erp_company)


def _company_identity(company: Company, business_id: str) -> Finding:
    identifier = company.business_identifier
    code = identifier.code if identifier else None
    kind = "BUSINESS_ID" if code else "NONE"
    if identifier is not None and (identifier.brn_type or "").upper() in _PERSONAL_ID_TYPES:
        code, kind = None, "PERSONAL_ID"
    try:
        reported = str(BusinessId(code)) if code else None
    except InvalidBusinessId:
        reported = None
    facts: dict[str, Any] = {
        "expected_business_id": business_id,
        "reported_business_id": reported or code,
        "reported_name": company.name,
        "reported_kind": kind,
    }
    return (holds if reported == business_id else fails)(Check.COMPANY_IDENTITY, **facts)


def _user_rights(facts: CompanyFacts) -> Finding | None:
    """Every guide right: from /users/rights, plus those a 403 elsewhere proves missing; None when the
    rights could not be read and no 403 tells of one (the check was not decided)."""
    rights = facts.rights
    everything_missing = isinstance(rights.error, AccessDenied) or (
        rights.value is None and rights.error is None
    )
    held_rights: dict[str, Any] = (rights.value.rights or {}) if rights.value is not None else {}
    missing: dict[str, str | None] = {}
    held: list[dict[str, str]] = []
    if everything_missing or rights.value is not None:
        for right in GUIDE_RIGHTS:
            reported = None if everything_missing else held_level(held_rights, right)
            level = reported if reported in RightLevel.__members__ else None  # only the levels Procountor has
            if level is not None and right.granted_by(level):
                held.append({"right": right.dotted, "level": RightLevel(level).value})
            else:
                missing[right.dotted] = level
    for outcome in (facts.company, facts.dimensions):
        error = outcome.error if outcome is not None else None
        if isinstance(error, AccessDenied) and error.path in _RIGHT_OF_PATH:
            dotted = _RIGHT_OF_PATH[error.path]
            missing.setdefault(dotted, None)
            held = [item for item in held if item["right"] != dotted]
    if not missing and rights.value is None and not everything_missing:
        return None
    order = list(BY_DOTTED)
    listed = [
        {"right": dotted, "needed": BY_DOTTED[dotted].needed.value, "held": missing[dotted]}
        for dotted in sorted(missing, key=order.index)
    ]
    return (fails if listed else holds)(Check.USER_RIGHTS, missing=listed, held=held)


def _dimensions(existing: list[Dimension], wanted: Sequence[str]) -> Finding:
    names = [dimension.name for dimension in existing]
    unknown = [name for name in wanted if name not in names]
    facts = {"missing": unknown, "existing": [{"name": name, "hidden": False} for name in names]}
    return (fails if unknown else holds)(Check.DIMENSIONS, **facts)
