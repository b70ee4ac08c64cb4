"""``fabricai-roster validate``: the roster checks of the program, offline; every problem listed.

The stack's config is read through ``pulumi config --json --show-secrets`` (the keys are checked for
presence and form, never shown) and parsed by ``provider.roster.parse_roster``, as ``pulumi up`` would.
"""

from __future__ import annotations

import argparse

from provider.cli import render
from provider.cli.config import roster_of
from provider.cli.stack import Stack
from provider.errors import RosterInvalid
from provider.roster import Erp


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "validate",
        help="check the stack's roster offline, as `pulumi up` would",
        description="Check the roster in the stack's config offline, exactly as the program does, and "
        "list every problem. Exit status 0: valid; 1: problems (listed); 2: the config could not be read.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, stack: Stack) -> int:
    out = render.stdout()
    try:
        roster = roster_of(stack.config(secrets=True))
    except RosterInvalid as invalid:
        count = len(invalid.problems)
        out.print(f"[bold red]The roster has {count} problem{'s' if count != 1 else ''}:[/]")
        for problem in invalid.problems:
            out.print(
                render.problem_line(
                    problem.entry, (f"{problem.field}: " if problem.field else "") + problem.message
                )
            )
        return render.PROBLEMS
    by_erp = {erp: sum(1 for c in roster.clients if c.erp is erp) for erp in Erp}
    out.print(
        f"[bold green]✓[/] The roster is valid: {len(roster.clients)} clients "
        f"({by_erp[Erp.PROCOUNTOR]} Procountor, {by_erp[Erp.NETVISOR]} Netvisor), "
        f"{len(roster.netvisor_credentials)} Netvisor credential set(s)."
    )
    return render.OK
