"""The rights the FabricAI guide gives the Procountor API user, and which of them a user lacks.

The table is the guide's step 2 ("Create an API user"), in the Procountor UI's words, with the field of
``GET /users/rights`` that holds each right and the least level the guide asks for. Levels are
``ALL_RIGHTS > VIEWING_RIGHTS > NO_ACCESS | NOT_ENABLED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class RightLevel(StrEnum):
    ALL_RIGHTS = "ALL_RIGHTS"
    VIEWING_RIGHTS = "VIEWING_RIGHTS"
    NO_ACCESS = "NO_ACCESS"
    NOT_ENABLED = "NOT_ENABLED"

    @property
    def ui_words(self) -> str:
        return _UI_WORDS[self]


_UI_WORDS = {
    RightLevel.ALL_RIGHTS: "All rights",
    RightLevel.VIEWING_RIGHTS: "Viewing rights",
    RightLevel.NO_ACCESS: "No access",
    RightLevel.NOT_ENABLED: "Not enabled",
}


@dataclass(frozen=True)
class RequiredRight:
    """One line of the guide: where it is in the UI, where ``GET /users/rights`` reports it, how much."""

    ui_path: str
    group: str
    field: str
    needed: RightLevel
    note: str = ""

    @property
    def dotted(self) -> str:
        return f"{self.group}.{self.field}"

    def __str__(self) -> str:
        """The guide's own words, e.g. ``Purchases > Product register: All rights``."""
        return f"{self.ui_path}: {self.needed.ui_words}{self.note}"

    def granted_by(self, held: object) -> bool:
        if self.needed is RightLevel.ALL_RIGHTS:
            return held == RightLevel.ALL_RIGHTS
        return held in (RightLevel.ALL_RIGHTS, RightLevel.VIEWING_RIGHTS)


V, A = RightLevel.VIEWING_RIGHTS, RightLevel.ALL_RIGHTS

GUIDE_RIGHTS: tuple[RequiredRight, ...] = (
    RequiredRight("Management > Basic company info", "management", "basicCompanyInfo", V),
    RequiredRight("Management > Basic accounting info", "management", "basicAccountingInfo", V),
    RequiredRight(
        "Management > Chart of accounts and default reports",
        "management",
        "chartOfAccountsAndDefaultReports",
        V,
    ),
    RequiredRight("User > Edit personal info", "user", "editPersonalInfo", V),
    RequiredRight("Purchases > Rights for purchase invoices", "purchases", "purchaseInvoices", A),
    RequiredRight("Purchases > Search purchase invoices", "purchases", "purchaseInvoiceSearch", A),
    RequiredRight("Purchases > Supplier register", "purchases", "supplierRegister", V),
    RequiredRight("Purchases > Product register", "purchases", "productRegister", A),
    RequiredRight(
        "Accounting > Rights for journal receipts",
        "accounting",
        "journalReceipts",
        V,
        note=" (Can search and view journal receipts: Yes; Can create and edit journal receipts: No)",
    ),
    RequiredRight("Accounting > Search journal receipts", "accounting", "journalReceiptSearch", A),
)

BY_DOTTED: Mapping[str, RequiredRight] = {right.dotted: right for right in GUIDE_RIGHTS}


@dataclass(frozen=True)
class MissingRight:
    right: RequiredRight
    held: str | None

    def __str__(self) -> str:
        try:
            now = RightLevel(self.held).ui_words if self.held is not None else "not reported"
        except ValueError:
            now = str(self.held)
        return f"{self.right} (now: {now})"


def held_level(rights: Mapping[str, Any], right: RequiredRight) -> str | None:
    """The level ``GET /users/rights`` (its ``rights`` object) reports for one right, or None."""
    group = rights.get(right.group)
    value = group.get(right.field) if isinstance(group, Mapping) else None
    return value if isinstance(value, str) else None


def missing_rights(rights: Mapping[str, Any]) -> list[MissingRight]:
    """Every guide right the user does not hold at the needed level, in the guide's order."""
    missing = []
    for right in GUIDE_RIGHTS:
        held = held_level(rights, right)
        if not right.granted_by(held):
            missing.append(MissingRight(right, held))
    return missing


def verified_rights(rights: Mapping[str, Any]) -> list[str]:
    """What the user holds of each guide right, in the UI's words (for the integration's outputs)."""
    return [
        f"{right.ui_path}: {RightLevel(held).ui_words}"
        for right in GUIDE_RIGHTS
        if (held := held_level(rights, right)) is not None and held in RightLevel.__members__
    ]
