"""ClientCompany: a client's record in the FabricAI portal (``ModextClient``; fields: docs/PORTAL_API.md).

Decisions:
- ``erp`` is the record's ``system``, which the public API cannot change: a change replaces the resource,
  the old record deleted first (two records of one business ID must never exist) and the models retrain;
- the roster manages the tag keys it names and the provider its own (``managedBy``, ``rosterRegistration``,
  ``rosterStack`` = the stack's identity); any other tag is left as it is, never drift, never removed;
- create refuses a business ID already registered unless ``adopt: true``, except a record tagged with this
  stack's identity: its own lost registration or a retained client, taken back (never a second record);
- update patches only what changed; delete of a record already gone is success; read reports drift in the
  outputs and the returned inputs, so the next preview shows what ``up`` restores;
- a record another stack has taken over since (its ``rosterStack`` names another identity) is never this
  stack's again by accident: update refuses it unless ``adopt: true``, read drops it from the state and
  delete leaves it in the portal, each with a warning;
- ``kept_on_removal`` (retain or protect, set by the program) is recorded by this resource's own step, for
  the deregistration guard.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, Self

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from provider.business_id import BusinessId
from provider.defaults import (
    PORTAL_EXEMPT_VAT_STATUS,
    PORTAL_MANAGED_BY_TAG,
    PORTAL_MANAGED_BY_VALUE,
    PORTAL_PROCESS_TAG,
    PORTAL_REGISTRATION_TAG,
    PORTAL_STACK_TAG,
)
from provider.errors import AlreadyRegistered, PortalError, ProcountorError
from provider.portal import ClientBody, ClientRecord, Overrides, PortalClient
from provider.portal.training import training_state
from provider.redaction import redact
from provider.resources.base import (
    RosterResource,
    RosterResourceProvider,
    comparable,
    is_unknown,
)
from provider.resources.schema import READ, REPLACES, OutputsModel
from provider.roster import Erp, Process, VatMode
from provider.roster.deregistration import KEPT_ON_REMOVAL

log = logging.getLogger(__name__)

# The inputs the portal holds; a difference in any of them is drift or an update.
PORTAL_FIELDS = ("name", "process", "vat", "teams", "tags")
# Tags the provider writes for itself: never part of the roster's tags, never drift.
OWN_TAGS = frozenset({PORTAL_MANAGED_BY_TAG, PORTAL_REGISTRATION_TAG, PORTAL_STACK_TAG, PORTAL_PROCESS_TAG})
# The input that is the provider's own tag: a change re-tags the record (see ClientCompanyProvider.diff).
STACK_INPUT = "stack"
RETRAIN_NOTE = (
    "the portal cannot change a client's system, so the record is replaced (the old one removed first) "
    "and the client's models will be trained again from the new ERP's data"
)


def client_label(name: str, business_id: str) -> str:
    """How every message names a client: ``Acme Oy (2925630-9)``."""
    return f"{name} ({business_id})"


@contextmanager
def about_client(label: str) -> Iterator[None]:
    """Prefix a portal or Procountor service error with the client it is about.

    Only for errors of the service clients, which never name a client: an error the resource code writes
    itself names the client already and is raised outside this block."""
    try:
        yield
    except AlreadyRegistered:
        raise
    except (PortalError, ProcountorError) as error:
        # The same error, annotated: its class and fields stay (AccessDenied.path, TokenRefused.field...).
        raise error.about(label).with_traceback(None) from None


class VatInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: VatMode = VatMode.STANDARD
    deduction_percent: int | None = Field(default=None, ge=1, le=99)

    @model_validator(mode="after")
    def _percent_fits_mode(self) -> Self:
        if (self.mode is VatMode.PARTIAL) != (self.deduction_percent is not None):
            raise ValueError(
                "deduction_percent (1-99) is required with mode partial and allowed only with it"
            )
        return self


def overrides_of(vat: VatInput) -> Overrides | None:
    """standard: no overrides (the portal's defaults); exempt: no deduction (and the exempt vatStatus);
    partial N: ``vatDeductionPercent`` N."""
    if vat.mode is VatMode.EXEMPT:
        return Overrides(vat_deduction_percent=0, vat_status=PORTAL_EXEMPT_VAT_STATUS)
    if vat.mode is VatMode.PARTIAL:
        return Overrides(vat_deduction_percent=vat.deduction_percent)
    return None


def vat_of(overrides: Overrides | None) -> dict[str, Any]:
    """The roster's VAT setting a record's overrides mean (read tolerantly: only the percent decides)."""
    percent = None if overrides is None else overrides.vat_deduction_percent
    if percent is None or percent >= 100:
        return {"mode": VatMode.STANDARD.value, "deduction_percent": None}
    if percent <= 0:
        return {"mode": VatMode.EXEMPT.value, "deduction_percent": None}
    return {"mode": VatMode.PARTIAL.value, "deduction_percent": round(percent)}


class ClientCompanyInputs(BaseModel):
    # Output seeds (None) may arrive with the inputs, and a legacy state's favorite/dimensions: ignored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    business_id: Annotated[BusinessId, REPLACES]
    name: str = Field(min_length=1)
    # The portal cannot change a record's system: replaced, old record first (ClientCompanyProvider.diff).
    erp: Annotated[Erp | None, REPLACES] = Field(
        default=None, description="the portal's `system`; on replacement the old record goes first"
    )
    process: Process = Process.STANDARD
    vat: VatInput = Field(default=VatInput(), description="`{mode, deduction_percent}`, sent as `overrides`")
    teams: list[str] = Field(default=[], description="names, sent as team ids")
    tags: dict[str, str] = {}
    adopt: StrictBool = False
    # Set by the program (retain or protect). Recorded by this resource's own step, with the engine's
    # retainOnDelete and protect: the guard reads it, so a run that did not step this resource (`--target`)
    # cannot make the guard believe a removal keeps a record that the engine would delete.
    kept_on_removal: StrictBool = Field(
        default=False, description="set by the program: `retain` or `protect`"
    )
    # The registering stack's identity, written as the record's ``rosterStack`` tag.
    stack: str | None = Field(default=None, description="the stack's identity, tag `rosterStack`")

    @field_validator("teams")
    @classmethod
    def _teams_as_a_set(cls, teams: list[str]) -> list[str]:
        """Membership has no order (the portal keeps ids): sorted, so no order is ever a change."""
        return sorted(set(teams))

    @model_validator(mode="after")
    def _no_own_tags(self) -> Self:
        clash = sorted(OWN_TAGS & set(self.tags))
        if clash:
            raise ValueError(f"tags {', '.join(clash)} are the provider's own; use other tag names")
        return self

    @property
    def label(self) -> str:
        return client_label(self.name, self.business_id)

    def wanted(self) -> dict[str, Any]:
        """The portal-held inputs as they compare (teams in order of name)."""
        values = self.model_dump(mode="json", include=set(PORTAL_FIELDS))
        values["teams"] = sorted(values["teams"])
        return values

    def portal_tags(self, own: Mapping[str, str], foreign: Mapping[str, str]) -> dict[str, str]:
        return {**foreign, **self.tags, PORTAL_PROCESS_TAG: self.process.value, **own}

    def body(
        self,
        portal: PortalClient,
        only: tuple[str, ...],
        own_tags: Mapping[str, str],
        foreign: Mapping[str, str] | None = None,
    ) -> ClientBody:
        """The PATCH/POST body of these fields (teams resolved to ids: a network call). ``foreign``: the
        record's tags that neither the roster nor the provider manage, written back as they are (a PATCH
        replaces the whole map)."""
        fields: dict[str, Any] = {}
        if "name" in only:
            fields["name"] = self.name
        if "teams" in only:
            fields["teams"] = portal.team_ids(self.teams, client=self.label)
        if "tags" in only or "process" in only:
            fields["tags"] = self.portal_tags(own_tags, foreign or {})
        if "vat" in only:
            overrides = overrides_of(self.vat)
            fields["overrides"] = overrides
            fields["overrides_cleared"] = overrides is None
        return ClientBody(**fields)


def own_tags(record: ClientRecord, stack: str | None) -> dict[str, str]:
    """The provider's tags for a record this stack manages from now on (its registration token kept)."""
    tags = record.tag_map
    kept = {key: tags[key] for key in (PORTAL_REGISTRATION_TAG,) if key in tags}
    return {
        PORTAL_MANAGED_BY_TAG: PORTAL_MANAGED_BY_VALUE,
        **kept,
        **({PORTAL_STACK_TAG: stack} if stack else {}),
    }


