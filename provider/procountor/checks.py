"""Prove that a client's Procountor API key meets every prerequisite of the FabricAI guide.

Order of the verdict when several things are wrong at once (the first one found is the one to fix first):
token refused -> "Internal server error" (billable interfaces) -> the key belongs to another company ->
missing rights (all of them, a 403 included) -> unknown dimensions. Every error names the client and
gives the fix in Procountor's UI words; no error holds the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provider.business_id import BusinessId, InvalidBusinessId
from provider.errors import (
    AccessDenied,
    ConfigurationError,
    PrerequisiteFailed,
    ProcountorError,
    ServerFailure,
    TokenRefused,
)
from provider.procountor.client import CompanyFacts, Outcome, ProcountorClient
from provider.procountor.models import Company, Dimension
from provider.procountor.rights import BY_DOTTED, GUIDE_RIGHTS, MissingRight, missing_rights, verified_rights

API_KEYS_CONFIG = "roster:procountorApiKeys"
USERS_FIX = (
    "in Procountor open the management gear (bottom left) -> Users and access rights -> the API user, "
    "give it the rights listed above, save, and run `pulumi up` again."
)
BILLABLE_FIX = (
    "in Procountor open the management gear (bottom left) -> Company information -> Usage settings -> "
    'Integration settings, check "Allow the use of billable interfaces", and save the changes.'
)
# The right each endpoint needs: a 403 there means this right is missing even if /users/rights says not.
_RIGHT_OF_PATH = {"company": "management.basicCompanyInfo", "dimensions": "management.basicAccountingInfo"}


@dataclass(frozen=True)
class VerifiedCompany:
    erp_company_id: str
    erp_company_name: str
    verified_rights: list[str]


def set_key_command(business_id: str) -> str:
    return f"pulumi config set --secret --path '{API_KEYS_CONFIG}[\"{business_id}\"]' <API key>"


def verify_api_key(
    procountor: ProcountorClient,
    *,
    api_key: str,
    business_id: str,
    client_label: str,
    dimensions: Sequence[str],
) -> VerifiedCompany:
    """Token, company, rights and dimensions; the last three are read at the same time."""
    try:
        facts = procountor.company_facts(api_key, with_dimensions=bool(dimensions))
    except TokenRefused as error:
        raise _token_refused(error, procountor.client_id, business_id, client_label) from None
    except ProcountorError as error:
        raise error.about(client_label).with_traceback(None) from None
    return _verdict(facts, business_id, client_label, dimensions)


def _verdict(
    facts: CompanyFacts, business_id: str, label: str, wanted_dimensions: Sequence[str]
) -> VerifiedCompany:
    outcomes: list[Outcome[Any]] = [
        facts.company,
        facts.rights,
        *([facts.dimensions] if facts.dimensions else []),
    ]
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    if any(isinstance(error, ServerFailure) for error in errors):
        raise PrerequisiteFailed(
            label,
            'Procountor answered "Internal server error" (HTTP 500) right after accepting the API key. '
            "Per the FabricAI guide the most likely cause is that the use of billable interfaces is not "
            "allowed in this company.",
            f"{BILLABLE_FIX} If billable interfaces are already allowed, Procountor itself may be failing "
            "for a while: run `pulumi up` again later.",
        )
    company = facts.company.value
    if company is not None:
        _check_company(company, business_id, label)
    missing = _missing(facts)
    if missing:
        count = len(missing)
        lines = "\n".join(f"    - {right}" for right in missing)
        raise PrerequisiteFailed(
            label,
            f"the Procountor API user lacks {count} of the rights the FabricAI guide requires:\n{lines}",
            USERS_FIX,
        )
    for error in errors:  # anything else that went wrong is not a prerequisite: report it as it is
        raise error.about(label).with_traceback(None)
    assert company is not None and facts.rights.value is not None
    if facts.dimensions is not None and facts.dimensions.value is not None:
        _check_dimensions(facts.dimensions.value, wanted_dimensions, label)
    return VerifiedCompany(
        erp_company_id=str(company.id),
        erp_company_name=company.name,
        verified_rights=verified_rights(facts.rights.value.rights or {}),
    )


# brnType values of GET /company that hold a person's identity code, not a business ID (never shown).
_PERSONAL_ID_TYPES = frozenset({"HETU", "SSN", "PN"})


def _check_company(company: Company, business_id: str, label: str) -> None:
    identifier = company.business_identifier
    code = identifier.code if identifier else None
    if identifier is not None and (identifier.brn_type or "").upper() in _PERSONAL_ID_TYPES:
        code = None
        shown_instead = "a personal identity code, not a business ID"
    else:
        shown_instead = "no business ID"
    try:
        reported = BusinessId(code) if code else None
    except InvalidBusinessId:
        reported = None
    if reported == business_id:
        return
    shown = reported or code or shown_instead
    raise PrerequisiteFailed(
        label,
        f"the API key for {business_id} belongs to {company.name} ({shown}).",
        f"the key was created in another company's Procountor. Create an API key in the Procountor of "
        f"{label} (Basics -> API client keys -> New API key), set it with `{set_key_command(business_id)}` "
        "and run `pulumi up` again.",
    )


def _missing(facts: CompanyFacts) -> list[MissingRight]:
    """Every missing guide right: from /users/rights, plus those a 403 elsewhere proves missing."""
    rights = facts.rights
    if isinstance(rights.error, AccessDenied) or (rights.value is None and rights.error is None):
        missing = [MissingRight(right, None) for right in GUIDE_RIGHTS]
    elif rights.value is not None:
        missing = missing_rights(rights.value.rights or {})
    else:
        missing = []
    named = {item.right.dotted for item in missing}
    for outcome in (facts.company, facts.dimensions):
        error = outcome.error if outcome is not None else None
        if isinstance(error, AccessDenied) and error.path in _RIGHT_OF_PATH:
            dotted = _RIGHT_OF_PATH[error.path]
            if dotted not in named:
                missing.append(MissingRight(BY_DOTTED[dotted], None))
                named.add(dotted)
    order = {right.dotted: index for index, right in enumerate(GUIDE_RIGHTS)}
    return sorted(missing, key=lambda item: order[item.right.dotted])


def _check_dimensions(existing: list[Dimension], wanted: Sequence[str], label: str) -> None:
    names = [dimension.name for dimension in existing]
    unknown = [name for name in wanted if name not in names]
    if not unknown:
        return
    has = ", ".join(names) if names else "no dimensions at all"
    quoted = ", ".join(f"'{name}'" for name in unknown)
    raise PrerequisiteFailed(
        label,
        f"Procountor has no dimension named {quoted} in this company; it has: {has}.",
        "write the dimension names in the roster exactly as Procountor shows them, or create the dimension "
        "in Procountor first, then run `pulumi up` again.",
    )


CLIENT_CREDENTIALS_COMMANDS = (
    "`pulumi config set procountor:clientId <id>` and `pulumi config set --secret procountor:clientSecret "
    "<secret>`"
)


def _new_key_fix(client_id: str, business_id: str, label: str) -> str:
    return (
        f"create a new API key in the Procountor of {label} (Basics -> API client keys -> New API key) for "
        f"the client id '{client_id}', as a user who has access to the company, and set it with "
        f"`{set_key_command(business_id)}`"
    )


def _token_refused(error: TokenRefused, client_id: str, business_id: str, label: str) -> Exception:
    said = str(error)
    if error.field == "client_id":
        return ConfigurationError(
            f"{label}: {said}: it refused the integration's own client credentials (procountor:clientId "
            f"'{client_id}' and procountor:clientSecret). Fix: set the client id and secret Procountor "
            f"issued for the integration: {CLIENT_CREDENTIALS_COMMANDS}, then run `pulumi up` again."
        )
    key_causes = (
        "the client's API key is not valid (revoked in Procountor, created for another application's "
        "client id, or its user no longer has access to the company)"
    )
    if error.field == "api_key":
        return PrerequisiteFailed(
            label,
            f"{said}. The integration's client credentials work (Procountor accepted them for another "
            f"client or said so), so {key_causes}.",
            f"{_new_key_fix(client_id, business_id, label)}, then run `pulumi up` again.",
        )
    return PrerequisiteFailed(
        label,
        f"{said}. Procountor's answer does not say which credential it refused. Either {key_causes}, or "
        f"the integration's own client credentials (procountor:clientId '{client_id}' and "
        "procountor:clientSecret) are wrong.",
        f"if other Procountor clients of this roster connect, the API key is the cause: "
        f"{_new_key_fix(client_id, business_id, label)}. If every Procountor client fails this way, set the "
        f"client id and secret Procountor issued for the integration: {CLIENT_CREDENTIALS_COMMANDS}. "
        "Then run `pulumi up` again.",
    )
