"""The rules of the Procountor stand-in: its errors, the rights each endpoint needs, issued tokens (in the
SQLite store, by hash) and the per-application request rate."""

from __future__ import annotations

import collections
import hashlib
import re
import threading
import time
from dataclasses import dataclass

from starlette.responses import JSONResponse

from sandbox.procountor.rights import RightLevel
from sandbox.procountor.scenario import ProcountorCompany, ProcountorUser

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_PAGE_SIZE = 200
VERSION_PREFIX = re.compile(r"latest|supported|v\d{4}")
CREDENTIAL_PARAMS = ("client_id", "client_secret", "api_key", "grant_type", "redirect_uri")

BILLABLE_INTERFACES_OFF_PAGE = (
    "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    "<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

V = RightLevel.VIEWING_RIGHTS
# The rights each endpoint needs, by the path after /api (invoice and partner types refine them).
# ASSUMPTION: Procountor documents only "403 Insufficient user rights", never which right an endpoint
# needs; this is the UI's natural reading (docs/SANDBOX.md lists it).
ENDPOINT_RIGHTS: dict[str, list[tuple[str, RightLevel]]] = {
    "company": [("management.basicCompanyInfo", V)],
    "sessioninfo": [],
    "users/rights": [],
    "dimensions": [("management.basicAccountingInfo", V)],
    "coa": [("management.chartOfAccountsAndDefaultReports", V)],
    "ledgerreceipts": [("accounting.journalReceipts", V), ("accounting.journalReceiptSearch", V)],
    "invoices:PURCHASE_INVOICE": [("purchases.purchaseInvoices", V), ("purchases.purchaseInvoiceSearch", V)],
    "invoices:SALES_INVOICE": [("sales.salesOrGroupInvoices", V), ("sales.salesInvoiceSearch", V)],
    "businesspartners:SUPPLIER": [("purchases.supplierRegister", V)],
    "businesspartners:CUSTOMER": [("sales.customerRegister", V)],
    "products:PURCHASE": [("purchases.productRegister", V)],
    "products:SALES": [("sales.productRegister", V)],
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS procountor_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    company_id INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""


class ProcountorError(Exception):
    """Answered as Procountor's ``{"errors": [{"status", "field"?, "message"}]}``; ``field`` only for a
    request field that is wrong (it is optional in Procountor's ``ErrorMessage``)."""

    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class BillableInterfacesOff(Exception):
    pass


@dataclass(frozen=True)
class Session:
    client_id: str
    company: ProcountorCompany
    user: ProcountorUser


class OAuthError(Exception):
    """A refused token request in OAuth 2.0's shape (RFC 6749 section 5.2), for ``refusalStyle: oauth``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def error_response(status: int, message: str, field: str = "") -> JSONResponse:
    error: dict[str, object] = {"status": status, "message": message}
    if field:
        error["field"] = field
    return JSONResponse({"errors": [error]}, status_code=status)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RateWindow:
    """Requests per client application over the last second."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.peak: collections.Counter[str] = collections.Counter()
        self.refused: collections.Counter[str] = collections.Counter()
        self.admitted: collections.Counter[str] = collections.Counter()

    def admit(self, client_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = self._recent[client_id]
            while recent and recent[0] <= now - 1:
                recent.popleft()
            if self.limit is not None and len(recent) >= self.limit:
                self.refused[client_id] += 1
                return False
            recent.append(now)
            self.admitted[client_id] += 1
            self.peak[client_id] = max(self.peak[client_id], len(recent))
            return True

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self.peak.clear()
            self.refused.clear()
            self.admitted.clear()
