"""The bodies of the Procountor stand-in's bookkeeping reads: generated, deterministic per company."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.procountor.scenario import ProcountorCompany
from sandbox.procountor.state import MAX_PAGE_SIZE, ProcountorError

_SUPPLIERS = ("Toimittaja Oy", "Paperi ja Kynä Ky", "Sähkö-Salama Oy")


def purchase_invoices(company: ProcountorCompany) -> list[dict[str, Any]]:
    start = dt.date(2025, 1, 2)
    invoices = []
    for number in range(1, company.purchase_invoice_count + 1):
        day = start + dt.timedelta(days=7 * (number - 1))
        invoices.append(
            {
                "id": company.id * 10000 + number,
                "type": "PURCHASE_INVOICE",
                "status": "RECEIVED",
                "date": day.isoformat(),
                "dueDate": (day + dt.timedelta(days=14)).isoformat(),
                "currency": "EUR",
                "totalAmount": round(100 + 37.5 * number, 2),
                "counterParty": {"counterPartyAddress": {"name": _SUPPLIERS[number % len(_SUPPLIERS)]}},
            }
        )
    return invoices


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ProcountorError(400, f"{name} must be an integer", field=name) from None


def page(request: Request, rows: list[dict[str, Any]]) -> Response:
    """Procountor's paging: ``page`` from 0, ``size`` up to 200."""
    page = int_param(request, "page", 0)
    size = int_param(request, "size", 50)
    if page < 0 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ProcountorError(400, f"page must be >= 0 and size between 1 and {MAX_PAGE_SIZE}", field="size")
    chunk = rows[page * size : (page + 1) * size]
    meta = {"pageNumber": page, "pageSize": size, "resultCount": len(chunk), "totalCount": len(rows)}
    return JSONResponse({"results": chunk, "meta": meta})
