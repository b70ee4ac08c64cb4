"""Every default of the project in one place, by service (each section says where its value comes from)."""

from __future__ import annotations

from typing import Final

# ---- the FabricAI portal (the public "AI Inside" API; see docs/PORTAL_API.md) ----

# The public API's page size limit for collections (`limit` <= 50, default 50).
PORTAL_PAGE_LIMIT: Final = 50
# The most pages one listing of the clients reads (50 000 clients): a bound, never a truncation.
PORTAL_MAX_PAGES: Final = 1000
# How long one provider process trusts its listing of the clients (the directory) before reading it
# again: long enough for the registrations of a whole `up` (they run first, within seconds), short enough
# that a record someone registered by hand meanwhile is seen. A registration whose answer was lost always
# reads it again; a record found there is confirmed with GET /clients/{id} before it counts as taken.
PORTAL_DIRECTORY_TTL_SECONDS: Final = 30.0
# How long the team list is trusted; an unknown team name reads it again before it is an error.
PORTAL_TEAMS_TTL_SECONDS: Final = 120.0
# `country` is required on create; every client of the roster is Finnish (Y-tunnus).
PORTAL_COUNTRY: Final = "FI"
# The tags a registration writes, so that its own record is recognised after a lost answer.
PORTAL_MANAGED_BY_TAG: Final = "managedBy"
PORTAL_MANAGED_BY_VALUE: Final = "fabricai-roster"
PORTAL_REGISTRATION_TAG: Final = "rosterRegistration"
# The tag that keeps the roster's process (the public API has no process field; see docs/PORTAL_API.md).
PORTAL_PROCESS_TAG: Final = "process"
# VAT as `overrides` (assumption, docs/PORTAL_API.md): exempt = no deduction and this `vatStatus` code
# (the public API's invoice rows use `vat_N` codes; which N means "exempt" is not public).
PORTAL_EXEMPT_VAT_STATUS: Final = "vat_4"
