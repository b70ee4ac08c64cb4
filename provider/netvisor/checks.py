"""The Netvisor steps of FabricAI's onboarding guide, checked for one client company.

Each failure becomes ``PrerequisiteFailed`` naming the client, the cause and the fix in Netvisor's own UI
words (the guide's). The three resource rights are probed one after another (Netvisor takes one request
at a time per customer environment anyway) and *all* missing ones are reported together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from provider.errors import CompanyNotReachable, CredentialsRejected, PrerequisiteFailed, ResourceNotAllowed
from provider.netvisor import models as xml
from provider.netvisor.client import Company, NetvisorClient
from provider.netvisor.signing import Credentials

log = logging.getLogger(__name__)

CREDENTIALS_PAGE = "Software interface > Software interface credentials"
RESOURCE_RIGHTS_PAGE = "Software interface > API resource rights"
# The rights the guide asks of the user whose credentials FabricAI uses, in the menus' words.
USER_RIGHTS = (
    "Company menu > Users and access rights > Sales and purchase ledger rights: purchase invoice "
    "inspector, purchase invoice approval, purchase invoice approval circulation setter, and the "
    "possibility of account allocation; and Company menu > Users and access rights > Users and roles: "
    "the accountant role"
)
# The subheadings of Netvisor's "API resource rights" page, in the order the guide lists them.
PURCHASE_INVOICES = "purchase invoices"
ACCOUNTING_MATERIAL = "accounting material"
CALCULATION_TARGETS = "calculation targets"
RESOURCE_RIGHTS = (PURCHASE_INVOICES, ACCOUNTING_MATERIAL, CALCULATION_TARGETS)

T = TypeVar("T")


def describe_credentials(customer_id: str, name: str | None = None) -> str:
    """How messages name a credential pair: ``'firm' (customer id X)``, or ``(customer id X)``."""
    return f"'{name}' (customer id {customer_id})" if name else f"(customer id {customer_id})"


@dataclass(frozen=True)
class CompanyVerification:
    """What a full check proved: the three resource rights, and the company's dimensions."""

    verified_rights: tuple[str, ...]
    dimensions: tuple[xml.Dimension, ...]


def credentials_rejected(company: Company, credentials_name: str, detail: str) -> PrerequisiteFailed:
    return PrerequisiteFailed(
        company.label,
        f"Netvisor rejected the API credentials {credentials_name}: {detail}",
        f"In Netvisor, open {CREDENTIALS_PAGE} and check that the user identifier (customer id) and the API "
        "key (customer key) in stack config are copied exactly and still exist. The credentials belong to "
        "the user who created them: if that user was removed from Netvisor they stopped working, so create "
        "new ones, preferably as a generic API user (Netvisor customer service helps set one up), and set "
        "them in roster:netvisorCredentials. If every Netvisor client fails like this, check "
        "netvisor:partnerId and netvisor:partnerKey instead.",
    )


def company_not_reachable(company: Company, credentials_name: str, detail: str) -> PrerequisiteFailed:
    return PrerequisiteFailed(
        company.label,
        f"the user of the Netvisor API credentials {credentials_name} cannot reach this company: {detail}",
        f"In Netvisor, give that user in this company: {USER_RIGHTS}. Or have the User Administrator (KH) or "
        "the Accounting Firm's Main User (TPK) copy the API credentials to this company.",
    )


def rights_not_allowed(company: Company, missing: Sequence[str], access_key: str) -> PrerequisiteFailed:
    """SERVICE_ACCESS_ERROR: Netvisor gives one code for three causes, so the message names all three.

    Netvisor's "Controlling errors" page: no access rights, or the application where the material is
    imported or retrieved is not in use. In the guide's words: a resource right not allowed (the usual
    cause; general or integration-specific), the company's API service closed, or a service package
    without the API. When every right fails the latter two are likelier, and they are named first.
    """
    names = ", ".join(f'"{right}"' for right in missing)
    rights_fix = (
        f"In Netvisor, logged in to this company, open {RESOURCE_RIGHTS_PAGE} > Custom integrations, enter "
        f'the access key {access_key} (FabricAI\'s) in the search field and press "Search"; set every '
        f'"resource status" under {names} to "allowed". This must be done separately for each client '
        "company. Integration-specific rights override the general access rights (which apply to every "
        "integration), so a right allowed in general but not allowed for FabricAI is still not allowed. "
        "Editing the rights needs the User Administrator (KH) or Accounting Firm's Main User (TPK) role."
    )
    service_fix = (
        "Check that the company's Netvisor API service is open (not closed), and that its service package "
        "includes the API (the Professional and Premium packages do); if not, the company's main user asks "
        "Netvisor to open the API service or change the package."
    )
    everything = set(missing) == set(RESOURCE_RIGHTS)
    cause = (
        f"Netvisor answered SERVICE_ACCESS_ERROR: FabricAI's Netvisor API resource rights are not allowed "
        f"in this company: {names}; or the company's API service is closed, or its service package has no "
        "API" + (" (likely, as every resource was refused)" if everything else "")
    )
    fix = f"{service_fix} Then: {rights_fix}" if everything else f"{rights_fix} Also: {service_fix}"
    return PrerequisiteFailed(company.label, cause, fix)


