"""``fabricai-roster validate``: the roster checks of the program, offline; every problem listed.

The stack's config is read through ``pulumi config --json --show-secrets`` (the keys are checked for
presence and form, never shown) and parsed as the program parses it (``parse_stack_config``: every key, so
a misspelt roster key is named; ``roster:clientsFile`` from the project root; no secret's value anywhere in
an entry), then the provider settings the roster needs are checked (``required_settings``), as ``pulumi
preview`` would: every problem at once, each with its fix.
"""

from __future__ import annotations

import argparse
from collections import Counter

from provider.cli import render
from provider.cli.config import roster_of
from provider.cli.stack import Stack
from provider.errors import RosterInvalid, RosterProblem
from provider.roster import Erp, Roster
from provider.roster.required_settings import setting_problems


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
    config = stack.config(secrets=True)
    roster: Roster | None = None
    problems: list[RosterProblem] = []
    # Counted, not kept: a roster of 200,000 clients is checked in bounded memory (docs/PERFORMANCE.md).
    by_erp: Counter[Erp] = Counter()
    try:
        roster = roster_of(config, stack.cwd, on_client=lambda client: by_erp.update((client.erp,)))
    except RosterInvalid as invalid:
        problems += invalid.problems
    # The provider settings too, as the program checks them before declaring anything.
    problems += setting_problems(roster, config.get, erps=set(by_erp) if roster is not None else None)
    if problems:
        count = len(problems)
        out.print(f"[bold red]The roster has {count} problem{'s' if count != 1 else ''}:[/]")
        for problem in problems:
            out.print(
                render.problem_line(
                    problem.entry, (f"{problem.field}: " if problem.field else "") + problem.message
                )
            )
        return render.PROBLEMS
    assert roster is not None  # no roster problem: parsed
    out.print(
        f"[bold green]✓[/] The roster is valid: {by_erp.total()} clients "
        f"({by_erp[Erp.PROCOUNTOR]} Procountor, {by_erp[Erp.NETVISOR]} Netvisor), "
        f"{len(roster.netvisor_credentials)} Netvisor credential set(s); every provider setting it needs is "
        "set."
    )
    return render.OK
