"""``fabricai-roster validate``: the roster checks of the program, offline; every problem listed.

The stack's config is read through ``pulumi config --json --show-secrets`` (the keys are checked for
presence and form, never shown) and parsed as the program parses it (``parse_stack_config``: every key, so
a misspelt roster key is named; ``roster:clientsFile`` from the project root; no secret's value anywhere in
an entry), then the provider settings the roster needs are checked (``required_settings``), as ``pulumi
preview`` would: every problem at once, each with its fix. The clients' keys still missing (a stack made
with ``init --keys-later``) are then listed as the ``pulumi config set`` commands that set them, runnable as
printed (each value typed at its prompt or given on stdin, never on the command line): init's own list.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from provider.business_id import BusinessId, InvalidBusinessId
from provider.cli import render
from provider.cli.config import roster_of
from provider.cli.generate import set_command
from provider.cli.stack import Stack, stack_args
from provider.errors import RosterInvalid, RosterProblem
from provider.roster import NETVISOR_CREDENTIALS, PROCOUNTOR_API_KEYS, ClientEntry, Erp, Roster
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
    missing = MissingKeys(config)

    def on_client(client: ClientEntry) -> None:
        by_erp.update((client.erp,))
        missing.see(client)

    try:
        roster = roster_of(config, stack.cwd, on_client=on_client)
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
                ),
                soft_wrap=True,  # one line each: a command in it is copied whole
            )
        commands = missing.commands(stack_args(stack.name, str(stack.cwd) if stack.cwd else None))
        if commands:
            out.print(
                "\nTo set the clients' keys still missing (each value typed at the prompt, or given on "
                "standard input; never on the command line):",
                soft_wrap=True,
            )
            for command in commands:
                out.print(f"  {render.escape(command)}", soft_wrap=True)
        return render.PROBLEMS
    assert roster is not None  # no roster problem: parsed
    out.print(
        f"[bold green]✓[/] The roster is valid: {by_erp.total()} clients "
        f"({by_erp[Erp.PROCOUNTOR]} Procountor, {by_erp[Erp.NETVISOR]} Netvisor), "
        f"{len(roster.netvisor_credentials)} Netvisor credential set(s); every provider setting it needs is "
        "set."
    )
    return render.OK


class MissingKeys:
    """The clients' keys the stack's config lacks, collected client by client (only the missing ones are
    kept: a roster of 200,000 clients stays in bounded memory)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        keys = config.get(PROCOUNTOR_API_KEYS)
        self.have_keys = {_business_id(str(k)) for k in keys} if isinstance(keys, Mapping) else set()
        sets = config.get(NETVISOR_CREDENTIALS)
        self.sets: Mapping[str, Any] = sets if isinstance(sets, Mapping) else {}
        self.procountor: dict[BusinessId, None] = {}
        self.netvisor: dict[str, None] = {}

    def see(self, client: ClientEntry) -> None:
        if client.erp is Erp.PROCOUNTOR and client.business_id not in self.have_keys:
            self.procountor[client.business_id] = None
        elif client.erp is Erp.NETVISOR and client.netvisor_credentials is not None:
            self.netvisor[client.netvisor_credentials] = None

    def commands(self, where: Sequence[str]) -> list[str]:
        """``pulumi config set`` for each missing key, in the stack's business-ID order, then each Netvisor
        credential set's missing part (its customer id in plain text, its key as a secret)."""
        found = [
            set_command("--secret", "--path", f'{PROCOUNTOR_API_KEYS}["{business_id}"]', *where)
            for business_id in sorted(self.procountor)
        ]
        for name in sorted(self.netvisor):
            pair = self.sets.get(name)
            pair = pair if isinstance(pair, Mapping) else {}
            for part, secret in (("customerId", False), ("customerKey", True)):
                if pair.get(part) in (None, ""):
                    path = f"{NETVISOR_CREDENTIALS}.{name}.{part}"
                    found.append(set_command(*(["--secret"] if secret else []), "--path", path, *where))
        return found


def _business_id(written: str) -> BusinessId | str:
    try:
        return BusinessId(written)
    except InvalidBusinessId:
        return written
