"""The deregistration guard: a roster edit never deregisters many clients at once by mistake.

Deregistering a client in the FabricAI portal costs it its trained models and history. Two edits do it: an
entry leaving the roster (its ClientCompany is deleted) and an entry whose ``erp`` changes (the portal cannot
change a record's system, so the ClientCompany is replaced: the old record is deleted first and a new one,
without models, is registered). Both count, one each, against ``roster:maxDeregistrations`` (default 1:
letting one client go at a time is the normal case); beyond it every one of them must be listed in
``roster:confirmDeregistration``, or the run stops before anything is declared.

What is compared with the roster is the stack's own record of its clients **as its state holds them**: every
ClientCompany of the last checkpoint (``StackRecord.from_state``, read by the program through the engine's
``pulumi:pulumi:readStackResourceOutputs``), not the stack outputs. So a first ``up`` that failed half-way
(records in state, no outputs), or outputs lost or written by another version, still leave the guard on.

A client with ``retain: true`` or ``protect: true`` in the last run's record (the ``rosterClients`` output)
does not count, provided its ClientCompany's own ``kept_on_removal`` agrees (written only by a run that
stepped it, with the engine's retainOnDelete and protect, so a ``--target`` run cannot fake a keep; a state
without the flag is not kept): retained, its record stays when its resources go; protected, the engine
refuses to delete it. An ``erp`` move counts unless this run keeps the client too (protect turned off in the
same edit lets the engine replace it). Where that record is missing (a failed first ``up`` exports
nothing), every client in state counts: the guard errs on the side of asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from provider.errors import DeregistrationUnconfirmed
from provider.roster.models import CONFIRM_DEREGISTRATION, MAX_DEREGISTRATIONS, Roster
from provider.roster.text import safe

# The stack outputs the program writes for the next run (see provider/program.py stack_outputs).
CLIENTS_OUTPUT: Final = "clients"
ROSTER_CLIENTS_OUTPUT: Final = "rosterClients"
# Resource types in the state, as the engine names them.
STACK_TYPE: Final = "pulumi:pulumi:Stack"
COMPANY_TYPE: Final = "pulumi-python:dynamic/fabricai:ClientCompany"
IDENTITY_TYPE: Final = "pulumi-python:dynamic/fabricai:StackIdentity"
# The program names each ClientCompany ``<business ID>-company`` (a state older than the type tokens has
# ``pulumi-python:dynamic:Resource`` for every dynamic resource: the name tells them apart).
COMPANY_SUFFIX: Final = "-company"
# The ClientCompany input (and output) saying the roster keeps its record when it leaves (retain, protect).
KEPT_ON_REMOVAL: Final = "kept_on_removal"


@dataclass(frozen=True)
class HeldClient:
    """A client whose ClientCompany the stack's state holds: its name and ERP as registered, and whether it
    is kept (``retain`` or ``protect`` in the last run's record, and ``kept_on_removal`` in its own)."""

    name: str
    erp: str | None
    kept: bool = False


@dataclass(frozen=True)
class StackRecord:
    """The stack as its last checkpoint holds it: its clients by business ID, its identity (the
    ``StackIdentity`` resource's ``stack_id``, None before the first ``up`` of this version), its outputs."""

    clients: Mapping[str, HeldClient] = field(default_factory=dict)
    stack_id: str | None = None
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_state(cls, resources: Mapping[str, Any]) -> StackRecord:
        """The record from ``readStackResourceOutputs``' ``outputs``: ``{urn: {type, outputs}}``."""
        companies: dict[str, tuple[str, str | None, bool]] = {}
        stack_id: str | None = None
        outputs: Mapping[str, Any] = {}
        for urn, entry in resources.items():
            if not isinstance(entry, Mapping):
                continue
            kind, values = entry.get("type"), entry.get("outputs")
            values = values if isinstance(values, Mapping) else {}
            if kind == STACK_TYPE:
                outputs = values
            elif kind == IDENTITY_TYPE and isinstance(values.get("stack_id"), str):
                stack_id = values["stack_id"]
            elif _is_company(str(urn), kind) and isinstance(values.get("business_id"), str):
                erp, name = values.get("erp"), values.get("name")
                # The company's own record of being kept. A state from before it has none: not kept (the
                # guard asks once); the first `up` records it for every client the roster keeps.
                own = values.get(KEPT_ON_REMOVAL)
                companies[values["business_id"]] = (
                    name if isinstance(name, str) else "",
                    erp if isinstance(erp, str) else None,
                    own is True,
                )
        details = outputs.get(ROSTER_CLIENTS_OUTPUT)
        recorded: Mapping[str, Any] = details if isinstance(details, Mapping) else {}
        clients = {}
        for business_id, (name, erp, kept_by_itself) in companies.items():
            detail = recorded.get(business_id)
            detail = detail if isinstance(detail, Mapping) else {}
            # Kept only when both say so: the stack output is written by every run, the company's own flag
            # only by a run that stepped it (as the engine's retainOnDelete and protect), so after a
            # `--target` run that left the company out the output alone could claim a keep the state lacks.
            kept = kept_by_itself and (detail.get("retain") is True or detail.get("protect") is True)
            clients[business_id] = HeldClient(name, erp, kept)
        return cls(clients, stack_id, outputs)


def _is_company(urn: str, kind: object) -> bool:
    if kind == COMPANY_TYPE:
        return True
    return kind == "pulumi-python:dynamic:Resource" and urn.endswith(COMPANY_SUFFIX)


@dataclass(frozen=True)
class Deregistration:
    """One client this run would deregister: ``moves_to`` is the new ERP of an ``erp`` move, None when the
    client leaves the roster."""

    business_id: str
    name: str
    moves_from: str | None = None
    moves_to: str | None = None

    def line(self) -> str:
        label = f"{safe(self.name, 200)} ({safe(self.business_id, 40)})" if self.name else self.business_id
        if self.moves_to is None:
            return f"  - {label}: leaves the roster"
        return (
            f"  - {label}: moves from {safe(str(self.moves_from), 20)} to {safe(self.moves_to, 20)}: its "
            "record is replaced and its models are trained again"
        )


def roster_record(roster: Roster) -> dict[str, dict[str, Any]]:
    """The ``rosterClients`` stack output: each client's name, ``retain`` and ``protect``, for the next
    run's guard."""
    return {
        str(client.business_id): {"name": client.name, "retain": client.retain, "protect": client.protect}
        for client in roster.clients
    }


def deregistrations(record: StackRecord, roster: Roster) -> list[Deregistration]:
    """Every client this run would deregister (leaving, or moving to another ERP), in business-ID order."""
    declared = {str(client.business_id): client for client in roster.clients}
    found: list[Deregistration] = []
    for business_id, held in sorted(record.clients.items()):
        client = declared.get(business_id)
        # A client the last run kept (retain or protect) leaves the state without a delete. One that moves to
        # another ERP is kept only if this run keeps it too: with protect turned off in the same edit, the
        # engine replaces it (it refuses only a resource protected before and after), removing its record.
        kept = held.kept and (client is None or client.retain or client.protect)
        if kept:
            continue
        if client is None:
            found.append(Deregistration(business_id, held.name))
        elif held.erp is not None and held.erp != client.erp.value:
            # A state written before `erp` was an input (None) records it with an update: no replacement.
            found.append(Deregistration(business_id, held.name, held.erp, client.erp.value))
    return found


def leaving(record: StackRecord, roster: Roster) -> list[tuple[str, str]]:
    """``(business ID, name)`` of every client this run would deregister, in business-ID order."""
    return [(going.business_id, going.name) for going in deregistrations(record, roster)]


def check(record: StackRecord, roster: Roster) -> None:
    """Raise DeregistrationUnconfirmed when more clients would be deregistered than the roster allows
    unconfirmed."""
    going = deregistrations(record, roster)
    confirmed = {str(business_id) for business_id in roster.confirm_deregistration}
    if len(going) <= roster.max_deregistrations or all(d.business_id in confirmed for d in going):
        return
    raise DeregistrationUnconfirmed(
        refusal(going, roster.max_deregistrations), leaving=[(d.business_id, d.name) for d in going]
    )


def notice(record: StackRecord, roster: Roster) -> str | None:
    """The warning of a run that deregisters clients it is allowed to: which ones lose their models."""
    going = deregistrations(record, roster)
    if not going:
        return None
    return "\n".join(
        [
            f"This update deregisters {len(going)} client{'s' if len(going) != 1 else ''} from the FabricAI "
            "portal; each loses its trained models and history there:",
            *(d.line() for d in going),
        ]
    )


def stale_confirmations(record: StackRecord, roster: Roster) -> str | None:
    """The warning for confirmations of clients this run does not deregister (left from an earlier one)."""
    going = {d.business_id for d in deregistrations(record, roster)}
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


def refusal(going: list[Deregistration], limit: int) -> str:
    """The message of a refused run: who would be deregistered and why, why it stopped, how to confirm."""
    ids = [safe(d.business_id, 40) for d in going]
    allowed = "no client" if limit == 0 else f"at most {limit} client{'s' if limit != 1 else ''}"
    moving = sum(1 for d in going if d.moves_to is not None)
    why = (
        f" ({len(going) - moving} leaving the roster, {moving} moving to another ERP)"
        if moving and moving < len(going)
        else (" (each moving to another ERP)" if moving else "")
    )
    return "\n".join(
        [
            f"This update would deregister {len(going)} clients from the FabricAI portal at once{why}; "
            f"{MAX_DEREGISTRATIONS} allows {allowed} without confirmation. Nothing was changed.",
            *(d.line() for d in going),
            "A deregistered client loses its trained models and history in the portal; one whose erp changes "
            "is registered again with none. If the roster changed these entries by mistake, put them back.",
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
