"""ClientCompany: a client's record in the FabricAI portal (what FabricAI knows of it).

- create registers it. The portal counts only the first registration of a business ID, so a 409 is an
  error that names the existing record and the way to take it over: ``adopt: true`` (``pulumi import``
  does not work for dynamic resources). With adopt, the existing record is patched to match the roster.
- update patches only the fields that changed; a change of business ID replaces the resource.
- delete removes the record; a record that is already gone is success.
- read serves from the portal client's refresh snapshot and reports drift both in the outputs and in the
  returned inputs, so that ``pulumi preview`` after a refresh shows the change that will restore the roster.
  A record deleted behind our back is dropped from state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from provider.business_id import BusinessId
from provider.errors import AlreadyRegistered, PortalError, ProcountorError
from provider.portal import ClientFields, ClientRecord, VatSetting
from provider.resources.base import RosterResourceProvider, comparable, resource_props
from provider.roster import Process, VatMode

log = logging.getLogger(__name__)

# The inputs the portal holds; a difference in any of them is drift or an update.
PORTAL_FIELDS = ("name", "process", "vat", "dimensions", "favorite", "teams", "tags")


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


class ClientCompanyInputs(BaseModel):
    # Output seeds (None) may arrive with the inputs: ignore what is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)

    business_id: BusinessId
    name: str = Field(min_length=1)
    process: Process = Process.STANDARD
    vat: VatInput = VatInput()
    dimensions: list[str] = []
    favorite: StrictBool = False
    teams: list[str] = []
    tags: dict[str, str] = {}
    adopt: StrictBool = False

    @property
    def label(self) -> str:
        return client_label(self.name, self.business_id)

    def portal_fields(self, only: tuple[str, ...] = PORTAL_FIELDS) -> ClientFields:
        values: dict[str, Any] = self.model_dump(mode="json", include=set(only))
        if "vat" in values:
            values["vat"] = VatSetting(**values["vat"])
        return ClientFields(**values)


def _inputs_of(record: ClientRecord) -> dict[str, Any]:
    """The record's values of the portal-held inputs, shaped like ``ClientCompanyInputs`` dumps them."""
    return {
        "name": record.name,
        "process": record.process,
        "vat": {"mode": record.vat.mode, "deduction_percent": record.vat.deduction_percent},
        "dimensions": list(record.dimensions),
        "favorite": record.favorite,
        "teams": list(record.teams),
        "tags": dict(record.tags),
    }


def _differing(inputs: ClientCompanyInputs, current: Mapping[str, Any]) -> tuple[str, ...]:
    wanted = inputs.model_dump(mode="json", include=set(PORTAL_FIELDS))
    return tuple(key for key in PORTAL_FIELDS if comparable(wanted[key]) != comparable(current.get(key)))


def _outputs(inputs: Mapping[str, Any], record: ClientRecord, *, adopted: bool) -> dict[str, Any]:
    return {
        **inputs,
        "portal_id": record.id,
        "vat_number": record.vat_number or BusinessId(record.business_id).vat_number,
        "status": record.status,
        "system": record.system,
        "adopted": adopted,
        "created_at": record.created_at,
    }


