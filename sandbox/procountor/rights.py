"""The shape of Procountor's ``GET /users/rights`` answer and the rights the FabricAI guide asks for.

Each right is a level (``ALL_RIGHTS | VIEWING_RIGHTS | NO_ACCESS | NOT_ENABLED``) except a few booleans,
grouped as Procountor groups them. The groups and fields are exactly those of Procountor's OpenAPI
(``UserPrivileges`` / ``UserPermissions``, as tests/fixtures/real/procountor/users_rights.json shows
them), booleans included: nothing is invented, so a client that reads a field the real service does not
have fails here too. The guide's ten rights come from its "Create an API user" step.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class RightLevel(StrEnum):
    ALL_RIGHTS = "ALL_RIGHTS"
    VIEWING_RIGHTS = "VIEWING_RIGHTS"
    NO_ACCESS = "NO_ACCESS"
    NOT_ENABLED = "NOT_ENABLED"


RightKind = Literal["level", "flag"]

# group -> field -> kind; the order is the order of the JSON answer.
RIGHT_FIELDS: dict[str, dict[str, RightKind]] = {
    "management": {
        "basicCompanyInfo": "level",
        "basicAccountingInfo": "level",
        "chartOfAccountsAndDefaultReports": "level",
        "usersAndUserRights": "level",
        "companyUserManagement": "level",
        "setUpACompany": "level",
        "importData": "level",
        "notifications": "level",
        "incomesRegisterCertificate": "level",
        "groupLetter": "level",
        "auditLog": "level",
    },
    "user": {
        "editPersonalInfo": "level",
        "limitedDimensions": "flag",
        "blockSoloLoginToProcountor": "flag",
    },
    "sales": {
        "salesOrGroupInvoices": "level",
        "salesInvoiceSearch": "level",
        "personalSalesInvoicesOnly": "flag",
        "customerRegister": "level",
        "productRegister": "level",
    },
    "purchases": {
        "purchaseInvoices": "level",
        "purchaseInvoiceSearch": "level",
        "personalPurchaseInvoicesOnly": "flag",
        "supplierRegister": "level",
        "productRegister": "level",
        "fixedAssetsRegister": "level",
    },
    "travelAndExpenses": {
        "travelAndExpenseInvoices": "level",
        "travelAndExpenseInvoiceSearch": "level",
        "personalTravelAndExpenseInvoiceOnly": "flag",
    },
    "invoiceCirculation": {
        "verification": "level",
        "approval": "level",
        "personalApprovalsOrVerificationsOnly": "flag",
    },
    "salaries": {
        "payroll": "level",
        "personalSalariesOnly": "flag",
        "personRegister": "level",
        "workingTimeTracking": "level",
        "personalWorkHourTrackingOnly": "flag",
    },
    "payments": {
        "payment": "level",
        "salaryPayments": "level",
        "markAsPaid": "level",
        "directBankTransfer": "level",
        "bankStatementAndReferencePayment": "level",
        "paymentAllocation": "level",
    },
    "accounting": {
        "journalReceipts": "level",
        "journalReceiptSearch": "level",
        "personalJournalReceiptsOnly": "flag",
        "closingOfAccountTools": "level",
        "preventCreatingEditingInvoices": "flag",
        "preventEditingAccountingPage": "flag",
        "accountingReports": "level",
        "archive": "level",
    },
}

# "group.field" -> the level the guide's API user gets (the least each use needs).
GUIDE_RIGHTS: dict[str, RightLevel] = {
    "management.basicCompanyInfo": RightLevel.VIEWING_RIGHTS,
    "management.basicAccountingInfo": RightLevel.VIEWING_RIGHTS,
    "management.chartOfAccountsAndDefaultReports": RightLevel.VIEWING_RIGHTS,
    "user.editPersonalInfo": RightLevel.VIEWING_RIGHTS,
    "purchases.purchaseInvoices": RightLevel.ALL_RIGHTS,
    "purchases.purchaseInvoiceSearch": RightLevel.ALL_RIGHTS,
    "purchases.supplierRegister": RightLevel.VIEWING_RIGHTS,
    "purchases.productRegister": RightLevel.ALL_RIGHTS,
    "accounting.journalReceipts": RightLevel.VIEWING_RIGHTS,
    "accounting.journalReceiptSearch": RightLevel.ALL_RIGHTS,
}

RightsPreset = Literal["guide", "all", "none"]
RightValue = RightLevel | bool
Rights = dict[str, RightValue]  # "group.field" -> value


def is_known_right(dotted: str) -> bool:
    group, _, field = dotted.partition(".")
    return field in RIGHT_FIELDS.get(group, {})


def right_kind(dotted: str) -> RightKind:
    group, _, field = dotted.partition(".")
    return RIGHT_FIELDS[group][field]


def preset_rights(preset: RightsPreset) -> Rights:
    """Every right of the table at the preset's level (booleans default to False)."""
    rights: Rights = {}
    for group, fields in RIGHT_FIELDS.items():
        for field, kind in fields.items():
            dotted = f"{group}.{field}"
            if kind == "flag":
                rights[dotted] = False
            elif preset == "all":
                rights[dotted] = RightLevel.ALL_RIGHTS
            elif preset == "guide":
                rights[dotted] = GUIDE_RIGHTS.get(dotted, RightLevel.NO_ACCESS)
            else:
                rights[dotted] = RightLevel.NO_ACCESS
    return rights


def grants(rights: Rights, dotted: str, needed: RightLevel) -> bool:
    """Whether ``rights`` holds ``dotted`` at ``needed`` (ALL_RIGHTS also grants viewing)."""
    held = rights.get(dotted)
    if needed is RightLevel.ALL_RIGHTS:
        return held is RightLevel.ALL_RIGHTS
    return held in (RightLevel.ALL_RIGHTS, RightLevel.VIEWING_RIGHTS)


def rights_document(role: str, rights: Rights) -> dict[str, object]:
    """The JSON body of ``GET /users/rights``."""
    groups: dict[str, dict[str, str | bool]] = {}
    for dotted, value in rights.items():
        group, _, field = dotted.partition(".")
        groups.setdefault(group, {})[field] = value if isinstance(value, bool) else value.value
    return {"role": role, "rights": groups}
