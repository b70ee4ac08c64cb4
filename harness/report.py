"""What a command of the whole-roster driver did, and a Pulumi-like account of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Operation:
    """What a command did to one resource. ``kind``: create, update, replace, same, delete, failed,
    skipped, drift (refresh found changes), gone (refresh found it deleted), read (refresh, no change)."""

    kind: str
    urn: str
    type: str
    name: str
    message: str = ""
    changed: tuple[str, ...] = ()

    @property
    def error(self) -> str:
        """The error without the traceback frames the engine prints above it."""
        return without_traceback(self.message)


@dataclass
class RunReport:
    """The outcome of one command, as the CLI would summarise it."""

    command: str
    operations: list[Operation] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    program_errors: list[str] = field(default_factory=list)
    provider_calls: dict[str, int] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[Operation]:
        return [operation for operation in self.operations if operation.kind in kinds]

    def names(self, *kinds: str) -> set[str]:
        return {operation.name for operation in self.of_kind(*kinds)}

    def failures(self) -> dict[str, str]:
        return {operation.name: operation.message for operation in self.of_kind("failed")}

    @property
    def succeeded(self) -> bool:
        return not self.program_errors and not self.of_kind("failed")

    def summary(self) -> str:
        """A Pulumi-like account of the run: one line per change, diagnostics, counts."""
        symbols = {
            "create": "+",
            "update": "~",
            "replace": "+-",
            "delete": "-",
            "failed": "**",
            "skipped": " ",
            "drift": "~",
            "gone": "-",
        }
        words = {"failed": "failed", "skipped": "skipped (a dependency failed)", "gone": "deleted outside"}
        lines = [f"$ pulumi {self.command}"]
        for operation in self.operations:
            if operation.kind in ("same", "read"):
                continue
            word = words.get(operation.kind, {"drift": "drifted"}.get(operation.kind, operation.kind + "d"))
            if operation.kind == "replace":
                word = "replaced"
            if operation.kind == "delete":
                word = "deleted"
            detail = f" [{', '.join(operation.changed)}]" if operation.changed else ""
            kind_name = operation.type.removeprefix("pulumi-python:dynamic/")
            lines.append(f" {symbols[operation.kind]:>2} {kind_name:<34} {operation.name:<24} {word}{detail}")
        diagnostics = self.program_errors + [
            f"{operation.type.removeprefix('pulumi-python:dynamic/')} ({operation.name}):\n"
            + _indent(operation.error)
            for operation in self.of_kind("failed")
        ]
        if diagnostics:
            lines += ["", "Diagnostics (provider traceback frames left out):"] + [
                f"  error: {_indent(text).lstrip()}" for text in diagnostics
            ]
        if self.outputs:
            lines += ["", "Outputs:"] + [
                f"    {key}: {json.dumps(_whole_numbers(value), ensure_ascii=False, sort_keys=True)}"
                for key, value in sorted(self.outputs.items())
            ]
        counts: dict[str, int] = {}
        for operation in self.operations:
            counts[operation.kind] = counts.get(operation.kind, 0) + 1
        lines += ["", "Resources:"] + [f"    {count} {kind}" for kind, count in sorted(counts.items())]
        return "\n".join(lines)


def without_traceback(details: str) -> str:
    """``traceback.format_exc()`` text (what the servicer sends) reduced to the exception and its message."""
    lines = details.splitlines()
    if not lines or not lines[0].startswith("Traceback"):
        return details
    start = next((i for i, line in enumerate(lines[1:], 1) if line and not line[0].isspace()), 0)
    return "\n".join(lines[start:])


def _whole_numbers(value: Any) -> Any:
    """Numbers as the CLI prints them (the wire turns every int into a float)."""
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())
