"""The bodies of the Procountor stand-in's answers, in the shapes of Procountor's OpenAPI (the fixtures in
tests/fixtures/real/procountor/ show each): company, session info, dimensions, and the bookkeeping reads,
generated and deterministic per company."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.procountor.scenario import ProcountorCompany
from sandbox.procountor.state import MAX_PAGE_SIZE, ProcountorError

DEFAULT_PAGE_SIZE = 50
# The suppliers the generated invoices come from: (name, business ID).
_SUPPLIERS = (
    ("Toimittaja Oy", "2741837-8"),
    ("Paperi ja Kynä Ky", "1985231-8"),
    ("Sähkö-Salama Oy", "3058144-0"),
)
_VAT_RATE = Decimal("0.255")  # Finland's general VAT rate since 2024-09-01
_CENT = Decimal("0.01")
_OFFSET = "+02:00"


def company(company: ProcountorCompany) -> dict[str, Any]:
    """``GET /company`` (``Company``): ``brnType`` "FI" for a Finnish business ID (YHD is equally possible:
    an open question, and the provider reads both)."""
    return {
        "id": company.id,
        "name": company.name,
        "country": "FINLAND",
        "productVersion": "FINANCIALS_PLUS",
        "operationType": "PRODUCTION",
        "accountingOfficeName": "Sandbox Tilitoimisto Oy",
        "accountingOfficeId": 1,
        "companyAddress": {"street": "Testikatu 1", "zip": "00100", "city": "Helsinki", "country": "FINLAND"},
        "mva": False,
        "inTradeRegister": True,
        "businessIdentifier": {"brnType": "FI", "code": company.business_id},
        "accountingCoaLanguages": ["fi", "sv", "en"],
    }


def sessioninfo(company: ProcountorCompany, user_id: int, user_name: str) -> dict[str, Any]:
    """``GET /sessioninfo`` (``SessionInfo``): no field tells whether billable interfaces are allowed."""
    return {
        "companyId": company.id,
        "name": company.name,
        "country": "FINLAND",
        "productVersion": "FINANCIALS_PLUS",
        "userId": user_id,
        "userName": user_name,
        "companySettings": {"invoiceDiscussionEnabled": False},
    }


def dimensions(company: ProcountorCompany) -> list[dict[str, Any]]:
    """``GET /dimensions``: an item's ``status`` is absent when it is active and "P" when it is not;
    ``description`` is absent when empty."""
    answer = []
    for index, dimension in enumerate(company.dimensions, start=1):
        dimension_id = dimension.id if dimension.id is not None else company.id * 100 + index
        items = []
        for number, item in enumerate(dimension.items, start=1):
            row: dict[str, Any] = {"id": dimension_id * 1000 + number, "codeName": item.code_name}
            if item.description:
                row["description"] = item.description
            if item.status == "INACTIVE":
                row["status"] = "P"
            items.append(row)
        answer.append({"id": dimension_id, "name": dimension.name, "items": items})
    return answer


def _money(value: Decimal) -> float:
    return float(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _supplier(company: ProcountorCompany, number: int) -> tuple[int, str]:
    index = number % len(_SUPPLIERS)
    return company.id * 100 + index + 1, _SUPPLIERS[index][0]


def _counter_party(number: int) -> dict[str, Any]:
    """``CounterParty`` of a purchase invoice: the seller (``counterPartyAddress.name`` is its one required
    field; ``identifier`` is the business ID)."""
    name, business_id = _SUPPLIERS[number % len(_SUPPLIERS)]
    return {"identifier": business_id, "counterPartyAddress": {"name": name, "country": "FINLAND"}}


def purchase_invoices(
    company: ProcountorCompany, start: dt.date | None = None, end: dt.date | None = None
) -> list[dict[str, Any]]:
    """``InvoiceBasicInfo`` rows dated from ``start`` to ``end`` (inclusive, either open): sums only in
    ``invoiceSumInfo`` (no flat currency or total), and the ``counterParty`` that Procountor's ``Invoice``
    requires (ASSUMPTION: the OpenAPI read lists no ``counterParty`` in the list row; the row carries it
    here as shared/reference/procountor.md says it does)."""
    first_day = dt.date(2025, 1, 2)
    invoices = []
    for number in range(1, company.purchase_invoice_count + 1):
        day = first_day + dt.timedelta(days=7 * (number - 1))
        total = Decimal(100) + Decimal("37.5") * number
        excluding = (total / (1 + _VAT_RATE)).quantize(_CENT, rounding=ROUND_HALF_UP)
        created = f"{day.isoformat()}T08:00:00.000{_OFFSET}"
        partner_id, _ = _supplier(company, number)
        if (start is not None and day < start) or (end is not None and day > end):
            continue
        invoices.append(
            {
                "id": company.id * 10000 + number,
                "partnerId": partner_id,
                "type": "PURCHASE_INVOICE",
                "status": "RECEIVED",
                "invoiceNumber": number,
                "originalInvoiceNumber": f"{company.id}-{number:04d}",
                "invoiceChannel": "ELECTRONIC_INVOICE",
                "date": day.isoformat(),
                "dueDate": (day + dt.timedelta(days=14)).isoformat(),
                "created": created,
                "version": created,
                "counterParty": _counter_party(number),
                "invoiceSumInfo": [
                    {
                        "currency": "EUR",
                        "inAccountingCurrency": True,
                        "excludingVatTotal": _money(excluding),
                        "vatSumTotal": _money(total - excluding),
                        "invoiceSumTotal": _money(total),
                    }
                ],
            }
        )
    return invoices


def ledger_receipts(company: ProcountorCompany) -> list[dict[str, Any]]:
    """``LedgerReceiptBasicInfo`` rows: one per purchase invoice."""
    rows = []
    for invoice in purchase_invoices(company):
        number = invoice["invoiceNumber"]
        rows.append(
            {
                "id": invoice["id"] + 500000,
                "type": "PURCHASE_INVOICE",
                "status": "APPROVED",
                "name": _supplier(company, number)[1],
                "receiptDate": invoice["date"],
                "receiptNumber": number,
                "invoiceNumber": number,
                "created": invoice["created"],
                "version": invoice["version"],
            }
        )
    return rows


def chart_of_accounts() -> dict[str, Any]:
    """``GET /coa`` (``LedgerAccounts``); no ``translations`` list where there are none."""
    accounts = [
        ("1910", "Pankkitili", True),
        ("2871", "Ostovelat", True),
        ("4000", "Ostot", True),
        ("4450", "Alihankinnat", True),
        ("7680", "Toimistotarvikkeet", False),
    ]
    return {
        "ledgerAccounts": [
            {"ledgerAccountCode": code, "name": name, "active": active} for code, name, active in accounts
        ]
    }


def suppliers(company: ProcountorCompany) -> list[dict[str, Any]]:
    seen: dict[int, str] = {}
    for number in range(1, company.purchase_invoice_count + 1):
        partner_id, name = _supplier(company, number)
        seen.setdefault(partner_id, name)
    return [{"id": partner_id, "type": "SUPPLIER", "name": name} for partner_id, name in sorted(seen.items())]


def products(company: ProcountorCompany) -> list[dict[str, Any]]:
    """``Product`` rows of type PURCHASE, by ascending id."""
    catalogue = [
        ("Kopiopaperi A4", "KP-A4", "PIECE", 4.9, "7680"),
        ("Betonimuotti", "BM-200", "METER", 38.0, "4450"),
        ("Työkäsineet", "TK-10", "PAIR", 6.5, "4000"),
    ]
    return [
        {
            "id": company.id * 100 + number,
            "type": "PURCHASE",
            "name": name,
            "code": code,
            "unit": unit,
            "price": price,
            "vat": 25.5,
            "discount": 0,
            "active": True,
            "currency": "EUR",
            "defaultAccount": account,
        }
        for number, (name, code, unit, price, account) in enumerate(catalogue, start=1)
    ]


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ProcountorError(400, f"{name} must be an integer", field=name) from None


def date_param(request: Request, name: str) -> dt.date | None:
    """An optional ``YYYY-MM-DD`` query parameter; another form is 400 naming the field."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ProcountorError(400, "must be a date as YYYY-MM-DD", field=name) from None


