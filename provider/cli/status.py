"""``fabricai-roster status``: one table of every client of the stack, from its last up or refresh.

Read without any secret: ``pulumi stack output`` (which clients the roster has, with their portal id and
ERP: ``provider.program.stack_outputs``), ``pulumi stack export`` (each company's name, portal status and
training, each integration's ``client_status``, ``status``, ``dimension_predictions``, ``connected_at`` and
``credentials_rotated_at``; secrets stay encrypted there and are never read) and ``pulumi config --json``
without ``--show-secrets`` (``roster:rotateAfterDays``).

The clients are those of the stack output ``clients`` and those the state holds a ClientCompany or an
integration of: a first ``up`` that failed leaves registered clients and connections in the state and no
outputs, and they must show with their problems, not as "0 clients". The resources' outputs come first:
``pulumi refresh`` updates them but not the stack outputs (only the program sets those, at ``up``), so a
regression found by a refresh shows at once. The stack outputs are the fallback for a resource the state does
not hold. Outputs or state of a shape this command cannot read (a JSON list, a summary that is not a mapping)
are exit 2, never an empty report that says all is well.

ERP health is shown when the outputs carry it (``erpHealth`` in a client's stack output, or ``erp_health`` /
``health`` among its integration's outputs); ``unknown`` otherwise.

A client has problems when its name in the portal (as the state holds it after ``pulumi refresh``) is not
the roster's (the stack output ``rosterClients``, from the last ``up``): a hand edit in the portal; when its
stage is FAILED or INACTIVE, its connection is not ACTIVE, its ERP health is known and not OK, a dimension
prediction FAILED, was CANCELLED or is NOT_IN_ERP, or its credentials are older than
``roster:rotateAfterDays``. Exit status: 0 none of the clients shown has problems, 1 some have,
2 the command could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from rich.table import Table

from provider.cli import render
from provider.cli.config import rotate_after_days
from provider.cli.html import write_report
from provider.cli.stack import OperatorError, Stack, erp_name

UNKNOWN: Final = "unknown"
HEALTHY: Final = frozenset({"OK", "HEALTHY", "PASSED", UNKNOWN.upper()})
BAD_STAGES: Final = frozenset({"FAILED", "INACTIVE"})
BAD_PREDICTIONS: Final = frozenset({"FAILED", "CANCELLED", "NOT_IN_ERP"})

# Column key -> heading; the keys are what --sort and --filter take.
COLUMNS: Final = {
    "business_id": "Business ID",
    "name": "Name",
    "erp": "ERP",
    "portal": "Portal",
    "stage": "Stage",
    "connection": "Connection",
    "erp_health": "ERP health",
    "verified": "Verified",
    "rotated": "Rotated",
    "age_days": "Age (d)",
    "rotate_after_days": "Rotate after (d)",
    "problems": "Problems",
}


# Other names a column answers to in --sort and --filter (`--filter status=TRAINING`).
ALIASES: Final = {"status": "stage", "health": "erp_health", "id": "business_id", "age": "age_days"}


def column_of(name: str) -> str | None:
    name = name.strip().lower().replace("-", "_")
    return name if name in COLUMNS else ALIASES.get(name)


@dataclass
class ClientStatus:
    business_id: str
    name: str
    erp: str
    portal_id: int | None
    portal: str
    stage: str
    connection: str
    erp_health: str
    verified: str | None
    rotated: str | None
    age_days: int | None
    rotate_after_days: int | None
    predictions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # The name the roster gave at the last `up` (stack output ``rosterClients``), where it differs from the
    # portal's as the state last read it: a hand edit in the portal, recorded by `pulumi refresh`.
    roster_name: str | None = None

    def cell(self, key: str) -> str:
        value = getattr(self, key)
        if key == "problems":
            return "; ".join(value) if value else "none"
        if key in ("verified", "rotated") and value:
            return str(value)[:10]  # the date; --json keeps the full timestamp
        return "—" if value is None else str(value)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "status",
        help="one table of every client: stage, connection, ERP health, key age",
        description="One table of every client of the stack as of its last `pulumi up` or `pulumi refresh`: "
        "portal status, training stage, connection, ERP health, when the credentials were verified and "
        "rotated, and the age past which the firm wants them rotated (roster:rotateAfterDays). Exit status "
        "0: no client shown has problems; 1: some have; 2: the stack could not be read.",
        epilog="Columns for --sort and --filter: "
        + ", ".join(COLUMNS)
        + " (also: "
        + ", ".join(f"{alias} = {column}" for alias, column in ALIASES.items())
        + ").",
    )
    parser.add_argument("--sort", metavar="COLUMN", help="sort by this column")
    parser.add_argument("--reverse", action="store_true", help="sort descending")
    parser.add_argument(
        "--filter",
        metavar="COLUMN=VALUE",
        action="append",
        default=[],
        help="only clients whose column has this value (case-insensitive; repeatable: all must match)",
    )
    parser.add_argument(
        "--erp", type=erp_name, choices=["procountor", "netvisor"], help="only clients of this ERP"
    )
    parser.add_argument("--problems", action="store_true", help="only clients with problems")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of the table")
    parser.add_argument("--html", metavar="FILE", type=Path, help="also write a self-contained HTML report")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, stack: Stack) -> int:
    filters = parse_filters(args.filter)
    sort_by = None
    if args.sort is not None:
        sort_by = column_of(args.sort)
        if sort_by is None:
            raise OperatorError(f"--sort {args.sort!r}: expected one of {', '.join(COLUMNS)}")
    with render.stderr().status("reading the stack through the Pulumi CLI"):
        rotate_after = rotate_after_days(stack.config(secrets=False))
        outputs, resources = stack.outputs(), stack.resources()
    rows = client_statuses(outputs, resources, rotate_after, now=_now())
    rows = select(rows, filters=filters, erp=args.erp, problems_only=args.problems)
    rows = sort(rows, sort_by, reverse=args.reverse)
    if args.html is not None:
        write_report(args.html, rows, COLUMNS, title=f"FabricAI roster: {stack.name or 'current stack'}")
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False))
    else:
        render.stdout().print(table(rows))
        if args.html is not None:
            render.stderr().print(f"HTML report written to {render.escape(str(args.html))}")
    return render.PROBLEMS if any(row.problems for row in rows) else render.OK


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_filters(written: Sequence[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in written:
        written, sep, value = item.partition("=")
        column = column_of(written)
        if not sep or column is None:
            raise OperatorError(
                f"--filter {item!r}: expected COLUMN=VALUE with COLUMN one of {', '.join(COLUMNS)}"
            )
        filters[column] = value.strip()
    return filters


COMPANY_TYPE: Final = "pulumi-python:dynamic/fabricai:ClientCompany"
INTEGRATION_TYPES: Final = {
    "pulumi-python:dynamic/fabricai:ProcountorIntegration": "procountor",
    "pulumi-python:dynamic/fabricai:NetvisorIntegration": "netvisor",
}


def _by_name(resources: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Each resource's outputs by its name (the URN's last part: ``2925630-9-company``); outputs that are not
    a mapping cannot be read: exit 2, never a client silently left out."""
    named: dict[str, Mapping[str, Any]] = {}
    for resource in resources:
        urn = resource.get("urn")
        outputs = resource.get("outputs") or {}
        if not isinstance(urn, str) or not isinstance(outputs, Mapping):
            raise OperatorError(
                f"`pulumi stack export`: a resource ({_shown(urn)}) has no readable outputs; the state may "
                "be damaged: check it with `pulumi stack export`"
            )
        named[urn.rsplit("::", 1)[-1]] = outputs
    return named


