"""``fabricai-roster doctor [BUSINESS_ID...]``: the live checks of some or all clients, read-only.

For each client: the portal (its record by business ID, the ERP it is set to, its connection) and then
the very checks the integration runs before connecting, with the keys of the stack's config: FabricAI's
(``POST /clients/{id}/connection/verify``, read-only; a firm's stack) or, in partner mode, the provider's
own (``provider.procountor.checks.check_api_key``, ``provider.netvisor.checks.check_company``). Their
findings are worded as ``pulumi up`` words them. Nothing is written anywhere.
Clients are checked one after another (Netvisor wants one request at a time per customer environment;
Procountor's pace is kept by its client). Each problem comes with its fix.

Exit status: 0 every client checked passed, 1 some failed (listed with their fixes), 2 the command could
not run (config unreadable, an unknown business ID...).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from provider.business_id import BusinessId, InvalidBusinessId
from provider.cli import render
from provider.cli.config import roster_of, settings_of
from provider.cli.stack import OperatorError, Stack
from provider.context import ProviderContext
from provider.errors import FabricaiRosterError, PrerequisiteFailed
from provider.netvisor.checks import check_company, describe_credentials
from provider.netvisor.client import Company
from provider.portal.models import ListedClient
from provider.procountor.checks import check_api_key
from provider.redaction import redact_error
from provider.resources.netvisor_inputs import credentials
from provider.roster import ClientEntry, Erp, Roster
from provider.verification.findings import Verification
from provider.verification.messages import Subject, explain


@dataclass(frozen=True)
class Finding:
    client: str
    message: str
    fix: str | None


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "doctor",
        help="run the live checks of some or all clients (read-only)",
        description="Check clients live, read-only: their portal record and connection, and every "
        "prerequisite of the onboarding guide in their ERP, with the keys in the stack's config. Nothing is "
        "written anywhere. Exit status 0: all passed; 1: problems (each with its fix); 2: could not run.",
    )
    parser.add_argument("business_ids", nargs="*", metavar="BUSINESS_ID", help="only these clients")
    parser.set_defaults(run=run)


def chosen(roster: Roster, wanted: Sequence[str]) -> list[ClientEntry]:
    if not wanted:
        return list(roster.clients)
    by_id = {client.business_id: client for client in roster.clients}
    picked: list[ClientEntry] = []
    for written in wanted:
        try:
            business_id = BusinessId(written)
        except InvalidBusinessId as error:
            raise OperatorError(str(error)) from None
        if business_id not in by_id:
            raise OperatorError(f"{business_id} is not a client of the roster")
        picked.append(by_id[business_id])
    return picked


def check_client(context: ProviderContext, roster: Roster, client: ClientEntry) -> list[Finding]:
    """The portal read and the ERP prerequisites of one client; its problems (none: healthy)."""
    findings: list[Finding] = []
    label = client.label
    record: ListedClient | None = None
    try:
        record = context.portal.find(str(client.business_id))
        if record is None:
            findings.append(
                Finding(
                    label,
                    "is not registered in the portal",
                    "run `pulumi up` (with `adopt: true` if someone registers it by hand)",
                )
            )
        else:
            if record.system and record.system != client.erp.value:
                findings.append(
                    Finding(
                        label,
                        f"the portal has it on {record.system}, the roster on {client.erp.value}",
                        "run `pulumi up` to move it, or correct `erp` in the roster",
                    )
                )
            if context.portal.connections.get(record.id) is None:
                findings.append(Finding(label, "has no ERP connection in the portal", "run `pulumi up`"))
    except FabricaiRosterError as error:
        findings.append(_finding(label, error, context.settings.secrets()))
    try:
        verification = erp_verification(context, roster, client, record)
        if verification is None:
            findings.append(
                Finding(
                    label,
                    "its ERP credentials were not checked: the FabricAI portal verifies them through the "
                    "client's record, and it has none yet",
                    "run `pulumi up`: it registers the client and the portal verifies its credentials first",
                )
            )
        elif not verification.passed:
            findings.append(_finding(label, explain(verification, subject_of(context, roster, client))))
    except FabricaiRosterError as error:
        findings.append(_finding(label, error, context.settings.secrets()))
    return findings


def erp_verification(
    context: ProviderContext, roster: Roster, client: ClientEntry, record: ListedClient | None
) -> Verification | None:
    """The guide's checks of the client's ERP credentials as stack config holds them: FabricAI's through the
    client's record (None: no record yet), or the provider's own in partner mode."""
    system = client.erp.value
    local = context.settings.verification_for(system) == "local"
    if client.erp is Erp.PROCOUNTOR:
        key = roster.api_key_for(client).get_secret_value()
        if local:
            return check_api_key(
                context.procountor,
                api_key=key,
                business_id=str(client.business_id),
                dimensions=client.dimensions,
            )
        sent = {"apiKey": key}
    else:
        pair = roster.credentials_for(client)
        if local:
            return check_company(
                context.netvisor,
                credentials(pair.customer_id, pair.customer_key.get_secret_value()),
                Company(business_id=client.business_id, label=client.label),
                dimensions=client.dimensions,
            )
        sent = {"customerId": pair.customer_id, "customerKey": pair.customer_key.get_secret_value()}
    if record is None:
        return None
    return context.portal.connections.verify(record.id, system, sent, client.dimensions)


def subject_of(context: ProviderContext, roster: Roster, client: ClientEntry) -> Subject:
    system = client.erp.value
    named = (
        describe_credentials(roster.credentials_for(client).customer_id, client.netvisor_credentials)
        if client.erp is Erp.NETVISOR
        else ""
    )
    secret = (
        roster.credentials_for(client).customer_key
        if client.erp is Erp.NETVISOR
        else roster.api_key_for(client)
    )
    return Subject(
        label=client.label,
        business_id=str(client.business_id),
        system=system,
        verified_by=context.settings.verification_for(system),
        credentials_name=named,
        access_key=context.settings.netvisor_access_key,
        hide=(secret.get_secret_value(),),
    )


def _finding(label: str, error: FabricaiRosterError, secrets: Iterable[str] = ()) -> Finding:
    """The finding an error makes, without any of ``secrets`` (the portal may quote a key it holds)."""
    if isinstance(error, PrerequisiteFailed):
        return Finding(label, error.cause, error.fix)
    redact_error(error, secrets)
    message = str(error)
    prefix = f"{label}: "
    return Finding(label, message.removeprefix(prefix), None)


def run(args: argparse.Namespace, stack: Stack) -> int:
    config = stack.config(secrets=True)
    roster = roster_of(config, stack.cwd)  # a relative roster:clientsFile is read from the project
    clients = chosen(roster, args.business_ids)
    context = ProviderContext(settings_of(config))
    findings: list[Finding] = []
    healthy = 0
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=render.stderr(),
        transient=True,
    ) as progress:
        task = progress.add_task("checking", total=len(clients))
        for client in clients:
            progress.update(task, description=f"checking {client.label}")
            found = check_client(context, roster, client)
            findings += found
            healthy += not found
            progress.advance(task)
    out = render.stdout()
    for finding in findings:
        out.print(render.problem_line(finding.client, finding.message, finding.fix))
    broken = len(clients) - healthy
    if broken:
        out.print(f"[bold red]{broken} of {len(clients)} clients have problems[/] (nothing was changed).")
        return render.PROBLEMS
    out.print(f"[bold green]✓[/] all {len(clients)} clients passed every check (nothing was changed).")
    return render.OK
