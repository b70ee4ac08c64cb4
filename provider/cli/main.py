"""The ``fabricai-roster`` entry point: argparse, the subcommands, and the one top-level handler.

Every failure leaves as a message on stderr and an exit status, never a traceback:
0 all is well; 1 problems found (listed); 2 the command could not do its job (usage included).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from provider.cli import apply, doctor, generate, init, render, status, validate
from provider.cli.stack import OperatorError, Stack
from provider.errors import FabricaiRosterError

DESCRIPTION = """\
The operator's command for a FabricAI roster stack. It reads the stack's config and outputs through the
Pulumi CLI (run it in the project folder, or pass --cwd), so secrets stay in Pulumi's care: they are held in
memory only, never printed or written.

exit status: 0 all is well, 1 problems found (each listed with its fix), 2 the command could not run.
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors leave with status 2 and one line, as every other failure."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        render.stderr().print(f"[bold red]error:[/] {message}", markup=True)
        raise SystemExit(render.FAILED)


def parser() -> argparse.ArgumentParser:
    root = _Parser(
        prog="fabricai-roster",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--stack", "-s", metavar="NAME", help="the stack (default: the selected stack)")
    root.add_argument("--cwd", "-C", metavar="DIR", type=Path, help="the Pulumi project folder (default: .)")
    commands: argparse._SubParsersAction[argparse.ArgumentParser] = root.add_subparsers(
        title="commands", metavar="COMMAND", required=True, parser_class=_Parser
    )
    validate.add_parser(commands)
    status.add_parser(commands)
    doctor.add_parser(commands)
    generate.add_parser(commands)
    init.add_parser(commands)
    apply.add_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stack = Stack(name=args.stack, cwd=args.cwd)
    err = render.stderr()
    try:
        if args.cwd is not None and not args.cwd.is_dir():
            raise OperatorError(
                f"--cwd {args.cwd}: no such folder (the Pulumi project folder, holding Pulumi.yaml)"
            )
        code: int = args.run(args, stack)
    except KeyboardInterrupt:
        err.print("[bold red]error:[/] interrupted")
        return render.FAILED
    except FabricaiRosterError as error:  # OperatorError included
        err.print("[bold red]error:[/] " + _escape(str(error)))
        return render.FAILED
    except Exception as error:  # noqa: BLE001 - the one top-level handler: a message, never a traceback
        err.print(
            f"[bold red]error:[/] unexpected {type(error).__name__}: "
            + _escape(str(error))
            + "\nPlease report this with the command you ran."
        )
        return render.FAILED
    return code


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def run() -> None:
    """The console script."""
    sys.exit(main())


if __name__ == "__main__":
    run()
