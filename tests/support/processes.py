"""The processes of a run, read from /proc (Linux): who descends from whom, what each runs, whether it lives.

    tree = descendants(cli.pid)            # {pid: command line} of every process below the CLI
    wait_until_gone(tree, seconds=30)      # the pids still alive after a bounded wait ({} if none)

A zombie (ended, not yet reaped: an orphan waits for PID 1 to reap it) counts as gone: it runs nothing.
"""

from __future__ import annotations

import time
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ")".
    return text[text.rindex(")") + 2 :].split()


def command_line(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", errors="replace").strip()


def alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> dict[int, str]:
    """Every living process below ``pid`` (children, their children...), with its command line."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: dict[int, str] = {}
    todo = list(children.get(pid, []))
    while todo:
        current = todo.pop()
        if alive(current):
            found[current] = command_line(current)
        todo.extend(children.get(current, []))
    return found


def matching(text: str) -> dict[int, str]:
    """Every living process whose command line contains ``text``."""
    found: dict[int, str] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            line = command_line(int(entry.name))
            if text in line:
                found[int(entry.name)] = line
    return found


def wait_until_gone(processes: dict[int, str], seconds: float) -> dict[int, str]:
    """Waits at most ``seconds`` for every one of ``processes`` to end; returns those still alive."""
    deadline = time.monotonic() + seconds
    while True:
        left = {pid: line for pid, line in processes.items() if alive(pid)}
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.2)
