"""What the subcommands read from a stack's config: the roster (parsed exactly as the program parses it),
the provider settings, and the roster settings of the operator's command only (``roster:rotateAfterDays``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from provider.roster import ClientEntry, Roster
from provider.roster.stack_config import find_project_root, parse_stack_config, roster_config
from provider.settings import ProviderSettings

ROTATE_AFTER_DAYS: Final = "roster:rotateAfterDays"


def roster_of(
    config: Mapping[str, Any],
    cwd: Path | None = None,
    *,
    on_client: Callable[[ClientEntry], None] | None = None,
) -> Roster:
    """The roster as ``provider.program.read_roster`` reads it, from every key of the stack's config (so a
    misspelt roster key is named, as `preview` names it); RosterInvalid lists every problem. A relative
    ``roster:clientsFile`` is read from the project root: the folder of Pulumi.yaml at or above ``cwd``."""
    root = find_project_root(cwd if cwd is not None else Path.cwd())
    return parse_stack_config(roster_config(config), root, on_client=on_client)


def settings_of(config: Mapping[str, Any]) -> ProviderSettings:
    """The provider settings as ``configure`` builds them from the same keys."""
    return ProviderSettings.from_config(config.get)


def rotate_after_days(config: Mapping[str, Any]) -> int | None:
    """``roster:rotateAfterDays``: the age (days) past which the firm wants credentials rotated; None when
    unset. The program does not read it (it reads only the three roster sections), so the key may sit in
    stack config beside them."""
    from provider.cli.stack import OperatorError

    value = config.get(ROTATE_AFTER_DAYS)
    if value is None or value == "":
        return None
    try:
        days = int(str(value).strip())
    except ValueError:
        days = 0
    if days <= 0:
        raise OperatorError(
            f"stack config '{ROTATE_AFTER_DAYS}' must be a whole number of days above 0; set it with "
            f"`pulumi config set {ROTATE_AFTER_DAYS} 365`"
        )
    return days
