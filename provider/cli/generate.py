"""``fabricai-roster generate``: the roster from what exists, the portal's clients and/or the firm's list.

- ``--portal``: every client of the portal (read with the stack's ``fabricai:apiKey``) becomes an entry with
  its ERP from the record's ``system``, and says whose record it is (its ``rosterStack`` tag against this
  stack's identity: ``roster:stackId``, else the stack output ``rosterStackId``): this stack's own record
  needs no ``adopt`` (``pulumi up`` takes it back); another stack's, or one registered by hand, gets
  ``adopt: true`` with a comment beside it saying so, never silently;
- ``--csv FILE``: the firm's client list (``provider.cli.csv_import`` documents its columns);
- both: the union, with a report both ways (in the portal but not in the list, in the list but not in the
  portal); a client in both takes its name from the list and is adopted.

The roster is validated by the roster model itself (``provider.roster.parse_roster``; keys are stood in for
while validating and never written), printed or written as stack config YAML (``roster:clients``), and
followed by the exact ``pulumi config set`` commands still to run for keys: never a key's value, every
argument quoted for the shell (a credential-set name is also held to safe characters by the roster model).

Exit status: 0 generated; 1 problems in the list or the roster (each named, with its line), nothing
written; 2 could not run.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import shlex
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from rich.progress import Progress, SpinnerColumn, TextColumn

from provider.business_id import BusinessId, InvalidBusinessId
from provider.cli import render
from provider.cli.config import settings_of
from provider.cli.csv_import import ClientList, read_client_list
from provider.cli.stack import OperatorError, Stack, erp_name
from provider.defaults import (
    PORTAL_MANAGED_BY_TAG,
    PORTAL_MANAGED_BY_VALUE,
    PORTAL_MAX_PAGES,
    PORTAL_PAGE_LIMIT,
    PORTAL_STACK_TAG,
)
from provider.errors import RosterInvalid
from provider.portal import ListedClient, PortalClient
from provider.roster import NETVISOR_CREDENTIALS, PROCOUNTOR_API_KEYS
from provider.roster.models import STACK_ID
from provider.roster.text import safe

DEFAULT_CREDENTIALS: Final = "firm"


@dataclass
class Generated:
    entries: list[dict[str, Any]]
    only_in_portal: list[str] = field(default_factory=list)
    only_in_list: list[str] = field(default_factory=list)
    skipped_in_portal: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    # Whose each portal record is, by business ID: the comment written beside its entry.
    whose: dict[str, Whose] = field(default_factory=dict)


@dataclass(frozen=True)
class Whose:
    """Whose a portal record is: this stack's own (taken back without ``adopt``), another stack's, or one
    registered by hand (no ``rosterStack`` tag); ``note`` is the comment beside its entry."""

    kind: str  # "own" | "other stack" | "by hand"
    note: str


def whose(record: ListedClient, stack_id: str | None) -> Whose:
    """Whose ``record`` is, to a stack whose identity is ``stack_id`` (None: not known)."""
    tags = record.tags or {}
    tag = tags.get(PORTAL_STACK_TAG)
    managed = tags.get(PORTAL_MANAGED_BY_TAG) == PORTAL_MANAGED_BY_VALUE
    if stack_id and tag == stack_id and managed:
        return Whose(
            "own", f"this stack's own record ({PORTAL_STACK_TAG} {safe(tag, 80)}): taken back, no adopt"
        )
    if tag:
        return Whose(
            "other stack",
            f"ANOTHER STACK's record ({PORTAL_STACK_TAG} {safe(tag, 80)}): adopting takes it from that stack",
        )
    return Whose("by hand", f"registered by hand (no {PORTAL_STACK_TAG} tag)")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "generate",
        help="write the roster from the portal's clients and/or the firm's CSV client list",
        description="Write roster:clients from what exists: the portal's clients (each with adopt: true, "
        "so `pulumi up` takes them over instead of registering them again) and/or the firm's client list as "
        "CSV. The result is validated by the roster model, written as stack config YAML, and followed by "
        "the `pulumi config set --secret` commands still to run for keys (never their values). Exit status "
        "0: generated; 1: problems (each with its line), nothing written; 2: could not run.",
        epilog="CSV columns (Finnish or English headers, `;` or `,`, UTF-8 or Windows-1252): "
        "Y-tunnus/Business ID and Nimi/Name (required), Järjestelmä/ERP (Procountor or Netvisor), "
        "Netvisor-tunnukset/Netvisor credentials, Tiimi/Team (several separated by |).",
    )
    parser.add_argument(
        "--portal", action="store_true", help="the portal's clients (needs the stack's config)"
    )
    parser.add_argument("--csv", metavar="FILE", type=Path, help="the firm's client list")
    parser.add_argument(
        "--output", "-o", metavar="FILE", type=Path, help="write the YAML here (default: print it)"
    )
    parser.add_argument(
        "--netvisor-credentials",
        metavar="NAME",
        default=DEFAULT_CREDENTIALS,
        help=f"the credential set of Netvisor clients the list does not name "
        f"(default: {DEFAULT_CREDENTIALS})",
    )
    parser.add_argument(
        "--default-erp",
        type=erp_name,
        choices=["procountor", "netvisor"],
        help="the ERP of list rows without one (otherwise such a row is a problem)",
    )
    parser.set_defaults(run=run)


def portal_clients(portal: PortalClient) -> list[ListedClient]:
    """Every client of the portal, page by page (pages of 50, as the provider reads them)."""
    found: list[ListedClient] = []
    for page in range(1, PORTAL_MAX_PAGES + 1):
        items = portal.list_clients(page=page, limit=PORTAL_PAGE_LIMIT)
        found += items
        if len(items) < PORTAL_PAGE_LIMIT:
            break
    return found


def _portal_id(record: ListedClient) -> BusinessId | None:
    try:
        return BusinessId(record.business_id) if record.business_id else None
    except InvalidBusinessId:
        return None


def build(
    listed: ClientList | None,
    portal: Sequence[ListedClient] | None,
    *,
    credentials: str,
    default_erp: str | None,
    known_keys: Mapping[str, Any],
    stack_id: str | None = None,
) -> Generated:
    """The roster entries, the report both ways and the key commands; RosterInvalid on a bad roster.
    ``stack_id``: this stack's identity, which tells its own portal records from others'."""
    by_id: dict[BusinessId, dict[str, Any]] = {}
    generated = Generated(entries=[])
    problems: list[str] = []
    in_portal: dict[BusinessId, ListedClient] = {}
    duplicates: dict[BusinessId, list[int]] = {}
    for record in portal or []:
        business_id = _portal_id(record)
        if business_id is None:
            generated.skipped_in_portal.append(
                f"portal client {record.id} ({record.name}): no valid business ID"
            )
            continue
        in_portal.setdefault(business_id, record)
        duplicates.setdefault(business_id, []).append(record.id)
    for business_id, ids in duplicates.items():
        if len(ids) > 1:
            # `adopt` cannot choose between them (DuplicateRecords at up): left out until one is removed.
            record = in_portal.pop(business_id)
            generated.skipped_in_portal.append(
                f"{record.name} ({business_id}): the portal holds {len(ids)} records of this business ID "
                f"(ids {', '.join(map(str, sorted(ids)))}); remove the duplicates in the portal, then "
                "generate again"
            )
    if listed is not None:
        for row in listed.clients:
            erp = row.erp or (in_portal[row.business_id].system if row.business_id in in_portal else None)
            erp = erp or default_erp
            if erp not in ("procountor", "netvisor"):
                problems.append(
                    f"line {row.line}: {row.name} ({row.business_id}) has no ERP: add a "
                    "Järjestelmä/ERP column, or pass --default-erp"
                )
                continue
            entry: dict[str, Any] = {"businessId": str(row.business_id), "name": row.name, "erp": erp}
            if erp == "netvisor":
                entry["netvisorCredentials"] = row.netvisor_credentials or credentials
            if row.teams:
                entry["teams"] = list(row.teams)
            if row.business_id in in_portal:
                _mark(generated, entry, whose(in_portal[row.business_id], stack_id))
            elif portal is not None:
                generated.only_in_list.append(f"{row.name} ({row.business_id}), line {row.line}")
            by_id[row.business_id] = entry
    for business_id, record in in_portal.items():
        if business_id in by_id:
            continue
        label = f"{record.name} ({business_id})"
        if listed is not None:
            generated.only_in_portal.append(label)
            continue
        if record.system not in ("procountor", "netvisor"):
            generated.skipped_in_portal.append(
                f"{label}: its ERP {record.system!r} is not Procountor or Netvisor"
            )
            continue
        entry = {
            "businessId": str(business_id),
            "name": record.name or str(business_id),
            "erp": record.system,
        }
        _mark(generated, entry, whose(record, stack_id))
        if record.system == "netvisor":
            entry["netvisorCredentials"] = credentials
        by_id[business_id] = entry
    if problems:
        raise OperatorError("the client list cannot become a roster:\n  " + "\n  ".join(problems))
    generated.entries = [by_id[key] for key in sorted(by_id)]
    _validate(generated.entries)
    generated.commands = key_commands(generated.entries, known_keys)
    return generated


def _mark(generated: Generated, entry: dict[str, Any], owner: Whose) -> None:
    """Set ``adopt: true`` on the entry of a record that is not this stack's own, and note whose it is."""
    if owner.kind != "own":
        entry["adopt"] = True
    generated.whose[entry["businessId"]] = owner


