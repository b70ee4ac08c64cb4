"""The firm's client list (a CSV exported from its practice software or Excel) read into roster entries.

Columns (header names are matched case-insensitively, Finnish or English; other columns are ignored):

    business ID   Y-tunnus, Ytunnus, Business ID, BusinessId, VAT number    required
    name          Nimi, Yritys, Asiakas, Name, Company, Client                required
    ERP           Järjestelmä, Kirjanpito-ohjelma, Taloushallinto, ERP, System  procountor / netvisor
    credentials   Netvisor-tunnukset, Netvisor credentials                    Netvisor credential set name
    team          Tiimi, Team                                                 a team name (or several, `|`)

Separators ``;`` (Excel's in Finland) and ``,`` are sniffed from the header line. Encodings: UTF-8 (with or
without its byte order mark) and Windows-1252 (what Excel's "CSV" writes), tried in that order.

Every problem names its line: a byte order mark (removed: line 1), blank lines (skipped), duplicate rows
(the second skipped), two rows of one business ID that disagree, bad business IDs, unknown ERPs, missing
names. ``notes`` are what was tidied and needs no action; ``problems`` must be fixed in the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from provider.business_id import BusinessId, InvalidBusinessId
from provider.cli.stack import OperatorError
from provider.roster.models import erp_of
from provider.roster.text import quote, set_name_problem

HEADERS: Final = {
    "business_id": (
        "y-tunnus",
        "ytunnus",
        "y tunnus",
        "business id",
        "businessid",
        "business_id",
        "vat number",
        "alv-tunnus",
    ),
    "name": ("nimi", "yritys", "asiakas", "name", "company", "client", "company name", "yrityksen nimi"),
    "erp": ("järjestelmä", "kirjanpito-ohjelma", "taloushallinto", "erp", "system", "ohjelmisto"),
    "netvisor_credentials": (
        "netvisor-tunnukset",
        "netvisor tunnukset",
        "netvisor credentials",
        "netvisorcredentials",
    ),
    "teams": ("tiimi", "tiimit", "team", "teams"),
}


@dataclass(frozen=True)
class CsvIssue:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class CsvClient:
    line: int
    business_id: BusinessId
    name: str
    erp: str | None
    netvisor_credentials: str | None
    teams: tuple[str, ...]


@dataclass
class ClientList:
    clients: list[CsvClient] = field(default_factory=list)
    notes: list[CsvIssue] = field(default_factory=list)
    problems: list[CsvIssue] = field(default_factory=list)
    encoding: str = "utf-8"
    separator: str = ";"


def decode(data: bytes, notes: list[CsvIssue]) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        notes.append(CsvIssue(1, "UTF-8 byte order mark (BOM) at the start, removed"))
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        notes.append(CsvIssue(1, "not UTF-8: read as Windows-1252 (Excel's CSV)"))
        return data.decode("cp1252", errors="replace"), "cp1252"


def _sniff(first_line: str) -> str:
    return ";" if first_line.count(";") >= first_line.count(",") else ","


def _column_of(header: str) -> str | None:
    wanted = " ".join(header.strip().strip('"').casefold().split())
    return next((column for column, names in HEADERS.items() if wanted in names), None)


def read_client_list(path: Path) -> ClientList:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise OperatorError(f"cannot read the client list {path}: {error.strerror}") from None
    return parse_client_list(data)


def _header_start(text: str) -> tuple[int, int, str]:
    """Where the header line starts: (its 0-based line number, its offset in ``text``, the line)."""
    line, position = 0, 0
    while position < len(text):
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        if text[position:end].strip():
            return line, position, text[position:end]
        line, position = line + 1, end + 1
    raise OperatorError(
        "the client list is empty: expected a header line such as `Y-tunnus;Nimi;Järjestelmä`"
    )


def parse_client_list(data: bytes) -> ClientList:
    """The rows of a client list, read in one pass over the text (no copy of it split into lines): linear in
    the list's size (docs/PERFORMANCE.md, "Big files")."""
    result = ClientList()
    text, result.encoding = decode(data, result.notes)
    header_index, start, first_line = _header_start(text)
    for blank in range(header_index):
        result.notes.append(CsvIssue(blank + 1, "blank line before the header, skipped"))
    result.separator = _sniff(first_line)
    rows = io.StringIO(text)
    rows.seek(start)  # a StringIO's position counts characters
    del text
    reader = csv.reader(rows, delimiter=result.separator)
    header = next(reader)
    columns = [_column_of(name) for name in header]
    for needed, example in (("business_id", "Y-tunnus / Business ID"), ("name", "Nimi / Name")):
        if needed not in columns:
            raise OperatorError(
                f"line {header_index + 1}: the client list has no {example} column (its header reads: "
                f"{', '.join(h.strip() for h in header)}); see `fabricai-roster generate --help`"
            )
    # A row is remembered by a 128-bit digest of its cells, not by the cells (a tenth of the memory at 200,000
    # rows; two different rows sharing a digest is beyond any real chance).
    seen_rows: dict[bytes, int] = {}
    by_id: dict[BusinessId, CsvClient] = {}
    for row in reader:
        line = header_index + reader.line_num
        if not any(cell.strip() for cell in row):
            result.notes.append(CsvIssue(line, "blank line, skipped"))
            continue
        cells = tuple(cell.strip() for cell in row)
        digest = hashlib.blake2b("\x1f".join(cells).encode(), digest_size=16).digest()
        if digest in seen_rows:
            result.notes.append(CsvIssue(line, f"duplicate of line {seen_rows[digest]}, skipped"))
            continue
        seen_rows[digest] = line
        values: dict[str, str] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column is not None and column not in values:
                values[column] = cell
        client = _client(line, values, result.problems)
        if client is None:
            continue
        first = by_id.get(client.business_id)
        if first is not None:
            result.problems.append(
                CsvIssue(
                    line,
                    f"business ID {client.business_id} is on line {first.line} already, with other values; "
                    "keep one row",
                )
            )
            continue
        by_id[client.business_id] = client
        result.clients.append(client)
    return result


def _client(line: int, values: dict[str, str], problems: list[CsvIssue]) -> CsvClient | None:
    ok = True
    written_id = values.get("business_id", "")
    business_id: BusinessId | None = None
    if not written_id:
        problems.append(CsvIssue(line, "no business ID (Y-tunnus)"))
        ok = False
    else:
        try:
            business_id = BusinessId(written_id)
        except InvalidBusinessId as error:
            problems.append(CsvIssue(line, f"bad business ID: {error}"))
            ok = False
    name = values.get("name", "")
    if not name:
        problems.append(CsvIssue(line, "no name (Nimi)"))
        ok = False
    erp: str | None = None
    written_erp = values.get("erp", "")
    if written_erp:
        named = erp_of(written_erp)  # as the roster reads it: any case, `Visma Netvisor` too
        erp = named.value if named is not None else None
        if erp is None:
            problems.append(CsvIssue(line, f"unknown ERP {written_erp!r}: expected Procountor or Netvisor"))
            ok = False
    if not ok or business_id is None:
        return None
    credentials = values.get("netvisor_credentials") or None
    flaw = set_name_problem(credentials) if credentials is not None else None
    if flaw is not None:
        # A config path segment, printed in commands: refused here, with its line, before any is built.
        problems.append(CsvIssue(line, f"Netvisor credentials {quote(str(credentials))}: the name {flaw}"))
        return None
    teams = tuple(team.strip() for team in values.get("teams", "").split("|") if team.strip())
    return CsvClient(line, business_id, name, erp, credentials, teams)