def _size(request: Request) -> int:
    size = int_param(request, "size", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ProcountorError(400, f"must be less than or equal to {MAX_PAGE_SIZE}", field="size")
    return size


def page(request: Request, rows: list[dict[str, Any]]) -> Response:
    """Procountor's paging by number: ``page`` from 0, ``size`` up to 200."""
    number = int_param(request, "page", 0)
    size = _size(request)
    if number < 0:
        raise ProcountorError(400, "must be greater than or equal to 0", field="page")
    chunk = rows[number * size : (number + 1) * size]
    meta = {"pageNumber": number, "pageSize": size, "resultCount": len(chunk), "totalCount": len(rows)}
    return JSONResponse({"results": chunk, "meta": meta})


def page_after_previous_id(request: Request, rows: list[dict[str, Any]]) -> Response:
    """Paging by ``previousId`` (the last id of the previous page) and ``size`` up to 200, as
    ``GET /products`` pages. ``meta`` (pageNumber 0, the total) is an assumption."""
    size = _size(request)
    previous = int_param(request, "previousId", 0)
    after = [row for row in sorted(rows, key=lambda row: int(row["id"])) if int(row["id"]) > previous]
    chunk = after[:size]
    meta = {"pageNumber": 0, "pageSize": size, "resultCount": len(chunk), "totalCount": len(rows)}
    return JSONResponse({"results": chunk, "meta": meta})
