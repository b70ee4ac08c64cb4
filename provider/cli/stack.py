"""A stack's config and outputs, read through the Pulumi CLI (so secrets stay in Pulumi's care).

Three reads, each one ``pulumi`` run with ``--json``:
- ``pulumi config --json [--show-secrets] --stack S``: the stack's config. With ``--show-secrets`` the
  decrypted values live only in this process's memory: they are never printed, logged or written;
- ``pulumi stack output --json --stack S``: the program's outputs (``provider.program.stack_outputs``);
- ``pulumi stack export --stack S``: the state (secrets stay encrypted in it), for what the stack outputs
  do not carry: each integration's ``connected_at`` and ``credentials_rotated_at``, and the company names.

A failure is an ``OperatorError`` naming the command and the CLI's own message (whose last lines only:
``pulumi`` never prints decrypted config in an error).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from provider.errors import FabricaiRosterError

PULUMI_TIMEOUT_SECONDS: Final = 300


class OperatorError(FabricaiRosterError):
    """The operator's command cannot go on (no Pulumi CLI, no such stack, an unreadable file...);
    the message says what to do. Exit status 2."""


def find_pulumi() -> str:
    """The ``pulumi`` on PATH, or an OperatorError saying how to get one."""
    found = shutil.which("pulumi")
    if found is None:
        raise OperatorError(
            "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) or put the "
            "folder holding `pulumi` first on PATH"
        )
    return found


@dataclass
class Stack:
    """One stack of a Pulumi project, read through the CLI run in ``cwd`` (the project folder)."""

    name: str | None = None
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    _config: dict[str, Any] | None = field(default=None, repr=False)

    def _run(self, *args: str) -> str:
        stack = ["--stack", self.name] if self.name else []
        return run_pulumi(self.cwd, self.env if self.env is not None else os.environ, [*args, *stack])

    def _json(self, *args: str) -> Any:
        text = self._run(*args)
        try:
            return json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            raise OperatorError(f"`pulumi {args[0]}` did not answer JSON") from None

    def config(self, *, secrets: bool) -> dict[str, Any]:
        """Every config key with its value (objects parsed); with ``secrets`` the decrypted values."""
        if secrets and self._config is not None:
            return self._config
        raw = self._json("config", "--json", *(["--show-secrets"] if secrets else []))
        config = config_values(raw)
        if secrets:
            self._config = config
        return config

    def set_config(self, key: str, value: str) -> None:
        """``pulumi config set KEY VALUE`` (a plain value: never a secret)."""
        self._run("config", "set", key, value)
        self._config = None

    def stack_name(self) -> str:
        """The stack's name: ``--stack``, else the selected one."""
        return self.name or self._run("stack", "--show-name").strip()

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs; anything but a mapping is an OperatorError (never read as "no clients")."""
        raw = self._json("stack", "output", "--json")
        if not isinstance(raw, dict):
            raise OperatorError(
                f"`pulumi stack output --json` answered {type(raw).__name__}, not the stack's outputs as a "
                "mapping: is this a roster stack?"
            )
        return raw

    def resources(self) -> list[dict[str, Any]]:
        """The resources of the stack's state (secrets encrypted), as ``pulumi stack export`` gives them; a
        shape that cannot be read is an OperatorError (a stack with no resources yet has none)."""
        raw = self._json("stack", "export")
        deployment = raw.get("deployment") if isinstance(raw, dict) else None
        if not isinstance(deployment, dict):
            raise OperatorError("`pulumi stack export` answered no deployment: the state cannot be read")
        resources = deployment.get("resources")
        if resources is None:
            return []
        if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
            raise OperatorError("`pulumi stack export` answered resources that cannot be read")
        return resources


def run_pulumi(
    cwd: Path | None,
    env: Mapping[str, str],
    args: Sequence[str],
    *,
    stdin: str | None = None,
    hide: Sequence[str] = (),
) -> str:
    """One ``pulumi ARGS --non-interactive`` run, its stdout: arguments as a list, a secret only ever on stdin
    (the operator's own stdin never: it may be a piped secret); an OperatorError with the CLI's last lines
    when it fails, each of ``hide`` masked (pulumi echoes no value read on stdin, but a backend URL it quotes
    may hold a password)."""
    command = [find_pulumi(), *args, "--non-interactive"]
    shown = " ".join(["pulumi", *args])
    try:
        done = subprocess.run(  # noqa: S603 - the pulumi binary found on PATH, an argument list
            command,
            cwd=cwd,
            env=dict(env),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=PULUMI_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise OperatorError(f"`{shown}` did not finish in {PULUMI_TIMEOUT_SECONDS} s") from None
    except OSError as error:
        raise OperatorError(f"`{shown}` could not be run: {error.strerror}") from None
    if done.returncode != 0:
        said = [line for line in done.stderr.strip().splitlines() if line.strip()][-3:]
        text = " ".join(said) or "no message"
        for secret in hide:
            if secret:
                text = text.replace(secret, "***")
        raise OperatorError(f"`{shown}` failed (exit status {done.returncode}): {text}{_hint(done.stderr)}")
    return done.stdout


def _hint(stderr: str) -> str:
    text = stderr.lower()
    if "no stack named" in text or ("no stack" in text and "select" in text):
        return " (list the stacks with `pulumi stack ls`; pass one with --stack)"
    if "passphrase" in text:
        return " (check PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE for this stack)"
    if "no pulumi.yaml" in text or "no project" in text:
        return " (run in the project folder, the one holding Pulumi.yaml, or pass --cwd)"
    return ""


def config_values(raw: object) -> dict[str, Any]:
    """``pulumi config --json``'s answer as key -> value: ``objectValue`` where the CLI parsed one,
    otherwise ``value`` (a JSON text is parsed, as ``pulumi.Config.get_object`` does)."""
    if not isinstance(raw, dict):
        raise OperatorError("`pulumi config --json` answered something other than a mapping")
    values: dict[str, Any] = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            continue
        if "objectValue" in entry:
            values[key] = entry["objectValue"]
            continue
        value = entry.get("value")
        if isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        values[key] = value
    return values


def stack_args(name: str | None, cwd: str | None) -> Sequence[str]:
    """How messages show the stack the command read (``--stack S --cwd D``)."""
    return [*(["--stack", name] if name else []), *(["--cwd", cwd] if cwd else [])]


def erp_name(written: str) -> str:
    """An ``--erp`` option's value as the roster reads ERP names (``Procountor``, ``NETVISOR``...); an unknown
    one stays as written, for argparse's own "invalid choice" message."""
    from provider.roster.models import erp_of

    erp = erp_of(written)
    return erp.value if erp is not None else written
