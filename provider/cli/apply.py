"""``fabricai-roster preview``, ``up`` and ``refresh``: the Pulumi commands, run the way a roster of any size
should be run.

The local and self-managed backends (a folder, PostgreSQL, S3) save the whole state after every step at
Pulumi v3.274.0, so the work of a run grows with the square of the roster (docs/PERFORMANCE.md); a preview
even saves and throws away its own, and a refresh is an update too (``pulumi refresh --preview-only`` as
much as a preview). The three commands therefore run ``pulumi`` with ``PULUMI_SKIP_CHECKPOINTS=true`` (the
state is saved once, at the end) and ``--non-interactive`` (no live display to redraw every row). Skipping
checkpoints is free for a preview, which saves nothing. For an ``up`` it is safe because the portal is the
truth: a run killed half-way leaves its changes out of the state, and the next run finds every record this
stack registered by its identity tag and hands each connection over again (a PUT replaces), so nothing is
registered twice or left behind (benchmarks/cli_kill.py). ``up`` shows the plan first (``pulumi preview``),
asks before it changes anything (``--yes`` for scripts; without a terminal and without ``--yes`` it refuses at
once, before it pins or previews), then applies it (``pulumi up --yes --skip-preview``).
Before that, ``up`` pins the stack's identity in its settings (``roster:stackId``: the one in state, else a
new one): without checkpoints, a first run killed half-way would lose the identity it made with its state, and
its records, tagged with it, would be nobody's (benchmarks/cli_kill.py found this). A plain ``pulumi up``
still works; it is only slower on large rosters. Exit status: pulumi's failure is 1.

``refresh`` shows what a refresh would record (``pulumi refresh --preview-only``), asks, then records it
(``pulumi refresh --yes --skip-preview``); with ``--preview-only`` it only shows, which with
``-- --expect-no-changes`` is the nightly drift check. ``--yes`` (scripts) records in one pass, without
showing first: unlike an ``up``'s plan, a refresh's preview does the refresh's whole work (each client's
record read, each connection re-verified at the ERPs' pace), so showing first would double it. Skipping
checkpoints is safe for a refresh: it only reads (the provider's ``read``: the portal's records, and the ERP
side through a re-verification) and never calls create, update or delete, so it changes no client, connection
or key in the portal; a refresh killed half-way records nothing in the state (one that fails, what it read
before it failed), and is simply run again. ``--preview-only`` runs without ``PULUMI_SKIP_CONFIRMATIONS``
(pulumi takes it for ``--yes``, which ``--preview-only`` refuses). Exit status, as every operator command's (0
all well, 1 problems found, 2 the command could not do its job): drift found with ``-- --expect-no-changes``
(pulumi's exit status 7) is 1, the changes listed above it; any other failure of pulumi is 2 (the refresh
could not be done: its message says why). A nightly job alerts on both.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from provider.cli import render
from provider.cli.stack import OperatorError, Stack, find_pulumi
from provider.program import STACK_ID_OUTPUT
from provider.resources.stack_identity import STACK_ID_KEY, new_identity

# What every run gets (the reasons are in the module docstring).
ENVIRONMENT = {"PULUMI_SKIP_CHECKPOINTS": "true"}
FLAGS = ("--non-interactive",)
AGAIN = (
    "Run the same command again when the cause is fixed: a killed or failed run leaves nothing twice in the "
    "portal (the next run finds this stack's records by their tag)."
)
REFRESH_AGAIN = (
    "Nothing in the portal was changed (a refresh only reads it): run the same command again when the cause "
    "is fixed."
)
# What `pulumi refresh --preview-only` must not be given: pulumi takes it for --yes, which it refuses.
NOT_FOR_PREVIEW_ONLY = ("PULUMI_SKIP_CONFIRMATIONS",)
# Pulumi's exit status for changes found where `--expect-no-changes` expected none (ExitNoChanges in the CLI's
# exit code taxonomy, cmd/pulumi/cmd/exit_codes.go, "stable once released"): for a refresh, drift.
PULUMI_CHANGES_NOT_EXPECTED = 7


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, summary in (
        ("preview", "show what `pulumi up` would change (pulumi preview, fast at any roster size)"),
        ("up", "show the plan, ask, then apply it (pulumi up, fast at any roster size)"),
    ):
        parser = commands.add_parser(
            name,
            help=summary,
            description=f"{summary}. Pulumi's own output follows. Anything after `--` goes to pulumi "
            "as it is (e.g. `-- --diff`, `-- --target URN`).",
        )
        if name == "up":
            parser.add_argument("--yes", "-y", action="store_true", help="apply without asking (scripts)")
        parser.add_argument("pulumi_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(run=run, command=name)
    summary = (
        "show what a refresh would record, ask, then record it (pulumi refresh, fast at any roster size)"
    )
    parser = commands.add_parser(
        "refresh",
        help=summary,
        description=f"{summary}. It reads the portal and the ERPs, and changes no client, connection or "
        "key there. Pulumi's own output follows. Anything after `--` goes to pulumi as it is: the nightly "
        "drift check is `refresh --preview-only -- --expect-no-changes` (exit 1 on drift, 2 when the "
        "refresh failed).",
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="record in one pass, without showing or asking first (scripts)",
    )
    only.add_argument(
        "--preview-only", action="store_true", help="only show what it would record (the drift check)"
    )
    parser.add_argument("pulumi_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.set_defaults(run=run_refresh, command="refresh")


def pulumi_command(stack: Stack, verb: Sequence[str], extra: Sequence[str]) -> list[str]:
    command = [find_pulumi(), *verb, *FLAGS, *extra]
    if stack.name:
        command += ["--stack", stack.name]
    return command


def _run(stack: Stack, command: list[str], *, without: Sequence[str] = ()) -> int:
    given = stack.env if stack.env is not None else os.environ
    environment = {**{k: v for k, v in given.items() if k not in without}, **ENVIRONMENT}
    try:
        # Pulumi's own output goes straight to the operator (stdout and stderr inherited).
        return subprocess.run(command, cwd=stack.cwd, env=environment, check=False).returncode  # noqa: S603
    except OSError as error:
        raise OperatorError(f"`pulumi` could not be run: {error.strerror}") from None


UP_ASKS = "`fabricai-roster up` asks before it changes anything"
REFRESH_ASKS = "`fabricai-roster refresh` asks before it records"


def _can_ask(refusal: str) -> None:
    """Refuse at once, before any pin or preview, where the question could not be answered (no terminal)."""
    if not sys.stdin.isatty():
        raise OperatorError(f"{refusal}: pass --yes in scripts")


def _confirmed(question: str, refusal: str) -> bool:
    _can_ask(refusal)
    answer = input(f"{question} [y/N] ")
    return answer.strip().casefold() in ("y", "yes")


def identity_in_state(stack: Stack) -> str | None:
    """The identity the stack's state holds: its output, else its StackIdentity resource (a run that failed
    before its outputs were written); None for a stack that has none yet."""
    try:
        shown = stack.outputs().get(STACK_ID_OUTPUT)
    except OperatorError:
        shown = None
    if isinstance(shown, str) and shown:
        return shown
    try:
        resources = stack.resources()
    except OperatorError:  # unreadable: a new pin that differs from the state's stops the run, named
        resources = []
    for resource in resources:
        if str(resource.get("type", "")).endswith(":StackIdentity"):
            kept = (resource.get("outputs") or {}).get("stack_id") or resource.get("id")
            if isinstance(kept, str) and kept:
                return kept
    return None


def pin_identity(stack: Stack) -> str | None:
    """Pin the stack's identity in its settings unless it is; the identity pinned now, or None."""
    if stack.config(secrets=False).get(STACK_ID_KEY):
        return None
    identity = identity_in_state(stack) or new_identity(stack.stack_name())
    stack.set_config(STACK_ID_KEY, identity)
    return identity