def dimensions_missing(
    company: Company, missing: Sequence[str], existing: Sequence[xml.Dimension]
) -> PrerequisiteFailed:
    known = ", ".join(f"'{d.name}'" + (" (hidden)" if d.hidden else "") for d in existing) or "none"
    names = ", ".join(f"'{name}'" for name in missing)
    return PrerequisiteFailed(
        company.label,
        f"the dimension(s) {names} do not exist in Netvisor (calculation targets); the company has: {known}",
        "Correct the names in the roster entry's dimensions (they must match Netvisor's exactly), or create "
        "the dimension in Netvisor first.",
    )


def verify_credentials(
    client: NetvisorClient, credentials: Credentials, company: Company, credentials_name: str
) -> None:
    """One signed request proves Netvisor accepts the pair; only a rejection of the keys fails it.

    Netvisor authenticates the keys (and the MAC they sign) before it looks at the organisation, and the
    organisation before the resource right. So "the user cannot reach this company" and "the resource
    right is not allowed" both prove the keys valid: the credentials of a firm must not fail because the
    company they are checked against left the firm or never gave the user its rights (that company's
    own integration reports it). Only ``CredentialsRejected`` and transport or service failures fail here.
    """
    try:
        client.accounts(credentials, company)
    except ResourceNotAllowed:
        return
    except CompanyNotReachable:
        # Said aloud: this rests on reading Netvisor's wording (see client.py), so an operator can see it.
        log.warning(
            "Netvisor credentials '%s': keys accepted; %s is not reachable by their user (its own "
            "integration reports what to fix).",
            credentials_name,
            company.label,
        )
        return
    except CredentialsRejected as error:
        raise credentials_rejected(company, credentials_name, _detail(error, company)) from None


def verify_company(
    client: NetvisorClient,
    credentials: Credentials,
    company: Company,
    *,
    credentials_name: str,
    dimensions: Sequence[str],
) -> CompanyVerification:
    """Every Netvisor prerequisite of the guide for one company: all three rights, then the dimensions."""
    invoices = _allowed(
        lambda: client.purchase_invoices(credentials, company), credentials, company, credentials_name
    )
    accounts = _allowed(lambda: client.accounts(credentials, company), credentials, company, credentials_name)
    found = _allowed(lambda: client.dimensions(credentials, company), credentials, company, credentials_name)
    proved = {PURCHASE_INVOICES: invoices, ACCOUNTING_MATERIAL: accounts, CALCULATION_TARGETS: found}
    missing = [right for right in RESOURCE_RIGHTS if proved[right] is None]
    if missing or found is None:
        raise rights_not_allowed(company, missing, client.access_key)
    names = {dimension.name for dimension in found}
    unknown = [name for name in dimensions if name not in names]
    if unknown:
        raise dimensions_missing(company, unknown, found)
    return CompanyVerification(verified_rights=RESOURCE_RIGHTS, dimensions=tuple(found))


def _allowed(
    call: Callable[[], T], credentials: Credentials, company: Company, credentials_name: str
) -> T | None:
    """The resource's answer, or None when its resource right is not allowed; other refusals explained."""
    try:
        return call()
    except ResourceNotAllowed:
        return None
    except CredentialsRejected as error:
        detail = _detail(error, company)
        raise credentials_rejected(company, credentials_name, detail) from None
    except CompanyNotReachable as error:
        raise company_not_reachable(company, credentials_name, _detail(error, company)) from None


def _detail(error: Exception, company: Company) -> str:
    """Netvisor's (redacted) answer without the client label the client already put in front."""
    return str(error).removeprefix(f"{company.label}: ")
