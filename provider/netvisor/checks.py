"""The guide's Netvisor checks, run here (partner mode): one credential pair and company -> findings.

Netvisor authenticates the keys (and the MAC they sign) before it looks at the organisation, and the
organisation before the resource right. So the first signed request decides ``credentials``
(AUTHENTICATION_FAILED for the keys) and ``company_access`` (AUTHENTICATION_FAILED for the organisation:
the credentials' user cannot reach this company); then the three resource rights are probed one request
at a time (``resource_rights``: every one not allowed is listed) and the roster's dimensions looked up
(``dimensions``). Anything that is not Netvisor's verdict (unreachable, busy, an unreadable or hostile
answer) is ``erp_reachable`` not holding: INCONCLUSIVE, never a false FAILED. Findings hold facts only,
never the keys or Netvisor's text; ``provider.verification.messages`` words them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from provider.errors import CompanyNotReachable, CredentialsRejected, NetvisorError, ResourceNotAllowed
from provider.netvisor import models
from provider.netvisor.client import Company, NetvisorClient
from provider.netvisor.rights import (
    ACCOUNTING_MATERIAL,
    CALCULATION_TARGETS,
    PURCHASE_INVOICES,
    RESOURCE_RIGHTS,
    WIRE_BY_RESOURCE_RIGHT,
)
from provider.netvisor.signing import Credentials
from provider.verification.findings import Check, ErpCompany, Finding, Verification, fails, holds

SYSTEM = "netvisor"
T = TypeVar("T")


class _Decided(Exception):
    """A request's answer decided the verification before its end (keys or company refused)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.check)
        self.finding = finding


def describe_credentials(customer_id: str, name: str | None = None) -> str:
    """How messages name a credential pair: ``'firm' (customer id X)``, or ``(customer id X)``."""
    return f"'{name}' (customer id {customer_id})" if name else f"(customer id {customer_id})"


def check_credentials(client: NetvisorClient, credentials: Credentials, company: Company) -> Verification:
    """One signed request: do Netvisor's keys hold? The company's own problems do not count against the
    pair (``company_access`` and ``resource_rights`` failing still prove the keys): that company's own
    integration reports them."""
    try:
        client.accounts(credentials, company)
    except ResourceNotAllowed:
        pass
    except CompanyNotReachable:
        return _verification(company, [holds(Check.CREDENTIALS), fails(Check.COMPANY_ACCESS)])
    except CredentialsRejected:
        return _verification(company, [fails(Check.CREDENTIALS, refused="CUSTOMER_KEYS")])
    except NetvisorError as error:
        return _verification(company, [unreachable(error)])
    return _verification(company, [holds(Check.CREDENTIALS)])


def check_company(
    client: NetvisorClient, credentials: Credentials, company: Company, *, dimensions: Sequence[str]
) -> Verification:
    """Every Netvisor prerequisite of the guide for one company: the keys, the company, all three rights,
    then the dimensions."""
    try:
        invoices = _allowed(lambda: client.purchase_invoices(credentials, company))
        accounts = _allowed(lambda: client.accounts(credentials, company))
        found = _allowed(lambda: client.dimensions(credentials, company))
    except _Decided as decided:
        return _verification(company, [decided.finding])
    except NetvisorError as error:
        return _verification(
            company, [holds(Check.CREDENTIALS), holds(Check.COMPANY_ACCESS), unreachable(error)]
        )
    proved = {PURCHASE_INVOICES: invoices, ACCOUNTING_MATERIAL: accounts, CALCULATION_TARGETS: found}
    not_allowed = [WIRE_BY_RESOURCE_RIGHT[right] for right in RESOURCE_RIGHTS if proved[right] is None]
    allowed = [WIRE_BY_RESOURCE_RIGHT[right] for right in RESOURCE_RIGHTS if proved[right] is not None]
    findings = [
        holds(Check.CREDENTIALS),
        holds(Check.COMPANY_ACCESS),
        (fails if not_allowed else holds)(Check.RESOURCE_RIGHTS, not_allowed=not_allowed, allowed=allowed),
    ]
    if found is not None and dimensions:
        findings.append(_dimensions(found, dimensions))
    return _verification(company, findings)


def unreachable(error: NetvisorError) -> Finding:
    """``erp_reachable`` not holding, with why (no text of Netvisor's)."""
    status = error.status_code
    if status == 429:
        reason = "rate_limited"
    elif error.retryable or (status is not None and status >= 500) or status is None:
        reason = "timeout" if "time" in str(error).lower() else "unavailable"
    else:
        reason = "bad_answer"
    return fails(Check.ERP_REACHABLE, reason=reason, status=status)


def _allowed(call: Callable[[], T]) -> T | None:
    """The resource's answer, or None when its resource right is not allowed; the keys or the company
    refused decide the verification there."""
    try:
        return call()
    except ResourceNotAllowed:
        return None
    except CredentialsRejected:
        raise _Decided(fails(Check.CREDENTIALS, refused="CUSTOMER_KEYS")) from None
    except CompanyNotReachable:
        raise _Decided(fails(Check.COMPANY_ACCESS)) from None


def _dimensions(found: Sequence[models.Dimension], wanted: Sequence[str]) -> Finding:
    names = {dimension.name for dimension in found}
    unknown = [name for name in wanted if name not in names]
    existing = [{"name": dimension.name, "hidden": dimension.hidden} for dimension in found]
    return (fails if unknown else holds)(Check.DIMENSIONS, missing=unknown, existing=existing)


def _verification(company: Company, findings: list[Finding]) -> Verification:
    # Netvisor's API names no company: the client's business ID stands for it.
    erp_company = ErpCompany(erp_company_id=str(company.business_id), business_id=str(company.business_id))
    if any(finding.check == Check.COMPANY_ACCESS and not finding.holds for finding in findings):
        # Netvisor checks the organisation only after the keys: a company refused proves the keys.
        findings = [holds(Check.CREDENTIALS), *[f for f in findings if f.check != Check.CREDENTIALS]]
    return Verification.of(SYSTEM, findings, erp_company)