def _validate(entries: list[dict[str, Any]]) -> None:
    """The roster model's verdict on the entries, with stand-in keys (never written, never shown)."""
    # One stand-in per client (the roster refuses one key under two business IDs), each with a random part: a
    # stand-in is a "secret" to the roster's by-value check, and no client's name may happen to hold it.
    token = uuid.uuid4().hex
    keys = {e["businessId"]: f"{token}-{e['businessId']}" for e in entries if e["erp"] == "procountor"}
    sets = {
        e["netvisorCredentials"]: {"customerId": "stand-in", "customerKey": token}
        for e in entries
        if e["erp"] == "netvisor"
    }
    parse_roster_entries(entries, keys, sets)


def parse_roster_entries(entries: object, keys: object, sets: object) -> None:
    from provider.roster import parse_roster

    # Only the verdict is wanted: the validated entries are not kept (bounded memory for a big list).
    parse_roster(entries, keys, sets, on_client=lambda client: None)


def set_command(*args: str) -> str:
    """``pulumi config set ARGS``, every argument quoted for the shell (``shlex.join``): a name from the
    client list or the portal can never become shell syntax. No value is printed: ``pulumi config set``
    without one asks for it at the prompt, or reads it from stdin, so the command runs as printed."""
    return shlex.join(["pulumi", "config", "set", *args])


