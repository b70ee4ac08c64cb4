"""Netvisor's XML response envelopes (``<Root><ResponseStatus>...``) and its error codes."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from starlette.responses import Response

HELSINKI = ZoneInfo("Europe/Helsinki")
MEDIA_TYPE = "text/xml; charset=utf-8"


class ErrorCode(StrEnum):
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    INVALID_DATA = "INVALID_DATA"
    REQUEST_NOT_UNIQUE = "REQUEST_NOT_UNIQUE"
    SERVICE_ACCESS_ERROR = "SERVICE_ACCESS_ERROR"
    TECHNICAL_ERROR = "TECHNICAL_ERROR"


# Used only when the client sends X-Netvisor-Authentication-UseHTTPResponseStatusCodes: 1; otherwise
# every answer is HTTP 200 and the envelope alone tells success from failure.
HTTP_STATUS = {
    ErrorCode.AUTHENTICATION_FAILED: 401,
    ErrorCode.INVALID_DATA: 400,
    ErrorCode.REQUEST_NOT_UNIQUE: 409,
    ErrorCode.SERVICE_ACCESS_ERROR: 403,
    ErrorCode.TECHNICAL_ERROR: 500,
}


class NetvisorFailure(Exception):
    """A request Netvisor answers with a FAILED envelope.

    ``http_status`` overrides the code's usual status (the in-flight refusal answers 429).
    """

    def __init__(self, code: ErrorCode, text: str, *, http_status: int | None = None) -> None:
        super().__init__(f"{code} :: {text}")
        self.code = code
        self.text = text
        self.http_status = http_status if http_status is not None else HTTP_STATUS[code]


def netvisor_timestamp(now: dt.datetime) -> str:
    """Netvisor stamps responses in Finnish local time, not zero-padded: ``1.10.2009 16:03:24``.

    Captures show day and month unpadded; whether the hour is padded is not visible (16, 12): unpadded
    here, an assumption."""
    local = now.astimezone(HELSINKI)
    return f"{local.day}.{local.month}.{local.year} {local.hour}:{local:%M:%S}"


def decimal_comma(amount: Decimal) -> str:
    return f"{amount:.2f}".replace(".", ",")


def sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """Append a child element (with optional text) and return it."""
    child = ET.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = text
    return child


def _status_root(now: dt.datetime, statuses: list[str]) -> ET.Element:
    root = ET.Element("Root")
    status = sub(root, "ResponseStatus")
    for value in statuses:
        sub(status, "Status", value)
    sub(status, "TimeStamp", netvisor_timestamp(now))
    return root


def _xml_response(root: ET.Element, status_code: int) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPE)


def ok_response(payload: list[ET.Element], now: dt.datetime) -> Response:
    root = _status_root(now, ["OK"])
    root.extend(payload)
    return _xml_response(root, 200)


def failed_response(failure: NetvisorFailure, now: dt.datetime, *, use_http_status: bool) -> Response:
    root = _status_root(now, ["FAILED", str(failure)])
    return _xml_response(root, failure.http_status if use_http_status else 200)
