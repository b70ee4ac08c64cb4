"""Parsing Netvisor's answers: envelopes, typed payloads, and refusal of hostile XML."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from provider.netvisor import models as xml

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
    with pytest.raises(xml.MalformedXml, match=r"(?i)netvisorkey"):
        xml.dimensions(xml.parse_envelope(body.encode()).root)


# -- the payloads in Netvisor's real shapes (tests/fixtures/real/netvisor/, written from public docs) ----
REAL = Path(__file__).parents[2] / "fixtures" / "real" / "netvisor"


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


def test_the_real_chart_with_account_groups_is_read() -> None:
    """A group row has AccountType accountgroup and an empty <Number/>: read, never rejected."""
    accounts = xml.accounts(xml.parse_envelope(real("accountlist.nv.xml")).root)
    assert [(a.netvisor_key, a.number, a.is_group) for a in accounts] == [
        ("1", "", True),
        ("12", "1910", False),
        ("41", "", True),
        ("42", "4000", False),
        ("47", "4450", False),
    ]
    assert accounts[0].name == "Vastaavaa" and accounts[0].account_type == xml.ACCOUNT_GROUP
    assert not accounts[4].active


def test_a_plain_account_without_a_number_is_malformed() -> None:
    body = f"<Root>{OK_STATUS}<AccountList><Accounts><Account><NetvisorKey>7</NetvisorKey><Number/>"
    body += "<AccountType>account</AccountType></Account></Accounts></AccountList></Root>"
    with pytest.raises(xml.MalformedXml, match="Number"):
        xml.accounts(xml.parse_envelope(body.encode()).root)


@pytest.mark.parametrize("name", ["dimensionlist_Netvisorkey.nv.xml", "dimensionlist_NetvisorKey.nv.xml"])
def test_dimension_keys_in_either_spelling(name: str) -> None:
    dimensions = xml.dimensions(xml.parse_envelope(real(name)).root)
    assert [(d.netvisor_key, d.name, d.hidden, d.items) for d in dimensions] == [
        ("3", "Kustannuspaikka", False, ("Hallinto", "Puutarhamyymälä")),
        ("5", "Vanha projekti", True, ("Kasvihuone 2022",)),
    ]


def test_the_real_purchase_invoice_list_is_read() -> None:
    invoices = xml.purchase_invoices(xml.parse_envelope(real("purchaseinvoicelist.nv.xml")).root)
    assert [(i.netvisor_key, i.number, i.date, i.total) for i in invoices] == [
        ("2207", "24-5531", dt.date(2025, 3, 3), Decimal("1240.00")),
        ("2211", "TT-88120", dt.date(2025, 3, 5), Decimal("100.00")),
        ("2214", "4410021", dt.date(2025, 3, 6), Decimal("512.40")),
    ]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("failed_authentication_failed.xml", "AUTHENTICATION_FAILED"),
        ("failed_request_not_unique.xml", "REQUEST_NOT_UNIQUE"),
        ("failed_service_access_error.xml", "SERVICE_ACCESS_ERROR"),
    ],
)
def test_the_real_failed_envelopes(name: str, code: str) -> None:
    failure = xml.parse_envelope(real(name)).failure
    assert failure is not None and failure.code == code and failure.text


def test_the_real_ledger_envelope_is_ok() -> None:
    """The client does not read vouchers today; the envelope (non-padded TimeStamp) must still parse."""
    envelope = xml.parse_envelope(real("accountingledger.nv.xml"))
    assert envelope.failure is None
    assert len(xml.find_all(envelope.root, "vouchers/voucher")) == 2


def test_element_names_in_any_case() -> None:
    body = (
        "<root><responsestatus><status>ok</status></responsestatus><accountlist><ACCOUNTS><account>"
        "<netvisorKEY>9</netvisorKEY><NUMBER>4000</NUMBER><name>Ostot</name></account></ACCOUNTS>"
        "</accountlist></root>"
    )
    assert xml.accounts(xml.parse_envelope(body.encode()).root) == [
        xml.Account(netvisor_key="9", number="4000", name="Ostot", active=True)
    ]
    failed = "<ROOT><ResponseStatus><STATUS>FAILED</STATUS><Status>service_access_error :: no</Status>"
    failure = xml.parse_envelope((failed + "</ResponseStatus></ROOT>").encode()).failure
    assert failure == xml.Failure(code="SERVICE_ACCESS_ERROR", text="no")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e999999999", "12,3,4"])
def test_amounts_that_are_not_amounts_are_malformed(value: str) -> None:
    body = f"<Root>{OK_STATUS}<PurchaseInvoiceList><PurchaseInvoice><NetvisorKey>1</NetvisorKey>"
    body += f"<InvoiceDate>2025-01-01</InvoiceDate><Sum>{value}</Sum></PurchaseInvoice>"
    body += "</PurchaseInvoiceList></Root>"
    with pytest.raises(xml.MalformedXml, match="Sum"):
        xml.purchase_invoices(xml.parse_envelope(body.encode()).root)
