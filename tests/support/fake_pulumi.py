"""A stand-in ``pulumi`` executable that records every call, for fast tests of commands that run the CLI.

Each call is recorded as one JSON line: its arguments (as the list the program passed), what it read on stdin
and the passphrase variables and a few other PULUMI_ settings it was given, so a test can prove a secret went
on stdin and never on a command line. ``stack ls --json`` answers the stacks named in ``stacks``; a call whose
arguments contain ``fail_on`` fails as the CLI does (a message on stderr, exit status ``fail_status``: 1, or 7
as for changes found where ``--expect-no-changes`` expected none); the stack's reads answer what a test serves
(``answers_url``); every other call succeeds and prints nothing.
It plays no engine: tests of what the real CLI makes of the result run it (tests/cli/test_init_cli.py).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCRIPT = """#!{python}
import json, os, sys
args = sys.argv[1:]
here = {folder!r}
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
record = {{
    "args": args,
    "stdin": stdin,
    "env": {{k: v for k, v in os.environ.items() if k.startswith("PULUMI_CONFIG_PASSPHRASE")
            or k in ("PULUMI_BACKEND_URL", "PULUMI_SKIP_CHECKPOINTS", "PULUMI_SKIP_CONFIRMATIONS")}},
}}
with open(os.path.join(here, "calls.jsonl"), "a", encoding="utf-8") as log:
    log.write(json.dumps(record) + "\\n")
with open(os.path.join(here, "settings.json"), encoding="utf-8") as settings:
    settings = json.load(settings)
fail_on = settings["fail_on"]
if fail_on and fail_on in " ".join(args):
    sys.stderr.write("error: the stand-in fails on " + fail_on + " as asked\\n")
    sys.exit(settings["fail_status"])
if args[:2] == ["stack", "ls"]:
    print(json.dumps([{{"name": name}} for name in settings["stacks"]]))
stack_reads = (["stack", "output"], ["stack", "export"])
reads = args[:2] in stack_reads or (args[:1] == ["config"] and "--json" in args)
if settings["answers_url"] and reads:
    import urllib.request
    asked = urllib.request.Request(settings["answers_url"], data=json.dumps(args).encode(), method="POST")
    with urllib.request.urlopen(asked) as answer:
        sys.stdout.write(answer.read().decode("utf-8"))
"""


@dataclass
class FakePulumi:
    folder: Path

    def calls(self) -> list[dict[str, Any]]:
        log = self.folder / "calls.jsonl"
        if not log.is_file():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def commands(self) -> list[list[str]]:
        """Each call's arguments up to the first flag (``["config", "set"]``, ``["stack", "init", "x"]``)."""
        found = []
        for call in self.calls():
            words: list[str] = []
            for arg in call["args"]:
                if arg.startswith("-"):
                    break
                words.append(arg)
            found.append(words)
        return found


def install_fake_pulumi(
    folder: Path,
    *,
    stacks: tuple[str, ...] = (),
    fail_on: str | None = None,
    fail_status: int = 1,
    answers_url: str | None = None,
) -> FakePulumi:
    """Writes ``folder/pulumi``; put ``folder`` first on PATH. With ``answers_url``, the stack's reads
    (``config --json``, ``stack output --json``, ``stack export``) print what that URL answers to a POST of
    the call's arguments (a JSON list): a test serves its stack's config, outputs and state from there."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "pulumi"
    script.write_text(_SCRIPT.format(python=sys.executable, folder=str(folder)), encoding="utf-8")
    script.chmod(0o755)
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "stacks": list(stacks),
                "fail_on": fail_on,
                "fail_status": fail_status,
                "answers_url": answers_url,
            }
        ),
        encoding="utf-8",
    )
    assert os.access(script, os.X_OK)
    return FakePulumi(folder)
