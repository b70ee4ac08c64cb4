"""The example stacks' settings: examples/Pulumi.<stack>.yaml plus the demo secrets beside them.

Used two ways:
- ``python -m scripts.example_config secret-paths STACK`` prints, for examples/walkthrough.sh, one
  ``<config path>\\0<value>\\0`` pair per demo secret, in the ``--path`` syntax of ``pulumi config set``
  (``roster:procountorApiKeys["2925630-9"]``), so the script can store each with ``--secret``;
- ``stack_config(stack, sandbox_url)`` gives the tests and benchmarks the same stack config as one
  mapping, secrets marked by the caller's ``secret`` wrapper, as the CLI would hand it to the program.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# The Pulumi program the example stacks run (Pulumi.yaml: main: stacks/); the engine driver is handed it.
PROGRAM = EXAMPLES.parent / "stacks" / "__main__.py"
SECRETS_FILE = EXAMPLES / "sandbox-secrets.yaml"


def stack_file(stack: str) -> Path:
    return EXAMPLES / f"Pulumi.{stack}.yaml"


def plain_config(stack: str) -> dict[str, Any]:
    """The ``config:`` section of examples/Pulumi.<stack>.yaml."""
    loaded: dict[str, Any] = yaml.safe_load(stack_file(stack).read_text(encoding="utf-8"))
    config: dict[str, Any] = loaded["config"]
    return config


def demo_secrets(stack: str) -> dict[str, Any]:
    """The demo secrets of one example stack, shaped like stack config."""
    loaded: dict[str, dict[str, Any]] = yaml.safe_load(SECRETS_FILE.read_text(encoding="utf-8"))
    return loaded[stack]


def sandbox_urls(sandbox_url: str) -> dict[str, str]:
    """The provider settings that point every service at a sandbox listening on ``sandbox_url``."""
    return {
        "fabricai:portalUrl": f"{sandbox_url}/portal",
        "procountor:baseUrl": f"{sandbox_url}/procountor/api",
        "netvisor:baseUrl": f"{sandbox_url}/netvisor",
    }


def secret_paths(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Leaves of a secret config value as (``pulumi config set --path`` path, value)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from secret_paths(item, f"{path}[{json.dumps(str(key))}]")
    else:
        yield path, str(value)


def _merge(plain: Any, secret: Any) -> Any:
    if isinstance(plain, Mapping) and isinstance(secret, Mapping):
        return {key: _merge(plain.get(key), secret.get(key)) for key in {*plain, *secret}}
    return plain if secret is None else secret


def stack_config(stack: str, sandbox_url: str, secret: Callable[[Any], Any]) -> dict[str, Any]:
    """Everything ``pulumi config`` would hold for the example stack after the walk-through set it up.

    A top-level key that holds a secret anywhere is wrapped with ``secret`` whole, as Pulumi marks it.
    """
    config: dict[str, Any] = {**plain_config(stack), **sandbox_urls(sandbox_url)}
    for key, value in demo_secrets(stack).items():
        config[key] = secret(_merge(config.get(key), value))
    return config


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "secret-paths":
        print("usage: python -m scripts.example_config secret-paths STACK", file=sys.stderr)
        return 2
    for key, value in demo_secrets(argv[1]).items():
        for path, leaf in secret_paths(value, key):
            sys.stdout.write(f"{path}\0{leaf}\0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
