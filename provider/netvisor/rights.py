"""What the FabricAI guide asks of Netvisor, in Netvisor's own words: the user's rights and the three API
resource rights, with the pages where each is set. The wire names of the resource rights (the
``resource_rights`` finding's facts) map to the subheadings of Netvisor's "API resource rights" page."""

from __future__ import annotations

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
# The wire name of each resource right (docs/portal-connection-extension.openapi.yaml) and its subheading.
RESOURCE_RIGHT_BY_WIRE = {
    "PURCHASE_INVOICES": PURCHASE_INVOICES,
    "ACCOUNTING_MATERIAL": ACCOUNTING_MATERIAL,
    "CALCULATION_TARGETS": CALCULATION_TARGETS,
}
WIRE_BY_RESOURCE_RIGHT = {words: wire for wire, words in RESOURCE_RIGHT_BY_WIRE.items()}