def foreign_tags(record: ClientRecord, *managed: Mapping[str, Any] | None) -> dict[str, str]:
    """The record's tags that are neither the provider's own nor keys of the roster's ``managed`` tags."""
    keys = {key for tags in managed for key in (tags or {})}
    return {key: value for key, value in record.tag_map.items() if key not in OWN_TAGS and key not in keys}


def _current(
    portal: PortalClient, record: ClientRecord, fallback_process: Any, managed: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The record's values of the portal-held inputs, shaped like ``ClientCompanyInputs.wanted``; of its
    tags only the keys the roster manages (``managed``: the roster's tags)."""
    tags = record.tag_map
    return {
        "name": record.name,
        "process": tags.get(PORTAL_PROCESS_TAG, fallback_process),
        "vat": vat_of(record.overrides),
        "teams": sorted(portal.team_names(record.team_ids)),
        "tags": {key: value for key, value in tags.items() if key not in OWN_TAGS and key in (managed or {})},
    }


def _differing(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(key for key in PORTAL_FIELDS if comparable(wanted.get(key)) != comparable(current.get(key)))


class ClientCompanyOutputs(OutputsModel):
    portal_id: Annotated[int, READ]
    vat_number: str | None = Field(description="`FI` + digits")
    status: str | None = Field(description="ACTIVE or INACTIVE")
    system: str | None = Field(description="as the portal holds it")
    training: Annotated[str | None, READ] = Field(
        description="CONNECTING, TRAINING, IN_PRODUCTION, FAILED or INACTIVE"
    )
    accounting_system_company_id: str | None = Field(description="set when the integration connects")
    registration: str | None = Field(description="the registration's tag")
    adopted: bool
    created_at: str | None


def _outputs(
    inputs: Mapping[str, Any], record: ClientRecord, *, adopted: bool, training: str | None
) -> dict[str, Any]:
    business = record.business_id or str(inputs.get("business_id", ""))
    added = ClientCompanyOutputs(
        portal_id=record.id,
        vat_number="FI" + BusinessId(business).replace("-", "") if business else None,
        status=record.status,
        system=record.system,
        training=training,
        accounting_system_company_id=record.accounting_system_company_id,
        registration=record.tag_map.get(PORTAL_REGISTRATION_TAG),
        adopted=adopted,
        created_at=record.created_at,
    )
    return ClientCompanyProvider.schema.outputs_of(inputs, added)


def other_owner(record: ClientRecord | None, *ours: object) -> str | None:
    """The identity of another stack whose tag the record carries (it took the record over since, with its
    ``adopt: true``); None when the record is this stack's (its tag one of ``ours``), untagged, or gone."""
    owner = record.tag_map.get(PORTAL_STACK_TAG) if record is not None else None
    return owner if owner and owner not in ours else None


class ClientCompanyProvider(RosterResourceProvider):
    inputs_model = ClientCompanyInputs
    outputs_model = ClientCompanyOutputs
    id_is = "portal client id"

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # A stack identity that is not yet known, or none, never re-tags: only a known new one does.
        changes = [
            key
            for key in self.changed_keys(olds, news)
            if key != STACK_INPUT
            or (
                isinstance(news.get(STACK_INPUT), str)
                and news[STACK_INPUT]
                and not is_unknown(news[STACK_INPUT])
            )
        ]
        if (
            KEPT_ON_REMOVAL in changes
            and not olds.get(KEPT_ON_REMOVAL)
            and news.get(KEPT_ON_REMOVAL) is False
        ):
            changes.remove(KEPT_ON_REMOVAL)  # a state from before the flag: not kept, as now (no update)
        replaces = [key for key in changes if key in self.replace_on]
        # A state written before `erp` was an input knows no system to protect: an update records it.
        if "erp" in replaces and olds.get("erp") is None:
            replaces.remove("erp")
        if "erp" in replaces:
            log.warning(
                "%s: moves from %s to %s: %s.",
                client_label(str(news.get("name", "?")), str(news.get("business_id", "?"))),
                olds.get("erp"),
                news.get("erp"),
                RETRAIN_NOTE,
            )
        return DiffResult(
            changes=bool(changes), replaces=replaces, stables=None, delete_before_replace="erp" in replaces
        )

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = ClientCompanyInputs.model_validate(props)
        portal = self.context.portal
        try:
            with about_client(inputs.label):  # lets AlreadyRegistered through as it is
                body = inputs.body(portal, PORTAL_FIELDS, {})
                # Standard VAT is the portal's default: nothing to clear on a new record.
                body = body.model_copy(update={"overrides_cleared": False})
                if inputs.erp is not None:
                    body = body.model_copy(update={"system": inputs.erp.value})
                record = portal.register(inputs.business_id, body, stack=inputs.stack)
            adopted = False
            log.info(
                "%s: registered in the FabricAI portal as client %d; its models are trained once its ERP is "
                "connected",
                inputs.label,
                record.id,
            )
        except AlreadyRegistered as error:
            # This stack's own record (a registration whose answer was lost, or a client it retained) is
            # taken back: registering again would make a second record of one business ID.
            if not inputs.adopt and not error.this_stack:
                raise AlreadyRegistered(
                    f"{inputs.label} is already registered in the FabricAI portal as client "
                    f"{error.existing_id}, and the portal counts only the first registration. Fix: to "
                    "manage that record from this stack, set `adopt: true` for this client in "
                    "roster:clients and run `pulumi up` again (adopting takes the record over and "
                    "changes it to match the roster); otherwise remove the client from the roster.",
                    existing_id=error.existing_id,
                ) from None
            record = self._adopt(inputs, error.existing_id, taking_back=error.this_stack)
            adopted = not error.this_stack
        training = self._training(record)
        return CreateResult(
            str(record.id),
            _outputs(inputs.model_dump(mode="json"), record, adopted=adopted, training=training),
        )

    def _adopt(
        self, inputs: ClientCompanyInputs, client_id: int, *, taking_back: bool = False
    ) -> ClientRecord:
        """Take an existing record over and patch it to match the roster. ``taking_back``: the record is
        this stack's own (tagged with it), so no ``adopt: true`` was needed."""
        portal = self.context.portal
        if taking_back:
            log.info(
                "%s: portal client %d was registered by this stack (%s) and is not in its state: a "
                "registration whose answer was lost, or a client retained earlier. Taken back, not "
                "registered again.",
                inputs.label,
                client_id,
                inputs.stack,
            )
        with about_client(inputs.label):
            record = portal.get_client(client_id)
            if record is not None:
                current = _current(portal, record, None, inputs.tags)
                changes = _differing(inputs.wanted(), current)
                tags = record.tag_map
                managed = tags.get(PORTAL_MANAGED_BY_TAG) == PORTAL_MANAGED_BY_VALUE and (
                    not inputs.stack or tags.get(PORTAL_STACK_TAG) == inputs.stack
                )
                if changes or not managed:
                    log.info(
                        "%s: %s portal client %d, changing %s",
                        inputs.label,
                        "taking back" if taking_back else "adopting",
                        client_id,
                        ", ".join(changes) or f"its tags ({PORTAL_MANAGED_BY_TAG}, {PORTAL_STACK_TAG})",
                    )
                    # Only the provider's own tags are replaced; the record's others stay as they are.
                    record = portal.update_client(
                        client_id,
                        inputs.body(
                            portal,
                            (*changes, "tags"),
                            own_tags(record, inputs.stack),
                            foreign_tags(record, inputs.tags),
                        ),
                    )
        # Raised outside ``about_client``: the message names the client itself, once.
        if record is None:
            raise PortalError(
                f"{inputs.label}: portal client {client_id} disappeared while it was being adopted; "
                "run `pulumi up` again to register it."
            )
        if inputs.erp is not None and record.system != inputs.erp.value:
            log.info(
                "%s: adopted client %d has system %r, which the portal cannot change; left as it is",
                inputs.label,
                client_id,
                record.system,
            )
        return record

    def _training(self, record: ClientRecord) -> str | None:
        """The training progress; None when the models cannot be read now (best effort after a write)."""
        try:
            return training_state(record.status, self.context.portal.models(record.id))
        except PortalError as error:
            said = redact(str(error), self.known_secrets())
            log.warning("%s: the client's models could not be read now (%s)", record.name, said)
            return None

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = ClientCompanyInputs.model_validate(news)
        old = {**olds, "teams": sorted(olds.get("teams") or [])}
        changes = _differing(inputs.wanted(), old)
        if inputs.stack and olds.get(STACK_INPUT) != inputs.stack and "tags" not in changes:
            changes = (*changes, "tags")  # re-tagged with the stack's identity
        if not changes:  # e.g. only ``adopt`` or a legacy state's ``erp`` changed: nothing for the portal
            kept = {key: olds.get(key) for key in ClientCompanyOutputs.model_fields if key != "adopted"}
            return UpdateResult(
                {**kept, "adopted": olds.get("adopted", False), **inputs.model_dump(mode="json")}
            )
        portal = self.context.portal
        own = {PORTAL_MANAGED_BY_TAG: PORTAL_MANAGED_BY_VALUE}
        if olds.get("registration"):
            own[PORTAL_REGISTRATION_TAG] = str(olds["registration"])
        if inputs.stack:
            own[PORTAL_STACK_TAG] = inputs.stack
        with about_client(inputs.label):
            foreign: dict[str, str] = {}
            current = portal.get_client(int(id_))
            owner = other_owner(current, olds.get(STACK_INPUT), inputs.stack)
            if owner is not None and not inputs.adopt:
                mine = inputs.stack or olds.get(STACK_INPUT) or "none"
                raise PortalError(
                    f"portal client {id_} now belongs to another stack (its {PORTAL_STACK_TAG} tag is "
                    f"{owner}; this stack's identity is {mine}): nothing was changed. Fix: if that stack "
                    "took it over on purpose (its `adopt: true`), remove the client from this roster and run "
                    "`pulumi refresh` (this stack then lets it go); to take it back, set `adopt: true` for "
                    "it here and run `pulumi up`."
                )
            if current is not None and ("tags" in changes or "process" in changes):
                # A PATCH replaces the whole tag map: the record's tags outside the roster's keys (old and
                # new) and the provider's own are read first and written back as they are.
                foreign = foreign_tags(current, olds.get("tags"), inputs.tags)
            record = portal.update_client(int(id_), inputs.body(portal, changes, own, foreign))
        if record is None:
            raise PortalError(
                f"{inputs.label}: portal client {id_} no longer exists (it was removed outside Pulumi); "
                "nothing was changed. Fix: run `pulumi refresh` to drop it from state, then `pulumi up` to "
                "register it again."
            )
        return UpdateResult(
            _outputs(
                inputs.model_dump(mode="json"),
                record,
                adopted=bool(olds.get("adopted", False)),
                training=self._training(record),
            )
        )

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = client_label(str(props.get("name", "?")), str(props.get("business_id", "?")))
        portal = self.context.portal
        with about_client(label):
            record = portal.get_client(int(id_))
            if record is None:
                log.info("%s: portal client %s is gone; dropping it from state", label, id_)
                return ReadResult("", {})
            owner = other_owner(record, props.get(STACK_INPUT))
            if owner is not None:
                log.warning(
                    "%s: portal client %s now belongs to another stack (its %s tag is %s): dropped from this "
                    "stack's state, left in the portal. The next `pulumi up` of a roster that still lists it "
                    "stops and asks for `adopt: true` to take it back.",
                    label,
                    id_,
                    PORTAL_STACK_TAG,
                    owner,
                )
                return ReadResult("", {})
            current = _current(portal, record, props.get("process"), props.get("tags"))
            training = training_state(record.status, portal.models(record.id))
        # Inputs as the portal has them now: the next preview shows what `pulumi up` will restore.
        inputs = {
            **{key: props[key] for key in ClientCompanyInputs.model_fields if key in props},
            **current,
        }
        if record.business_id:
            inputs["business_id"] = str(BusinessId(record.business_id))
        outputs = _outputs(inputs, record, adopted=bool(props.get("adopted", False)), training=training)
        return ReadResult(id_, outputs, inputs)

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        """Remove the record, unless another stack has taken it over since (its ``rosterStack`` tag names
        another identity, e.g. after that stack's ``adopt: true``): that stack's client is never removed by
        this one; it only leaves this stack's state."""
        label = client_label(str(props.get("name", "?")), str(props.get("business_id", "?")))
        portal = self.context.portal
        with about_client(label):
            record = portal.get_client(int(id_))
            owner = other_owner(record, props.get(STACK_INPUT))
            if owner is not None:
                log.warning(
                    "%s: portal client %s now belongs to another stack (its %s tag is %s, this stack's "
                    "identity is %s): left in the portal, only dropped from this stack's state.",
                    label,
                    id_,
                    PORTAL_STACK_TAG,
                    owner,
                    props.get(STACK_INPUT) or "none",
                )
                return
            removed = record is not None and portal.delete_client(int(id_))
        log.info(
            "%s: %s", label, "removed from the FabricAI portal" if removed else "already gone from the portal"
        )


class ClientCompany(RosterResource, module="fabricai", name="ClientCompany", provider=ClientCompanyProvider):
    """A client company's record in the FabricAI portal (``pulumi-python:dynamic/fabricai:ClientCompany``)."""
