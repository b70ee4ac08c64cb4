"""The deregistration guard: a roster edit never deregisters many clients at once by mistake.

Deregistering a client in the FabricAI portal costs it its trained models and history, and a roster can lose
clients by accident (an entry deleted with its neighbours, a list pasted short). So a run compares the roster
with the clients the stack held after its previous run (its own stack outputs: ``clients``, keyed by business
ID, and ``rosterClients``, each client's name and its ``retain`` and ``protect`` flags) and stops before
anything is declared when more clients would leave than ``roster:maxDeregistrations`` allows (default 1:
letting one client go at a time is the normal case) and not every one of them is listed in
``roster:confirmDeregistration``.

A client that had ``retain: true`` in the previous run does not count: its resources are kept on delete, so
removing it from the roster forgets it in the stack and its portal record and connection stay. ``retain``
must have been deployed (one ``pulumi up``) before the entry is removed: the engine keeps what the last run
declared, so a client removed in the same edit that sets ``retain`` is deregistered, and is counted here.

A client that had ``protect: true`` in the previous run does not count either: the engine refuses to delete
it (the run reports that failure), so this run cannot deregister it.

A first run (no previous outputs, or none named ``clients``) has nothing to compare with and passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from provider.errors import DeregistrationUnconfirmed
from provider.roster.models import CONFIRM_DEREGISTRATION, MAX_DEREGISTRATIONS, Roster
from provider.roster.text import safe

# The stack outputs the guard reads back on the next run (see provider/program.py stack_outputs).
CLIENTS_OUTPUT: Final = "clients"
ROSTER_CLIENTS_OUTPUT: Final = "rosterClients"


@dataclass(frozen=True)
class PreviousRun:
    """What the stack's previous run left in its outputs: each client's name ("" if not recorded) by
    business ID, and the business IDs of the clients it kept on delete (``retain: true``) or protected
    (``protect: true``): neither can be deregistered by removing it from the roster."""

    clients: Mapping[str, str]
    kept: frozenset[str]

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any] | None) -> PreviousRun | None:
        """The previous run from the stack's outputs; None when there is none to compare with."""
        if not outputs or not isinstance(outputs.get(CLIENTS_OUTPUT), Mapping):
            return None
        recorded = outputs.get(ROSTER_CLIENTS_OUTPUT)
        details: Mapping[str, Any] = recorded if isinstance(recorded, Mapping) else {}
        clients: dict[str, str] = {}
        kept: set[str] = set()
        for business_id in outputs[CLIENTS_OUTPUT]:
            detail = details.get(business_id)
            detail = detail if isinstance(detail, Mapping) else {}
            name = detail.get("name")
            clients[str(business_id)] = name if isinstance(name, str) else ""
            if detail.get("retain") is True or detail.get("protect") is True:
                kept.add(str(business_id))
        return cls(clients, frozenset(kept))


def roster_record(roster: Roster) -> dict[str, dict[str, Any]]:
    """The ``rosterClients`` stack output: each client's name, ``retain`` and ``protect``, for the next
    run's guard."""
    return {
        str(client.business_id): {"name": client.name, "retain": client.retain, "protect": client.protect}
        for client in roster.clients
    }


def leaving(previous: PreviousRun | None, roster: Roster) -> list[tuple[str, str]]:
    """``(business ID, name)`` of every client this run would deregister, in business-ID order."""
    if previous is None:
        return []
    staying = {str(client.business_id) for client in roster.clients}
    return sorted(
        (business_id, name)
        for business_id, name in previous.clients.items()
        if business_id not in staying and business_id not in previous.kept
    )


def check(previous: PreviousRun | None, roster: Roster) -> None:
    """Raise DeregistrationUnconfirmed when more clients would leave than the roster allows unconfirmed."""
    going = leaving(previous, roster)
    confirmed = {str(business_id) for business_id in roster.confirm_deregistration}
    if len(going) <= roster.max_deregistrations or all(business_id in confirmed for business_id, _ in going):
        return
    raise DeregistrationUnconfirmed(refusal(going, roster.max_deregistrations), leaving=going)


def stale_confirmations(previous: PreviousRun | None, roster: Roster) -> str | None:
    """The warning for confirmations of clients this run does not deregister (left from an earlier one)."""
    going = {business_id for business_id, _ in leaving(previous, roster)}
    stale = sorted(
        str(business_id) for business_id in roster.confirm_deregistration if str(business_id) not in going
    )
    if not stale:
        return None
    return (
        f"{CONFIRM_DEREGISTRATION} lists {', '.join(stale)}, which this update does not deregister; "
        f"remove what is done (`pulumi config rm {CONFIRM_DEREGISTRATION}`), so that it cannot confirm a "
        "later mistake"
    )


def refusal(going: list[tuple[str, str]], limit: int) -> str:
    """The message of a refused run: who would leave, why it stopped, and how to confirm."""
    ids = [safe(business_id, 40) for business_id, _ in going]
    listed = [
        f"  - {safe(name, 200)} ({business_id})" if name else f"  - {business_id}"
        for business_id, (_, name) in zip(ids, going, strict=True)
    ]
    allowed = "no client" if limit == 0 else f"at most {limit} client{'s' if limit != 1 else ''}"
    return "\n".join(
        [
            f"This update would deregister {len(going)} clients from the FabricAI portal at once; "
            f"{MAX_DEREGISTRATIONS} allows {allowed} without confirmation. Nothing was changed.",
            *listed,
            "A deregistered client loses its trained models and history in the portal. If the roster lost "
            "these entries by mistake, put them back.",
            f"To deregister them on purpose, confirm every one by business ID in {CONFIRM_DEREGISTRATION} "
            "in the stack's settings file, then run `pulumi up` again:",
            f"  {CONFIRM_DEREGISTRATION}: [{', '.join(ids)}]",
            "or with the CLI:",
            *(
                f"  pulumi config set --path '{CONFIRM_DEREGISTRATION}[{index}]' {business_id}"
                for index, business_id in enumerate(ids)
            ),
            "To keep a client in the portal but drop it from the stack, set `retain: true` on its entry and "
            "run `pulumi up` before removing it.",
        ]
    )
