"""Parsing Netvisor's answers: envelopes, typed payloads, and refusal of hostile XML."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from provider.netvisor import xml

OK_STATUS = "<ResponseStatus><Status>OK</Status><TimeStamp>01.01.2025 12:00:00</TimeStamp></ResponseStatus>"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Root [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Name>&lol3;</Name></Root>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Root><ResponseStatus><Status>OK</Status></ResponseStatus><Name>&xxe;</Name></Root>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Root SYSTEM "http://127.0.0.1:9/evil.dtd">
<Root><ResponseStatus><Status>OK</Status></ResponseStatus></Root>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_hostile_xml_is_refused_before_anything_is_expanded(body: bytes) -> None:
    with pytest.raises(xml.HostileXml):
        xml.parse_envelope(body)


def test_not_xml_is_malformed() -> None:
    with pytest.raises(xml.MalformedXml):
        xml.parse_envelope(b"<html><body>502 Bad Gateway")
    with pytest.raises(xml.MalformedXml):
        xml.parse_envelope(b"<Other/>")


def test_failed_envelope_gives_code_and_text() -> None:
    envelope = xml.parse_envelope(
        b"<Root><ResponseStatus><Status>FAILED</Status>"
        b"<Status>AUTHENTICATION_FAILED :: Integration keys are not valid</Status>"
        b"<TimeStamp>01.01.2025 12:00:00</TimeStamp></ResponseStatus></Root>"
    )
    assert envelope.failure == xml.Failure("AUTHENTICATION_FAILED", "Integration keys are not valid")


def test_typed_payloads() -> None:
    body = f"""<?xml version="1.0" encoding="utf-8"?><Root>{OK_STATUS}
    <PurchaseInvoiceList><PurchaseInvoice><NetvisorKey>1</NetvisorKey><InvoiceNumber>24017</InvoiceNumber>
      <InvoiceDate format="ansi">2025-01-15</InvoiceDate><Vendor>Toimistotarvike Oy</Vendor>
      <Sum>1 124,50</Sum></PurchaseInvoice></PurchaseInvoiceList>
    <AccountList><Accounts><Account><NetvisorKey>6</NetvisorKey><Number>4000</Number><Name>Ostot</Name>
      <IsActive>1</IsActive></Account></Accounts></AccountList>
    <DimensionNameList><DimensionName><Netvisorkey>1</Netvisorkey><Name>Kustannuspaikka</Name>
      <IsHidden>False</IsHidden><DimensionDetails><DimensionDetail><Netvisorkey>2</Netvisorkey>
      <Name>Hallinto</Name></DimensionDetail></DimensionDetails></DimensionName>
      <DimensionName><Netvisorkey>3</Netvisorkey><Name>Vanha</Name><IsHidden>True</IsHidden>
      </DimensionName></DimensionNameList></Root>""".encode()
    root = xml.parse_envelope(body).root
    assert xml.purchase_invoices(root) == [
        xml.PurchaseInvoice("1", "24017", dt.date(2025, 1, 15), "Toimistotarvike Oy", Decimal("1124.50"))
    ]
    assert xml.accounts(root) == [xml.Account("6", "4000", "Ostot", True)]
    assert xml.dimensions(root) == [
        xml.Dimension("1", "Kustannuspaikka", False, ("Hallinto",)),
        xml.Dimension("3", "Vanha", True, ()),
    ]


def test_a_payload_of_the_wrong_shape_is_malformed() -> None:
    body = f"<Root>{OK_STATUS}<DimensionNameList><DimensionName><Name>X</Name></DimensionName>"
    body += "</DimensionNameList></Root>"
    with pytest.raises(xml.MalformedXml, match="Netvisorkey"):
        xml.dimensions(xml.parse_envelope(body.encode()).root)