class ClientCompanyProvider(RosterResourceProvider):
    inputs_model = ClientCompanyInputs
    replace_on = frozenset({"business_id"})

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = ClientCompanyInputs.model_validate(props)
        try:
            with about_client(inputs.label):  # lets AlreadyRegistered through as it is
                record = self.context.portal.create_client(inputs.business_id, inputs.portal_fields())
            adopted = False
        except AlreadyRegistered as error:
            if not inputs.adopt:
                raise AlreadyRegistered(
                    f"{inputs.label} is already registered in the FabricAI portal as client "
                    f"{error.existing_id}, and the portal counts only the first registration. Fix: to "
                    "manage that record from this stack, set `adopt: true` for this client in "
                    "roster:clients and run `pulumi up` again (adopting takes the record over and "
                    "changes it to match the roster); otherwise remove the client from the roster.",
                    existing_id=error.existing_id,
                ) from None
            record = self._adopt(inputs, error.existing_id)
            adopted = True
        return CreateResult(str(record.id), _outputs(inputs.model_dump(mode="json"), record, adopted=adopted))

    def _adopt(self, inputs: ClientCompanyInputs, client_id: int) -> ClientRecord:
        portal = self.context.portal
        with about_client(inputs.label):
            record = portal.get_client(client_id)
            changes = _differing(inputs, _inputs_of(record)) if record is not None else PORTAL_FIELDS
            if record is not None and changes:
                log.info(
                    "%s: adopting portal client %d, changing %s", inputs.label, client_id, ", ".join(changes)
                )
                record = portal.update_client(client_id, inputs.portal_fields(changes))
        # Raised outside ``about_client``: the message names the client itself, once.
        if record is None:
            raise PortalError(
                f"{inputs.label}: portal client {client_id} disappeared while it was being adopted; "
                "run `pulumi up` again to register it."
            )
        return record

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = ClientCompanyInputs.model_validate(news)
        changes = _differing(inputs, olds)
        if not changes:  # e.g. only ``adopt`` changed: nothing to tell the portal
            kept = {
                key: olds.get(key) for key in ("portal_id", "vat_number", "status", "system", "created_at")
            }
            return UpdateResult(
                {**kept, "adopted": olds.get("adopted", False), **inputs.model_dump(mode="json")}
            )
        with about_client(inputs.label):
            record = self.context.portal.update_client(int(id_), inputs.portal_fields(changes))
        if record is None:
            raise PortalError(
                f"{inputs.label}: portal client {id_} no longer exists (it was removed outside Pulumi); "
                "nothing was changed. Fix: run `pulumi refresh` to drop it from state, then `pulumi up` to "
                "register it again."
            )
        return UpdateResult(
            _outputs(inputs.model_dump(mode="json"), record, adopted=bool(olds.get("adopted", False)))
        )

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = client_label(str(props.get("name", "?")), str(props.get("business_id", "?")))
        with about_client(label):
            record = self.context.portal.client_from_snapshot(int(id_))
        if record is None:
            log.info("%s: portal client %s is gone; dropping it from state", label, id_)
            return ReadResult("", {})
        # Inputs as the portal has them now: the next preview shows what `pulumi up` will restore.
        inputs = {
            **{key: props[key] for key in ClientCompanyInputs.model_fields if key in props},
            **_inputs_of(record),
            "business_id": record.business_id,
        }
        return ReadResult(id_, _outputs(inputs, record, adopted=bool(props.get("adopted", False))), inputs)

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        label = client_label(str(props.get("name", "?")), str(props.get("business_id", "?")))
        with about_client(label):
            removed = self.context.portal.delete_client(int(id_))
        log.info(
            "%s: %s", label, "removed from the FabricAI portal" if removed else "already gone from the portal"
        )


class ClientCompany(pulumi.dynamic.Resource, module="fabricai", name="ClientCompany"):
    """A client company's record in the FabricAI portal (``pulumi-python:dynamic/fabricai:ClientCompany``).

    Outputs besides the inputs: ``portal_id``, ``vat_number``, ``status`` (PENDING_CONNECTION, TRAINING,
    PRODUCTION, INACTIVE), ``system`` (the connected ERP or None), ``adopted``, ``created_at``.
    """

    business_id: pulumi.Output[str]
    name: pulumi.Output[str]
    process: pulumi.Output[str]
    vat: pulumi.Output[dict[str, Any]]
    dimensions: pulumi.Output[list[str]]
    favorite: pulumi.Output[bool]
    teams: pulumi.Output[list[str]]
    tags: pulumi.Output[dict[str, str]]
    adopt: pulumi.Output[bool]
    portal_id: pulumi.Output[int]
    vat_number: pulumi.Output[str]
    status: pulumi.Output[str]
    system: pulumi.Output[str | None]
    adopted: pulumi.Output[bool]
    created_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        business_id: pulumi.Input[str],
        name: pulumi.Input[str],
        process: pulumi.Input[str] = "standard",
        vat: pulumi.Input[Mapping[str, Any]] | None = None,
        dimensions: pulumi.Input[list[str]] | None = None,
        favorite: pulumi.Input[bool] = False,
        teams: pulumi.Input[list[str]] | None = None,
        tags: pulumi.Input[Mapping[str, str]] | None = None,
        adopt: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        inputs = {
            "business_id": business_id,
            "name": name,
            "process": process,
            "vat": vat if vat is not None else {"mode": "standard"},
            "dimensions": dimensions if dimensions is not None else [],
            "favorite": favorite,
            "teams": teams if teams is not None else [],
            "tags": tags if tags is not None else {},
            "adopt": adopt,
        }
        outputs = ("portal_id", "vat_number", "status", "system", "adopted", "created_at")
        super().__init__(ClientCompanyProvider(), resource_name, resource_props(inputs, outputs), opts)