def key_commands(entries: Sequence[Mapping[str, Any]], known: Mapping[str, Any]) -> list[str]:
    """The ``pulumi config set`` commands for every key the stack does not hold yet (runnable as printed)."""
    have_keys = known.get(PROCOUNTOR_API_KEYS) or {}
    have_sets = known.get(NETVISOR_CREDENTIALS) or {}
    have_ids = set()
    for written in have_keys if isinstance(have_keys, Mapping) else {}:
        try:
            have_ids.add(BusinessId(written))
        except InvalidBusinessId:
            continue
    commands: list[str] = []
    for entry in entries:
        if entry["erp"] == "procountor" and BusinessId(entry["businessId"]) not in have_ids:
            path = f'{PROCOUNTOR_API_KEYS}["{BusinessId(entry["businessId"])}"]'
            commands.append(set_command("--secret", "--path", path))
    for name in sorted({e["netvisorCredentials"] for e in entries if e["erp"] == "netvisor"}):
        if not (isinstance(have_sets, Mapping) and name in have_sets):
            commands.append(set_command("--path", f"{NETVISOR_CREDENTIALS}.{name}.customerId"))
            commands.append(set_command("--secret", "--path", f"{NETVISOR_CREDENTIALS}.{name}.customerKey"))
    return commands


# A text written plain in YAML reads back as the same text in YAML 1.1 and 1.2 readers alike (PyYAML, Pulumi's
# Go reader) when it starts with a letter or digit, holds only these characters, and is no other scalar.
_PLAIN: Final = re.compile(r"[^\W_][\w .,&()/'+-]*(?<! )")
_OTHER_SCALAR: Final = re.compile(
    r"(?i:y|n|yes|no|on|off|true|false|null|~)"
    r"|[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"  # numbers, YAML 1.1 and 1.2
    r"|0[xob][0-9a-fA-F_]+"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*"  # YAML 1.1 timestamps
)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if _PLAIN.fullmatch(text) and not _OTHER_SCALAR.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def write_roster_yaml(
    entries: Sequence[Mapping[str, Any]], out: TextIO, notes: Mapping[str, Whose] | None = None
) -> None:
    """Stack config YAML of ``roster:clients``, written entry by entry: as ``yaml.safe_dump`` lays it out,
    without its node graph and whole-text copy (a 200,000-client list took about a minute and 700 MB). Each
    portal record's entry says whose it is (``notes``) in a comment beside its ``adopt: true``, or, for this
    stack's own, beside its business ID."""
    out.write("config:\n  roster:clients:" + ("\n" if entries else " []\n"))
    for entry in entries:
        owner = (notes or {}).get(str(entry.get("businessId")))
        lead = "  - "
        for key, value in entry.items():
            beside = ""
            if owner is not None and key == ("adopt" if owner.kind != "own" else "businessId"):
                beside = f"  # {owner.note}"
            if isinstance(value, list) and value:
                out.write(f"{lead}{key}:{beside}\n" + "".join(f"    - {_scalar(item)}\n" for item in value))
            else:
                out.write(f"{lead}{key}: {'[]' if isinstance(value, list) else _scalar(value)}{beside}\n")
            lead = "    "


