"""Every failed guide check, worded once: a verification's findings -> the error the operator reads.

Both paths end here: a verification the portal ran (the firm's path) and one the provider ran itself
(partner mode) become the same message, naming the client, the cause and the fix in Procountor's or
Netvisor's own UI words. Messages are built from the findings' facts and what the provider knows of the
client (its label, business ID, credential set), never from a service's free text, so they hold no
secret and read the same whoever verified. The first failing check in the guide's order is the one
reported (it is the one to fix first); a check that could not decide (the ERP unreachable, FabricAI's
own partner app refused) is reported only when nothing was decided against the client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from provider.errors import (
    ConfigurationError,
    FabricaiRosterError,
    NetvisorError,
    PortalError,
    PrerequisiteFailed,
    ProcountorError,
)
from provider.netvisor.rights import (
    CREDENTIALS_PAGE,
    RESOURCE_RIGHT_BY_WIRE,
    RESOURCE_RIGHTS,
    RESOURCE_RIGHTS_PAGE,
    USER_RIGHTS,
)
from provider.procountor.rights import BY_DOTTED, GUIDE_RIGHTS, MissingRight, RightLevel
from provider.redaction import redact, redact_error
from provider.verification.findings import Check, Finding, Verification, mappings, text_list

VerifiedBy = Literal["portal", "local"]

API_KEYS_CONFIG = "roster:procountorApiKeys"
USERS_FIX = (
    "in Procountor open the management gear (bottom left) -> Users and access rights -> the API user, "
    "give it the rights listed above, save, and run `pulumi up` again."
)
BILLABLE_FIX = (
    "in Procountor open the management gear (bottom left) -> Company information -> Usage settings -> "
    'Integration settings, check "Allow the use of billable interfaces", and save the changes.'
)
PROCOUNTOR_PARTNER_COMMANDS = (
    "`pulumi config set procountor:clientId <id>` and `pulumi config set --secret procountor:clientSecret "
    "<secret>`"
)
NETVISOR_PARTNER_COMMANDS = (
    "`pulumi config set netvisor:partnerId <id>` and `pulumi config set --secret netvisor:partnerKey <key>`"
)
FABRICAI_SUPPORT = "tuki@fabricai.fi"

# The ERP health code of each failed check (integration outputs ``erp_health``).
HEALTH_CODES: Mapping[str, str] = {
    Check.PARTNER_APP: "PARTNER_CREDENTIALS_REFUSED",
    Check.ERP_REACHABLE: "UNKNOWN",
    Check.CREDENTIALS: "KEY_REFUSED",
    Check.BILLABLE_INTERFACES: "BILLABLE_INTERFACES_OFF",
    Check.COMPANY_IDENTITY: "OTHER_COMPANY",
    Check.COMPANY_ACCESS: "COMPANY_UNREACHABLE",
    Check.USER_RIGHTS: "RIGHTS_MISSING",
    Check.RESOURCE_RIGHTS: "RESOURCE_RIGHTS_MISSING",
    Check.DIMENSIONS: "DIMENSIONS_MISSING",
}


@dataclass(frozen=True)
class Subject:
    """What the provider knows of the client whose credentials were verified (for the words only)."""

    label: str  # "Öljy-Äijät Oy (2925630-9)"
    business_id: str
    system: str  # "procountor" | "netvisor"
    verified_by: VerifiedBy
    credentials_name: str = ""  # Netvisor: "'firm' (customer id 1234)" or "(customer id 1234)"
    access_key: str = ""  # Netvisor: FabricAI's access key on the "API resource rights" page
    # The secrets a verification's facts must never carry into the words (the credentials verified, the
    # stack's keys): a portal echoing one in a fact (a company "name") is redacted like any quote.
    hide: tuple[str, ...] = field(default=(), repr=False)


def set_key_command(business_id: str) -> str:
    return f"pulumi config set --secret --path '{API_KEYS_CONFIG}[\"{business_id}\"]' <API key>"


def explain(verification: Verification, subject: Subject) -> FabricaiRosterError:
    """The error for a verification that did not pass (its first failure in the guide's order), with every
    secret of ``subject.hide`` redacted in any form."""
    error = _explain(verification, subject)
    if subject.hide:
        redact_error(error, subject.hide)
        if isinstance(error, PrerequisiteFailed):
            error.cause, error.fix = redact(error.cause, subject.hide), redact(error.fix, subject.hide)
    return error


def _explain(verification: Verification, subject: Subject) -> FabricaiRosterError:
    failures = verification.failures()
    if not failures:  # a verdict without a failing finding: say what is known, never invent a cause
        return _service(
            subject,
            f"the verification answered {verification.verdict.value} without naming a failed check; nothing "
            "was changed. Run `pulumi up` again; if it persists, contact FabricAI "
            f"({FABRICAI_SUPPORT}).",
        )
    first = failures[0]
    words = _PROCOUNTOR if subject.system == "procountor" else _NETVISOR
    explainer = words.get(first.check) or _COMMON.get(first.check)
    if explainer is None:  # a check this version does not know: FabricAI added one
        return PrerequisiteFailed(
            subject.label,
            f"the {_erp(subject)} check '{first.check}' does not hold (FabricAI's verification).",
            "see the client's connection in the FabricAI portal for what it needs, fix it there or in the "
            "ERP, and run `pulumi up` again.",
        )
    return explainer(first, subject)


def health(verification: Verification, subject: Subject) -> tuple[str, str | None]:
    """The ERP health of a verification: ``("OK", None)`` or the first failure's code and its words."""
    if verification.passed:
        return "OK", None
    failures = verification.failures()
    code = HEALTH_CODES.get(failures[0].check, "CHECK_FAILED") if failures else "UNKNOWN"
    error = explain(verification, subject)
    if isinstance(error, PrerequisiteFailed):
        return code, f"{error.cause} Fix: {error.fix}"
    return code, str(error).removeprefix(f"{subject.label}: ")


def verified_rights(verification: Verification) -> list[str]:
    """What the verification proved the user holds, in the ERP UI's words (for the outputs)."""
    if verification.system == "netvisor":
        allowed = text_list(verification.facts(Check.RESOURCE_RIGHTS).get("allowed"))
        words = {RESOURCE_RIGHT_BY_WIRE[name] for name in allowed if name in RESOURCE_RIGHT_BY_WIRE}
        return [right for right in RESOURCE_RIGHTS if right in words]
    held = verification.facts(Check.USER_RIGHTS).get("held")
    levels = {
        str(item["right"]): str(item.get("level"))
        for item in mappings(held)
        if isinstance(item.get("right"), str) and item["right"] in BY_DOTTED
    }
    return [
        f"{right.ui_path}: {RightLevel(levels[right.dotted]).ui_words}"
        for right in GUIDE_RIGHTS
        if levels.get(right.dotted) in RightLevel.__members__
    ]


# ---- the words of each check ----


def _erp(subject: Subject) -> str:
    return "Procountor" if subject.system == "procountor" else "Netvisor"


def _service(subject: Subject, message: str, *, retryable: bool = True) -> FabricaiRosterError:
    error_type = ProcountorError if subject.system == "procountor" else NetvisorError
    return error_type(f"{subject.label}: {message}", retryable=retryable)


def _partner_app(finding: Finding, subject: Subject) -> FabricaiRosterError:
    erp = _erp(subject)
    if subject.verified_by == "local":
        commands = (
            PROCOUNTOR_PARTNER_COMMANDS if subject.system == "procountor" else NETVISOR_PARTNER_COMMANDS
        )
        return ConfigurationError(
            f"{subject.label}: {erp} refused the integration's own partner credentials, so the client's "
            f"credentials could not be checked. Fix: set the partner credentials {erp} issued for FabricAI: "
            f"{commands}, then run `pulumi up` again (or remove them, and the FabricAI portal verifies)."
        )
    return PortalError(
        f"{subject.label}: {erp} refused FabricAI's own partner credentials while the FabricAI portal "
        f"verified this client, so nothing about the client was decided and nothing was changed. This is "
        f"FabricAI's to fix: contact FabricAI ({FABRICAI_SUPPORT}) and run `pulumi up` again later.",
        retryable=True,
    )


_REASONS = {
    "timeout": "did not answer in time",
    "unavailable": "was unavailable",
    "rate_limited": "kept asking to slow down",
    "bad_answer": "gave an answer that could not be read",
}


def _erp_unreachable(finding: Finding, subject: Subject) -> FabricaiRosterError:
    reason = _REASONS.get(str(finding.facts.get("reason")), "could not be used")
    status = finding.facts.get("status")
    http = f" (last answer HTTP {status})" if isinstance(status, int) else ""
    who = "FabricAI's verification" if subject.verified_by == "portal" else "the check"
    return _service(
        subject,
        f"{_erp(subject)} {reason}{http} during {who}, also after retries, so the client could not be "
        "checked against the guide; nothing was changed. Fix: try again later (`pulumi up`; `pulumi "
        "refresh` for the ERP health).",
    )


def _new_key_fix(subject: Subject) -> str:
    return (
        f"create a new API key in the Procountor of {subject.label} (Basics -> API client keys -> New API "
        "key) for FabricAI's client application, as a user who has access to the company, and set it with "
        f"`{set_key_command(subject.business_id)}`"
    )


def _procountor_credentials(finding: Finding, subject: Subject) -> FabricaiRosterError:
    return PrerequisiteFailed(
        subject.label,
        "Procountor refused the client's API key: it is not valid (revoked in Procountor, created for "
        "another application's client id, or its user no longer has access to the company).",
        f"{_new_key_fix(subject)}, then run `pulumi up` again. If every Procountor client of the roster "
        "fails this way, FabricAI's partner application itself is refused: in partner mode check "
        "procountor:clientId and procountor:clientSecret; otherwise FabricAI must fix it "
        f"({FABRICAI_SUPPORT}).",
    )


def _billable(finding: Finding, subject: Subject) -> FabricaiRosterError:
    return PrerequisiteFailed(
        subject.label,
        'Procountor answered "Internal server error" (HTTP 500) right after accepting the API key. Per the '
        "FabricAI guide the most likely cause is that the use of billable interfaces is not allowed in this "
        "company.",
        f"{BILLABLE_FIX} If billable interfaces are already allowed, Procountor itself may be failing for a "
        "while: run `pulumi up` again later.",
    )


_SHOWN_INSTEAD = {"PERSONAL_ID": "a personal identity code, not a business ID", "NONE": "no business ID"}


def _company_identity(finding: Finding, subject: Subject) -> FabricaiRosterError:
    facts = finding.facts
    reported = facts.get("reportedBusinessId")
    shown = reported if reported else _SHOWN_INSTEAD.get(str(facts.get("reportedKind")), "no business ID")
    name = facts.get("reportedName") or "another company"
    return PrerequisiteFailed(
        subject.label,
        f"the API key for {subject.business_id} belongs to {name} ({shown}).",
        f"the key was created in another company's Procountor. Create an API key in the Procountor of "
        f"{subject.label} (Basics -> API client keys -> New API key), set it with "
        f"`{set_key_command(subject.business_id)}` and run `pulumi up` again.",
    )


def _user_rights(finding: Finding, subject: Subject) -> FabricaiRosterError:
    missing_facts = {
        str(item.get("right")): item.get("held") for item in mappings(finding.facts.get("missing"))
    }
    missing = [
        MissingRight(right, _level(missing_facts[right.dotted]))
        for right in GUIDE_RIGHTS
        if right.dotted in missing_facts
    ]
    unknown = sorted(name for name in missing_facts if name not in BY_DOTTED)
    lines = [f"    - {right}" for right in missing] + [f"    - {name} (FabricAI's name)" for name in unknown]
    count = len(lines)
    return PrerequisiteFailed(
        subject.label,
        f"the Procountor API user lacks {count} of the rights the FabricAI guide requires:\n"
        + "\n".join(lines),
        USERS_FIX,
    )


def _level(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _procountor_dimensions(finding: Finding, subject: Subject) -> FabricaiRosterError:
    existing = [str(item.get("name")) for item in _dimension_items(finding)]
    has = ", ".join(existing) if existing else "no dimensions at all"
    quoted = ", ".join(f"'{name}'" for name in text_list(finding.facts.get("missing")))
    return PrerequisiteFailed(
        subject.label,
        f"Procountor has no dimension named {quoted} in this company; it has: {has}.",
        "write the dimension names in the roster exactly as Procountor shows them, or create the dimension "
        "in Procountor first, then run `pulumi up` again.",
    )


def _dimension_items(finding: Finding) -> list[Mapping[str, Any]]:
    return [item for item in mappings(finding.facts.get("existing")) if item.get("name") is not None]


def _netvisor_credentials(finding: Finding, subject: Subject) -> FabricaiRosterError:
    return PrerequisiteFailed(
        subject.label,
        f"Netvisor rejected the API credentials {subject.credentials_name}.",
        f"In Netvisor, open {CREDENTIALS_PAGE} and check that the user identifier (customer id) and the API "
        "key (customer key) in stack config are copied exactly and still exist. The credentials belong to "
        "the user who created them: if that user was removed from Netvisor they stopped working, so create "
        "new ones, preferably as a generic API user (Netvisor customer service helps set one up), and set "
        "them in roster:netvisorCredentials. If every Netvisor client fails like this, FabricAI's own "
        "partner credentials may be refused instead: in partner mode check netvisor:partnerId and "
        f"netvisor:partnerKey; otherwise FabricAI must fix it ({FABRICAI_SUPPORT}).",
    )


def _company_access(finding: Finding, subject: Subject) -> FabricaiRosterError:
    return PrerequisiteFailed(
        subject.label,
        f"the user of the Netvisor API credentials {subject.credentials_name} cannot reach this company.",
        f"In Netvisor, give that user in this company: {USER_RIGHTS}. Or have the User Administrator (KH) or "
        "the Accounting Firm's Main User (TPK) copy the API credentials to this company.",
    )


def _resource_rights(finding: Finding, subject: Subject) -> FabricaiRosterError:
    """SERVICE_ACCESS_ERROR: Netvisor gives one code for three causes, so the message names all three.

    Netvisor's "Controlling errors" page: no access rights, or the application where the material is
    imported or retrieved is not in use. In the guide's words: a resource right not allowed (the usual
    cause; general or integration-specific), the company's API service closed, or a service package
    without the API. When every right fails the latter two are likelier, and they are named first.
    """
    wire = text_list(finding.facts.get("notAllowed"))
    missing = [right for right in RESOURCE_RIGHTS if right in {RESOURCE_RIGHT_BY_WIRE.get(n) for n in wire}]
    missing = missing or list(RESOURCE_RIGHTS)
    names = ", ".join(f'"{right}"' for right in missing)
    rights_fix = (
        f"In Netvisor, logged in to this company, open {RESOURCE_RIGHTS_PAGE} > Custom integrations, enter "
        f'the access key {subject.access_key} (FabricAI\'s) in the search field and press "Search"; set '
        f'every "resource status" under {names} to "allowed". This must be done separately for each client '
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
    return PrerequisiteFailed(subject.label, cause, fix)


def _netvisor_dimensions(finding: Finding, subject: Subject) -> FabricaiRosterError:
    known = (
        ", ".join(
            f"'{item.get('name')}'" + (" (hidden)" if item.get("hidden") is True else "")
            for item in _dimension_items(finding)
        )
        or "none"
    )
    names = ", ".join(f"'{name}'" for name in text_list(finding.facts.get("missing")))
    return PrerequisiteFailed(
        subject.label,
        f"the dimension(s) {names} do not exist in Netvisor (calculation targets); the company has: {known}",
        "Correct the names in the roster entry's dimensions (they must match Netvisor's exactly), or create "
        "the dimension in Netvisor first.",
    )


_Explainer = Callable[[Finding, Subject], FabricaiRosterError]
_COMMON: dict[str, _Explainer] = {
    Check.PARTNER_APP: _partner_app,
    Check.ERP_REACHABLE: _erp_unreachable,
}
_PROCOUNTOR: dict[str, _Explainer] = {
    Check.CREDENTIALS: _procountor_credentials,
    Check.BILLABLE_INTERFACES: _billable,
    Check.COMPANY_IDENTITY: _company_identity,
    Check.USER_RIGHTS: _user_rights,
    Check.DIMENSIONS: _procountor_dimensions,
}
_NETVISOR: dict[str, _Explainer] = {
    Check.CREDENTIALS: _netvisor_credentials,
    Check.COMPANY_ACCESS: _company_access,
    Check.RESOURCE_RIGHTS: _resource_rights,
    Check.DIMENSIONS: _netvisor_dimensions,
}
