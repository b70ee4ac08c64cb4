"""The firm's client list as real-world files come: every problem named with its line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from provider.cli.csv_import import parse_client_list, read_client_list
from provider.cli.stack import OperatorError


def lines(issues: Sequence[object]) -> list[str]:
    return [str(issue) for issue in issues]


def test_an_excel_export_in_windows_1252_with_finnish_headers_and_letters() -> None:
    text = "Y-tunnus;Nimi;Järjestelmä\r\n2925630-9;Öljy-Äijät Oy;Procountor\r\n1572860-0;Beta Oy;Netvisor\r\n"
    listed = parse_client_list(text.encode("cp1252"))
    assert listed.encoding == "cp1252"
    assert listed.separator == ";"
    assert [(str(c.business_id), c.name, c.erp) for c in listed.clients] == [
        ("2925630-9", "Öljy-Äijät Oy", "procountor"),
        ("1572860-0", "Beta Oy", "netvisor"),
    ]
    assert lines(listed.notes) == ["line 1: not UTF-8: read as Windows-1252 (Excel's CSV)"]
    assert listed.problems == []


def test_utf8_with_a_byte_order_mark_and_english_headers_and_commas() -> None:
    text = 'Business ID,Name,ERP,Team\n2077474-0,"Kahvila Kuppi, Oy",procountor,Team North|Team South\n'
    listed = parse_client_list(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert listed.separator == ","
    assert lines(listed.notes) == ["line 1: UTF-8 byte order mark (BOM) at the start, removed"]
    (client,) = listed.clients
    assert (client.name, client.teams) == ("Kahvila Kuppi, Oy", ("Team North", "Team South"))


def test_every_awkward_line_is_named_with_its_line_number() -> None:
    text = (
        "\n"  # 1: blank before the header
        "Y-tunnus;Nimi;Järjestelmä\n"  # 2
        "2925630-9;Öljy-Äijät Oy;Procountor\n"  # 3
        "\n"  # 4: blank
        "2925630-9;Öljy-Äijät Oy;Procountor\n"  # 5: duplicate row of 3
        "2925630-8;Väärä Oy;Procountor\n"  # 6: bad check digit
        "1572860-0;Beta Oy;Fennoa\n"  # 7: unknown ERP
        "2077474-0;;Procountor\n"  # 8: no name
        "2925630-9;Öljy-Äijät Oyj;Netvisor\n"  # 9: same business ID, other values
        "1618033\u20133;Kirja-Kettu Oy;Netvisor\n"  # 10: an en dash from a word processor
        " ; ; \n"  # 11: blank but for separators
    )
    listed = parse_client_list(text.encode("utf-8"))
    assert lines(listed.notes) == [
        "line 1: blank line before the header, skipped",
        "line 4: blank line, skipped",
        "line 5: duplicate of line 3, skipped",
        "line 11: blank line, skipped",
    ]
    problems = lines(listed.problems)
    assert problems[0].startswith("line 6: bad business ID: '2925630-8'")
    assert problems[1] == "line 7: unknown ERP 'Fennoa': expected Procountor or Netvisor"
    assert problems[2] == "line 8: no name (Nimi)"
    assert problems[3].startswith("line 9: business ID 2925630-9 is on line 3 already")
    assert problems[4].startswith("line 10: bad business ID:") and "not a plain hyphen" in problems[4]
    assert len(problems) == 5
    assert [str(c.business_id) for c in listed.clients] == ["2925630-9"]


def test_a_quoted_cell_spanning_lines_keeps_the_later_line_numbers_right() -> None:
    text = 'Y-tunnus;Nimi;Järjestelmä\n2925630-9;"Öljy-Äijät\nOy";Procountor\n2925630-8;X Oy;Procountor\n'
    listed = parse_client_list(text.encode("utf-8"))
    assert lines(listed.problems)[0].startswith("line 4: bad business ID")


def test_a_list_without_a_business_id_column_is_refused_naming_its_header(tmp_path: Path) -> None:
    path = tmp_path / "asiakkaat.csv"
    path.write_text("Asiakasnumero;Nimi\n1;Beta Oy\n", encoding="utf-8")
    with pytest.raises(OperatorError, match=r"line 1: the client list has no Y-tunnus / Business ID column"):
        read_client_list(path)


def test_an_empty_or_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="empty"):
        parse_client_list(b"\n\n")
    with pytest.raises(OperatorError, match="cannot read the client list"):
        read_client_list(tmp_path / "missing.csv")