def _pulumi_args(args: argparse.Namespace) -> list[str]:
    return [arg for arg in args.pulumi_args if arg != "--"]


def run(args: argparse.Namespace, stack: Stack) -> int:
    extra = _pulumi_args(args)
    err = render.stderr()
    if args.command == "up":
        if not args.yes:
            _can_ask(UP_ASKS)
        pinned = pin_identity(stack)
        if pinned is not None:
            err.print(
                f"The stack's identity {pinned} is now pinned in its settings ({STACK_ID_KEY}): commit "
                "stacks/Pulumi.<stack>.yaml, so that a lost state still finds this stack's portal records."
            )
    preview = _run(stack, pulumi_command(stack, ["preview"], extra))
    if preview != 0:
        err.print(f"[bold red]pulumi preview failed (exit status {preview}); nothing was changed.[/]")
        return render.PROBLEMS
    if args.command == "preview":
        return render.OK
    if not args.yes and not _confirmed("Apply these changes?", UP_ASKS):
        err.print("Nothing was changed.")
        return render.OK
    applied = _run(stack, pulumi_command(stack, ["up", "--yes", "--skip-preview"], extra))
    if applied != 0:
        err.print(f"[bold red]pulumi up failed (exit status {applied}).[/] {AGAIN}")
        return render.PROBLEMS
    return render.OK


def run_refresh(args: argparse.Namespace, stack: Stack) -> int:
    extra = _pulumi_args(args)
    err = render.stderr()
    if args.yes:  # one pass: its preview would read and re-verify everything a second time
        return _record(stack, extra)
    if not args.preview_only:
        _can_ask(REFRESH_ASKS)
    shown = _run(
        stack, pulumi_command(stack, ["refresh", "--preview-only"], extra), without=NOT_FOR_PREVIEW_ONLY
    )
    if shown == PULUMI_CHANGES_NOT_EXPECTED:
        command = render.escape(f"fabricai-roster --stack {stack.name}" if stack.name else "fabricai-roster")
        err.print(
            f"[bold red]Drift: the portal or a client's ERP no longer matches the state[/] (pulumi's exit "
            f"status {shown}: changes where --expect-no-changes expected none, each listed above); nothing "
            f"was recorded. `{command} refresh --yes` records them (then `{command} status` shows each "
            f"client that differs, with its fix); `{command} up` puts the roster's values back."
        )
        return render.PROBLEMS
    if shown != 0:
        err.print(
            f"[bold red]pulumi refresh --preview-only failed (exit status {shown}); nothing was recorded.[/] "
            f"{REFRESH_AGAIN}"
        )
        return render.FAILED
    if args.preview_only:
        return render.OK
    if not _confirmed("Record these changes in the state?", REFRESH_ASKS):
        err.print("Nothing was recorded.")
        return render.OK
    return _record(stack, extra)


def _record(stack: Stack, extra: Sequence[str]) -> int:
    recorded = _run(stack, pulumi_command(stack, ["refresh", "--yes", "--skip-preview"], extra))
    if recorded != 0:
        render.stderr().print(f"[bold red]pulumi refresh failed (exit status {recorded}).[/] {REFRESH_AGAIN}")
        return render.FAILED
    return render.OK