def roster_yaml(entries: Sequence[Mapping[str, Any]], notes: Mapping[str, Whose] | None = None) -> str:
    """``write_roster_yaml`` as text."""
    text = io.StringIO()
    write_roster_yaml(entries, text, notes)
    return text.getvalue()


def run(args: argparse.Namespace, stack: Stack) -> int:
    if not args.portal and args.csv is None:
        raise OperatorError("nothing to generate from: pass --portal, --csv FILE, or both")
    err = render.stderr()
    listed = read_client_list(args.csv) if args.csv is not None else None
    if listed is not None:
        for note in listed.notes:
            err.print(f"[yellow]note:[/] {args.csv}: {render.escape(str(note))}")
        if listed.problems:
            for problem in listed.problems:
                err.print(f"[bold red]✗[/] {render.escape(str(args.csv))}: {render.escape(str(problem))}")
            where = render.escape(str(args.csv))
            err.print(f"[bold red]{len(listed.problems)} problem(s) in {where}; nothing written.[/]")
            return render.PROBLEMS
    known: dict[str, Any] = {}
    records: list[ListedClient] | None = None
    stack_id: str | None = None
    if args.portal:
        known = stack.config(secrets=True)
        stack_id = _identity(known, stack)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True) as bar:
            bar.add_task("reading the portal's clients", total=None)
            records = portal_clients(PortalClient(settings_of(known).portal()))
    else:
        try:
            known = stack.config(secrets=False)
        except OperatorError:
            known = {}
    try:
        generated = build(
            listed,
            records,
            credentials=args.netvisor_credentials,
            default_erp=args.default_erp,
            known_keys=known,
            stack_id=stack_id,
        )
    except RosterInvalid as invalid:
        for roster_problem in invalid.problems:
            err.print(
                render.problem_line(roster_problem.entry, f"{roster_problem.field}: {roster_problem.message}")
            )
        err.print("[bold red]the generated roster is not valid; nothing written.[/]")
        return render.PROBLEMS
    if args.output is not None:
        try:
            with args.output.open("w", encoding="utf-8") as out:
                write_roster_yaml(generated.entries, out, generated.whose)
        except OSError as error:
            raise OperatorError(f"cannot write {args.output}: {error.strerror}") from None
        err.print(
            f"[green]✓[/] {len(generated.entries)} clients written to {render.escape(str(args.output))}"
        )
    else:
        write_roster_yaml(generated.entries, sys.stdout, generated.whose)
    _report(err, generated)
    return render.OK


def _identity(known: Mapping[str, Any], stack: Stack) -> str | None:
    """This stack's identity: ``roster:stackId``, else its output ``rosterStackId``; None if it has none."""
    pinned = known.get(STACK_ID)
    if isinstance(pinned, str) and pinned:
        return pinned
    try:
        shown = stack.outputs().get("rosterStackId")
    except OperatorError:
        return None
    return shown if isinstance(shown, str) and shown else None


def _report(err: Any, generated: Generated) -> None:
    adopted = sum(1 for e in generated.entries if e.get("adopt"))
    own = sum(1 for owner in generated.whose.values() if owner.kind == "own")
    mine = f"{own} this stack's own (no adopt needed), " if own else ""
    err.print(
        f"{len(generated.entries)} clients: {adopted} adopted from the portal, {mine}"
        f"{len(generated.entries) - adopted - own} new."
    )
    others = sorted(b for b, owner in generated.whose.items() if owner.kind == "other stack")
    if others:
        err.print(
            f"[bold yellow]{len(others)} of them are another stack's records[/] (their {PORTAL_STACK_TAG} "
            "tag is not this stack's identity): `adopt: true` takes each from that stack; leave them out "
            "unless that stack is gone: " + ", ".join(others)
        )
    for title, items in (
        ("In the portal but not in the list (left out of the roster)", generated.only_in_portal),
        ("In the list but not in the portal (registered by the next `pulumi up`)", generated.only_in_list),
        ("Portal clients left out", generated.skipped_in_portal),
    ):
        if items:
            err.print(f"[bold]{title}:[/]")
            for item in items:
                err.print(f"  - {render.escape(item)}")
    if generated.commands:
        err.print(
            "[bold]Still to run for keys (each asks for its value at the prompt, or reads it from stdin):[/]"
        )
        # Plain lines, as they are to be copied (and a rich print each would take minutes for 100,000 keys).
        err.file.write("".join(f"  {command}\n" for command in generated.commands))
        err.file.flush()