def _state_clients(resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Every client the state holds a record or connection of (business ID -> ERP): a first `up` that failed
    leaves registered clients and connections in the state, and no stack outputs at all."""
    found: dict[str, str] = {}
    for resource in resources:
        kind, urn = resource.get("type"), str(resource.get("urn", ""))
        name = urn.rsplit("::", 1)[-1]
        if kind == COMPANY_TYPE and name.endswith("-company"):
            outputs = resource.get("outputs") or {}
            erp = _text(outputs.get("erp")) if isinstance(outputs, Mapping) else None
            found.setdefault(name.removesuffix("-company"), erp or UNKNOWN)
        elif isinstance(kind, str) and kind in INTEGRATION_TYPES:
            erp = INTEGRATION_TYPES[kind]
            if name.endswith(f"-{erp}"):
                found[name.removesuffix(f"-{erp}")] = erp
    return found


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)[:80] if value is not None else "no URN"


def _summaries(outputs: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The stack output ``clients`` (business ID -> summary), checked: a shape this command cannot read is
    exit 2, never an empty report."""
    if not isinstance(outputs, Mapping):
        raise OperatorError(
            f"`pulumi stack output --json` answered {type(outputs).__name__}, not the stack's outputs as a "
            "mapping: is this a roster stack?"
        )
    clients = outputs.get("clients")
    if clients is None:
        return {}
    if not isinstance(clients, Mapping):
        raise OperatorError(
            f"the stack output `clients` is {type(clients).__name__}, not a mapping of business ID to "
            "client: is this a roster stack? (`pulumi stack output clients` shows it)"
        )
    for business_id, summary in clients.items():
        if not isinstance(summary, Mapping):
            raise OperatorError(
                f"the stack output `clients` has {_shown(business_id)} as {type(summary).__name__}, not a "
                "client's summary: is this a roster stack? (`pulumi stack output clients` shows it)"
            )
    return dict(clients)


def _text(value: object) -> str | None:
    """A plain output value as text; a secret (an encrypted mapping) or nothing is None."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _age_days(since: str | None, now: dt.datetime) -> int | None:
    if since is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(since)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0, (now - moment).days)


def client_statuses(
    outputs: Mapping[str, Any],
    resources: Sequence[Mapping[str, Any]],
    rotate_after: int | None,
    *,
    now: dt.datetime,
) -> list[ClientStatus]:
    """Every client of the stack outputs and of the state, with what the state says; in business-ID order.

    The state counts as much as the outputs: a first `up` that failed leaves registered clients (and maybe a
    broken connection) in the state and no outputs, and they are shown with their problems. An output or
    state this command cannot read is an OperatorError (exit 2); only a stack with neither outputs nor a
    client in its state is empty."""
    clients = _summaries(outputs)
    listed = outputs.get("rosterClients")
    roster_names = (
        {str(k): v.get("name") for k, v in listed.items() if isinstance(v, Mapping)}
        if isinstance(listed, Mapping)
        else {}
    )
    named = _by_name(resources)
    in_state = _state_clients(resources)
    if not clients and not in_state and "clients" not in outputs:
        raise OperatorError(
            "the stack has no `clients` output and no client in its state: run `pulumi up` first, or check "
            "the stack (--stack) is a roster stack"
        )
    rows: list[ClientStatus] = []
    for business_id in sorted({*clients, *in_state}):
        summary = clients.get(business_id, {})
        erp = _text(summary.get("erp")) or in_state.get(business_id) or UNKNOWN
        company = named.get(f"{business_id}-company", {})
        integration = named.get(f"{business_id}-{erp}", {})
        health = (
            _text(summary.get("erpHealth"))
            or _text(integration.get("erp_health"))
            or _text(integration.get("health"))
            or UNKNOWN
        )
        verified = _text(summary.get("connectedAt")) or _text(integration.get("connected_at"))
        rotated = _text(summary.get("credentialsRotatedAt")) or _text(
            integration.get("credentials_rotated_at")
        )
        predictions = integration.get("dimension_predictions") or summary.get("predictions") or {}
        # As provider.program's RosterClient.status: the integration's progress, else the company's.
        stage = (
            _text(integration.get("client_status"))
            or _text(company.get("training"))
            or _text(summary.get("status"))
            or UNKNOWN
        )
        row = ClientStatus(
            business_id=business_id,
            name=_text(company.get("name")) or _text(integration.get("client_name")) or "",
            erp=erp,
            portal_id=_portal_id(summary.get("portalId"), company.get("portal_id")),
            portal=_text(company.get("status")) or UNKNOWN,
            stage=stage,
            connection=_text(integration.get("status")) or _text(summary.get("connection")) or "NONE",
            erp_health=health,
            verified=verified,
            rotated=rotated,
            age_days=_age_days(rotated or verified, now),
            rotate_after_days=rotate_after,
            predictions={str(k): str(v) for k, v in predictions.items()}
            if isinstance(predictions, Mapping)
            else {},
        )
        roster_name = roster_names.get(business_id)
        if company and isinstance(roster_name, str) and row.name and row.name != roster_name:
            row.roster_name = roster_name
        row.problems = problems_of(row)
        rows.append(row)
    return rows


def _portal_id(*candidates: object) -> int | None:
    """The first of ``candidates`` that is a portal id (the stack output's, then the state's)."""
    return next((c for c in candidates if isinstance(c, int) and not isinstance(c, bool)), None)


def problems_of(row: ClientStatus) -> list[str]:
    problems: list[str] = []
    if row.roster_name is not None:
        problems.append(
            f"named {row.name!r} in the portal, {row.roster_name!r} in the roster (changed by hand? "
            "`pulumi up` puts the roster's back)"
        )
    if row.stage in BAD_STAGES:
        problems.append(f"stage {row.stage}")
    if row.connection != "ACTIVE":
        problems.append(f"connection {row.connection}")
    if row.erp_health.upper() not in HEALTHY:
        problems.append(f"ERP health: {row.erp_health}")
    for dimension, state in sorted(row.predictions.items()):
        if state in BAD_PREDICTIONS:
            problems.append(f"{dimension} predictions {state}")
    if (
        row.rotate_after_days is not None
        and row.age_days is not None
        and row.age_days > row.rotate_after_days
    ):
        problems.append(f"credentials {row.age_days} days old (rotate after {row.rotate_after_days})")
    return problems


def select(
    rows: Sequence[ClientStatus], *, filters: Mapping[str, str], erp: str | None, problems_only: bool
) -> list[ClientStatus]:
    def keep(row: ClientStatus) -> bool:
        if erp is not None and row.erp != erp:
            return False
        if problems_only and not row.problems:
            return False
        return all(row.cell(column).casefold() == value.casefold() for column, value in filters.items())

    return [row for row in rows if keep(row)]


def sort(rows: Sequence[ClientStatus], column: str | None, *, reverse: bool) -> list[ClientStatus]:
    if column is None:
        return list(reversed(rows)) if reverse else list(rows)
    key: Callable[[ClientStatus], tuple[int, Any]]
    if column in ("age_days", "rotate_after_days"):
        # Numbers as numbers; an unknown age sorts last.
        key = lambda row: (getattr(row, column) is None, getattr(row, column) or 0)  # noqa: E731
    elif column == "problems":
        key = lambda row: (0, len(row.problems))  # noqa: E731
    else:
        key = lambda row: (0, row.cell(column).casefold())  # noqa: E731
    return sorted(rows, key=key, reverse=reverse)


_STYLE: Final = {
    "IN_PRODUCTION": "green",
    "TRAINING": "yellow",
    "CONNECTING": "cyan",
    "FAILED": "red",
    "INACTIVE": "red",
}


def table(rows: Sequence[ClientStatus]) -> Table:
    from rich.markup import escape

    shown = len(rows)
    with_problems = sum(1 for row in rows if row.problems)
    result = Table(
        title=f"{shown} client{'s' if shown != 1 else ''}, {with_problems} with problems",
        header_style="bold",
    )
    for key, heading in COLUMNS.items():
        result.add_column(heading, overflow="fold", justify="right" if key.endswith("days") else "left")
    for row in rows:
        cells = [escape(row.cell(key)) for key in COLUMNS]
        stage = list(COLUMNS).index("stage")
        cells[stage] = f"[{_STYLE.get(row.stage, 'white')}]{cells[stage]}[/]"
        if row.problems:
            cells[-1] = f"[red]{cells[-1]}[/]"
        result.add_row(*cells)
    return result
