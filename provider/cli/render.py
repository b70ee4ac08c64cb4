"""The console the subcommands print to: rich on stdout (tables, progress) and messages on stderr."""

from __future__ import annotations

from typing import Final

from rich.console import Console
from rich.markup import escape

OK: Final = 0
PROBLEMS: Final = 1
FAILED: Final = 2


def stdout() -> Console:
    """Tables keep their width in a pipe or a file (rich would wrap them to 80 columns there)."""
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=False, width=160)
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def problem_line(where: str, message: str, fix: str | None = None) -> str:
    """One problem as rich markup, with its values escaped (a name may hold ``[brackets]``)."""
    text = f"[bold red]✗[/] [bold]{escape(where)}[/]: {escape(message)}"
    if fix:
        text += f"\n    [green]fix:[/] {escape(fix)}"
    return text


__all__ = ["FAILED", "OK", "PROBLEMS", "escape", "problem_line", "stderr", "stdout"]
