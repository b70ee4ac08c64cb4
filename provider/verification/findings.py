"""What a verification of a client's ERP credentials found: one vocabulary for both paths.

A verification is run either by FabricAI (the portal's connection extension, which holds the partner
credentials: the firm's path) or by the provider itself (partner mode). Both answer the same thing: a
verdict, the ERP company the credentials open, and one finding per guide check that ran, each naming its
check, whether it holds, and its facts. The wire form is docs/portal-connection-extension.openapi.yaml's
``Verification`` (camelCase); these models read it tolerantly (unknown fields and checks are kept, not
refused) and the local checks build the same objects, so ``provider.verification.messages`` can word
every failure once. No finding ever holds a credential or a service's free text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Check(StrEnum):
    """The guide's checks, in the order a verification runs them."""

    PARTNER_APP = "partner_app"  # FabricAI's own partner credentials accepted by the ERP
    ERP_REACHABLE = "erp_reachable"  # the ERP gave usable answers
    CREDENTIALS = "credentials"  # the client's API key / customer keys accepted
    BILLABLE_INTERFACES = "billable_interfaces"  # Procountor: billable interfaces allowed (step 1)
    COMPANY_IDENTITY = "company_identity"  # Procountor: the key opens the client's own company
    COMPANY_ACCESS = "company_access"  # Netvisor: the credentials' user reaches this company (step 1)
    USER_RIGHTS = "user_rights"  # Procountor: the API user's rights (step 2)
    RESOURCE_RIGHTS = "resource_rights"  # Netvisor: FabricAI's API resource rights (step 2)
    DIMENSIONS = "dimensions"  # the roster's dimensions exist in the ERP


# Checks whose failure is not the ERP's verdict on the client: nothing was decided (INCONCLUSIVE).
UNDECIDING = frozenset({Check.PARTNER_APP, Check.ERP_REACHABLE})
ORDER = {check.value: index for index, check in enumerate(Check)}


class Verdict(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    INCONCLUSIVE = "INCONCLUSIVE"


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class Finding(_Wire):
    check: str
    holds: bool
    facts: dict[str, Any] = Field(default_factory=dict)


class ErpCompany(_Wire):
    """The ERP company the credentials opened (Netvisor names none: its id is the business ID)."""

    erp_company_id: str | None = None
    name: str | None = None
    business_id: str | None = None


class Verification(_Wire):
    verdict: Verdict
    checked_at: str | None = None
    system: str | None = None
    company: ErpCompany | None = None
    findings: list[Finding] = Field(default_factory=list)

    @classmethod
    def of(cls, system: str, findings: Iterable[Finding], company: ErpCompany | None = None) -> Verification:
        """A verification made here, its verdict derived from the findings as the contract says."""
        found = sorted(findings, key=lambda finding: ORDER.get(finding.check, len(ORDER)))
        failed = [finding.check for finding in found if not finding.holds]
        if any(check not in UNDECIDING for check in failed):
            verdict = Verdict.FAILED
        elif failed:
            verdict = Verdict.INCONCLUSIVE
        else:
            verdict = Verdict.PASSED
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return cls(verdict=verdict, checked_at=now, system=system, company=company, findings=found)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASSED

    def finding(self, check: Check) -> Finding | None:
        return next((finding for finding in self.findings if finding.check == check), None)

    def failures(self) -> list[Finding]:
        """The findings that do not hold, deciding ones first, each group in the guide's order."""
        failed = [finding for finding in self.findings if not finding.holds]
        return sorted(
            failed,
            key=lambda finding: (finding.check in UNDECIDING, ORDER.get(finding.check, len(ORDER))),
        )

    def facts(self, check: Check) -> dict[str, Any]:
        finding = self.finding(check)
        return dict(finding.facts) if finding is not None else {}


def holds(check: Check, **facts: Any) -> Finding:
    return Finding(check=check.value, holds=True, facts=_wire_facts(facts))


def fails(check: Check, **facts: Any) -> Finding:
    return Finding(check=check.value, holds=False, facts=_wire_facts(facts))


def _wire_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as the wire names them (``expected_business_id`` -> ``expectedBusinessId``); None dropped."""
    return {to_camel(key): value for key, value in facts.items() if value is not None}


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list read off the wire (anything that is not a list of objects gives none)."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def text_list(value: Any) -> list[str]:
    """A list of strings from facts read off the wire (anything else is empty)."""
    return [str(item) for item in value] if isinstance(value, Sequence) and not isinstance(value, str) else []
