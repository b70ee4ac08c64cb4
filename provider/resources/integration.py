"""The lifecycle every ERP integration shares: one client's live connection, held by the portal.

An integration resource owns exactly one portal connection (the one extension of the public API,
``provider.portal.connection``); its id is the connection's id, so it only ever touches that connection:
- create verifies the credentials against the ERP (every prerequisite of the guide) and only then PUTs the
  connection (which replaces any earlier one of the client); then it records the ERP company id in the
  client's record (``accountingSystemCompanyId``) and orders the dimension predictions;
- update re-verifies everything with the new inputs first. A change of the credentials is a rotation: only
  then does the portal get them (PATCH of this connection's credentials); a failed verification changes
  nothing. If the connection was removed or replaced outside Pulumi the update fails and says so: an
  update cannot change the resource id, and connecting again silently would hide that someone else changed
  the portal. ``pulumi refresh`` then drops the resource and ``pulumi up`` connects again;
- delete disconnects this connection only (already gone, or replaced by a newer one that survives, is
  success) and tells the operator what is left to do in the ERP, which no API can do;
- read reports the connection, the client's training progress and its dimension predictions, and drops the
  resource when its connection is gone or was replaced; then it re-runs the guide's checks against the ERP,
  read-only, and reports the ERP health (below). A connection whose ``credentialsRotatedAt`` is not the one
  this stack recorded holds credentials the stack did not see set (a rotation whose answers were lost, then
  perhaps reverted in the roster; or a change made in the portal): read marks the stored credential
  fingerprints ``CREDENTIALS_UNKNOWN``, so the next ``preview`` shows the credentials changing and the next
  ``up`` sets the roster's again (a rotation, proven against the ERP first).

ERP health (``erp_health``, ``erp_health_detail``, ``erp_checked_at``). A client that breaks after it was
connected (a right revoked, billable interfaces switched off, a key revoked, a Netvisor resource right
removed) shows at ``pulumi refresh`` as drift: ``~ erp_health: "OK" => "RIGHTS_MISSING"``, the detail
giving the cause and the fix in the ERP's own words (the guide check's message, never a secret).
- The checks are those of create (``verify``), at the ERPs' pace (Procountor's shared limiter, Netvisor's
  one-request-at-a-time gate), with the credentials stack config holds: a dynamic provider's read receives
  the outputs only and they never hold a key, so the key whose fingerprint the state has is found in
  ``roster:procountorApiKeys`` / ``roster:netvisorCredentials`` (``ProviderSettings``). None matching (the
  config was changed and not yet applied) is health ``UNKNOWN``, with what to do.
- An ERP problem never fails the refresh nor drops the resource: it is a health code. Only a failure to
  get an answer at all (transport or service failure after the retries) is ``UNKNOWN``, with its message.
- ``erp_checked_at`` is when the check that found the current health ran: a later check finding the same
  health keeps it, so a refresh of a healthy roster shows no change (``pulumi refresh --expect-no-changes``
  stays quiet).
- ``diff`` (offline) reports a change while the stored health is not OK, so the next ``up`` runs an update:
  it re-verifies (read-only, as create) and fails with the fix until the client is mended; then the
  outputs say OK again.
- ``fabricai:refreshErp: false`` skips the ERP part of read (0 ERP requests) and keeps the previous health.

Dimension predictions (DESIGN.md, Resources 5) live here, with the connection that makes them possible:
each roster dimension is ordered as a DIMENSION model (``POST /clients/{id}/models``) once FabricAI has
read the client's dimensions from the ERP (``GET /clients/{id}/dimensions`` has it). Until then the output
``dimension_predictions`` shows it ``WAITING``, and ``diff`` reports a change for it, so the next ``up``
orders it (an update that re-verifies and orders; the connection is left as it is). A dimension removed
from the roster keeps its model: the prediction stays ordered (docs/PORTAL_API.md says why).

``client_status`` is the client's training progress (``provider.portal.training``: CONNECTING, TRAINING,
IN_PRODUCTION, FAILED, INACTIVE) from its models, read right after connecting and at refresh. Reading it
is best effort (None when the portal fails that read): the connection is made by then.

Each ERP supplies (``IntegrationProvider`` subclass): its inputs model, how to verify credentials, the
portal ``system`` and credentials payload, the secret fingerprint mapping and its operator hint.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field

from provider.business_id import BusinessId
from provider.errors import FabricaiRosterError, PortalError, PrerequisiteFailed, ServiceError
from provider.portal import Connection, ErpSystem, PortalClient
from provider.portal.models import ClientBody, PredictionModel
from provider.portal.training import (
    WAITING,
    dimension_by_name,
    ordered_models,
    prediction_states,
    training_state,
)
from provider.resources.base import RosterResourceProvider, fingerprint
from provider.resources.client_company import about_client, client_label

log = logging.getLogger(__name__)


class IntegrationInputs(BaseModel):
    """The inputs every integration has; each ERP adds its credentials."""

    # Output seeds (None) may arrive with the inputs: ignore what is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: int = Field(gt=0)
    business_id: BusinessId
    client_name: str = Field(min_length=1)
    dimensions: list[str] = []

    @property
    def label(self) -> str:
        return client_label(self.client_name, self.business_id)


@dataclass(frozen=True)
class VerifiedCredentials:
    """What verifying the credentials proved about the client's ERP company."""

    erp_company_id: str
    verified_rights: Sequence[str]
    erp_company_name: str | None = None  # None when the ERP's API names no company (Netvisor)


Inputs = TypeVar("Inputs", bound=IntegrationInputs)


class IntegrationProvider(RosterResourceProvider, Generic[Inputs]):
    """Create/read/update/delete of an integration; subclasses supply only what differs per ERP."""

    replace_on = frozenset({"client_id", "business_id"})
    system: ClassVar[ErpSystem]
    erp_name: ClassVar[str]  # how messages name the ERP: "Procountor"
    # Inputs whose change is a rotation of the connection's credentials.
    credential_inputs: ClassVar[frozenset[str]]

    def verify(self, inputs: Inputs) -> VerifiedCredentials:
        """Every prerequisite of the guide, proven with these credentials; raises what the operator fixes."""
        raise NotImplementedError

    def portal_credentials(self, inputs: Inputs) -> dict[str, str]:
        """The ``credentials`` object the portal receives for this ERP."""
        raise NotImplementedError

    def credentials_hint(self, props: Mapping[str, Any]) -> str:
        """What the operator must do in the ERP about credentials no longer in use (no API can do it)."""
        raise NotImplementedError

    def stored_inputs(self, props: Mapping[str, Any]) -> Inputs | None:
        """The inputs of a refreshed state (its outputs) with the credentials of stack config whose
        fingerprint the state holds; None when stack config holds none of them."""
        raise NotImplementedError

    def health_code(self, error: PrerequisiteFailed) -> str:
        """The short code of a failed guide check (``RIGHTS_MISSING``...)."""
        raise NotImplementedError

    def _inputs(self, props: Mapping[str, Any]) -> Inputs:
        inputs: Inputs = self.inputs_model.model_validate(props)  # type: ignore[assignment]
        return inputs

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """As every resource, and: a roster dimension still waiting for its prediction is a change, so that
        the next ``up`` orders it (offline: read from the previous outputs)."""
        result = super().diff(id_, olds, news)
        if result.changes:
            return result
        if olds.get("erp_health") not in (None, HEALTH_OK):  # the next `up` re-verifies this client
            return DiffResult(changes=True, replaces=[], stables=None, delete_before_replace=False)
        if not isinstance(news.get("dimensions"), list):
            return result
        states = olds.get("dimension_predictions")
        if not isinstance(states, Mapping):  # a state from before predictions: a refresh fills them in
            return result
        pending = [name for name in news["dimensions"] if states.get(name) in PENDING_ORDER]
        return DiffResult(changes=bool(pending), replaces=[], stables=None, delete_before_replace=False)

    def _outputs(
        self,
        inputs: Inputs,
        verified: VerifiedCredentials,
        connection: Connection,
        progress: Progress,
    ) -> dict[str, Any]:
        secrets = {
            output: fingerprint(str(getattr(inputs, key))) for key, output in self.secret_fingerprints.items()
        }
        named = {} if verified.erp_company_name is None else {"erp_company_name": verified.erp_company_name}
        return {
            **inputs.model_dump(mode="json", exclude=set(self.secret_fingerprints)),
            **secrets,
            **named,
            "verified_rights": list(verified.verified_rights),
            **connection_outputs(connection, progress),
            **health_outputs(HEALTH_OK, None),
        }

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._inputs(props)
        verified = self.verify(inputs)
        with about_client(inputs.label):
            connection = self.context.portal.put_connection(
                inputs.client_id, self.system, verified.erp_company_id, self.portal_credentials(inputs)
            )
        if connection is None:
            raise PortalError(
                f"{inputs.label}: the portal has no client {inputs.client_id} to connect; run "
                "`pulumi refresh` and `pulumi up` so that its ClientCompany is registered first."
            )
        log.info("%s: connected to %s (connection %s)", inputs.label, self.erp_name, connection.id)
        progress = self._after_connecting(inputs, verified)
        return CreateResult(connection.id, self._outputs(inputs, verified, connection, progress))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self._inputs(news)
        verified = self.verify(inputs)  # new credentials are proven in full before the portal sees them
        portal = self.context.portal
        rotating = bool(self.credential_inputs & set(self.changed_keys(olds, news)))
        with about_client(inputs.label):
            if rotating:
                connection = self._rotate(inputs, id_, olds)
            else:  # dimensions or names changed: the connection stays as it is, if it is still ours
                connection = portal.get_connection(inputs.client_id)
        if connection is None or connection.id != id_:
            raise PortalError(
                f"{inputs.label}: the portal connection {id_} that this stack made no longer exists (it "
                "was removed, or replaced by another connection, outside Pulumi); nothing was changed. Fix: "
                "run `pulumi refresh` (it drops the integration from state), then `pulumi up` to connect "
                "again."
            )
        if rotating:
            log.warning(
                "%s: %s credentials rotated on connection %s; for the old ones, %s.",
                inputs.label,
                self.erp_name,
                id_,
                self.credentials_hint(olds),
            )
        progress = self._after_connecting(inputs, verified)
        return UpdateResult(self._outputs(inputs, verified, connection, progress))

    def _rotate(self, inputs: Inputs, id_: str, olds: Mapping[str, Any]) -> Connection | None:
        """PATCH the connection's credentials, settling any rotation whose outcome was unknown.

        Before: the connection is read. Gone or replaced, nothing is sent (the caller says so). Its
        ``credentialsRotatedAt`` differing from the stack's is a rotation this stack did not see finish (a
        failed run whose answer was lost) or a change made in the portal: the PATCH below sets the roster's
        credentials either way, and the log says so. A PATCH of the same credentials again is harmless
        (idempotent by content), so re-running a rotation is always safe.
        After a lost answer (retries exhausted, transport fault): the connection is read back. Rotated since
        ``before``, the PATCH was applied: success. Otherwise the error says what is known, never that
        nothing happened, and that ``pulumi up`` again finishes it.
        """
        portal = self.context.portal
        before = portal.get_connection(inputs.client_id)
        if before is None or before.id != id_:
            return before
        believed = olds.get("credentials_rotated_at")
        if before.credentials_rotated_at != believed:
            log.warning(
                "%s: the portal's %s credentials on connection %s were changed (at %s) after this stack "
                "last set them (at %s): an earlier rotation whose answer was lost, or a change made in the "
                "portal. They are now set to the roster's.",
                inputs.label,
                self.erp_name,
                id_,
                before.credentials_rotated_at or "an unknown time",
                believed or "connection",
            )
        try:
            return portal.rotate_credentials(inputs.client_id, id_, self.portal_credentials(inputs))
        except PortalError as error:
            if not _outcome_unknown(error):
                raise  # the portal refused it (a 4xx): its credentials are unchanged
            return self._settle_rotation(inputs, id_, before, error)

    def _settle_rotation(
        self, inputs: Inputs, id_: str, before: Connection, error: PortalError
    ) -> Connection | None:
        """A rotation whose answer was lost: read the connection back and decide, or say it is undecided."""
        cause = f"HTTP {error.status_code}" if error.status_code else "its answer was lost"
        again = (
            "Fix: run `pulumi up` again with the same roster: it finishes the rotation with the same key "
            "(harmless if the portal applied it already). To go back to the old key instead, run `pulumi "
            "refresh` first (it sees whether the portal took the new one), then `pulumi up`."
        )
        try:
            after = self.context.portal.get_connection(inputs.client_id)
        except PortalError:
            raise PortalError(
                f"the rotation of the {self.erp_name} credentials on portal connection {id_} may have "
                f"happened: the portal did not confirm it ({cause}, also after retries) and reading the "
                f"connection back failed too. {again}",
                status_code=error.status_code,
                retryable=True,
            ) from None
        if after is None or after.id != id_:
            return after  # gone or replaced meanwhile: the caller says so
        if after.credentials_rotated_at != before.credentials_rotated_at:
            log.warning(
                "%s: the portal did not confirm the rotation on connection %s (%s), but reading it back "
                "shows its credentials rotated at %s: the rotation happened.",
                inputs.label,
                id_,
                cause,
                after.credentials_rotated_at,
            )
            return after
        raise PortalError(
            f"the portal did not confirm the rotation of the {self.erp_name} credentials on connection {id_} "
            f"({cause}, also after retries); read back, the connection still shows the credentials it had "
            f"before (rotated at {before.credentials_rotated_at or 'connection'}), so the rotation has not "
            f"happened as far as the portal shows now, but it may still be in progress. {again}",
            status_code=error.status_code,
            retryable=True,
        )

    def _after_connecting(self, inputs: Inputs, verified: VerifiedCredentials) -> Progress:
        """Record the ERP company id, order what dimension predictions can be ordered, read the progress.

        Best effort: the portal already holds the connection, so failing the whole create or update here
        would leave a connection the state does not know of. What could not be done shows in the outputs
        (a WAITING prediction, a None status) and the next ``up`` or ``refresh`` does it."""
        portal = self.context.portal
        try:
            record = portal.get_client(inputs.client_id)
            if record is None:
                return Progress(None, {name: WAITING for name in inputs.dimensions})
            if record.accounting_system_company_id != verified.erp_company_id:
                record = (
                    portal.update_client(
                        inputs.client_id, ClientBody(accounting_system_company_id=verified.erp_company_id)
                    )
                    or record
                )
            predictions, models = _order_predictions(portal, inputs)
            return Progress(training_state(record.status, models), predictions)
        except PortalError as error:
            log.warning(
                "%s: connected; the client's portal status could not be read (%s). `pulumi refresh` will "
                "read it, and `pulumi up` orders any dimension prediction still waiting; nothing else to do.",
                inputs.label,
                f"HTTP {error.status_code}" if error.status_code else "no answer",
            )
            return Progress(None, {name: WAITING for name in inputs.dimensions})

    def _read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        label = _label_of(props)
        client_id = int(props["client_id"])
        portal = self.context.portal
        with about_client(label):
            listed = portal.directory.by_id(client_id)
            status = listed.status if listed is not None else None
            if listed is None:
                record = portal.get_client(client_id)  # the listing may predate the client
                status = None if record is None else record.status
                if record is None:
                    log.info(
                        "%s: portal client %s is gone; dropping the integration from state", label, client_id
                    )
                    return ReadResult("", {})
            connection = portal.get_connection(client_id)
            if connection is None or connection.id != id_:
                log.info(
                    "%s: portal connection %s is gone or was replaced; dropping it from state", label, id_
                )
                return ReadResult("", {})
            models = portal.models(client_id)
            wanted = [str(name) for name in props.get("dimensions") or []]
            dimensions = portal.client_dimensions(client_id) if wanted else []
            progress = Progress(training_state(status, models), prediction_states(wanted, dimensions, models))
        outputs = {**props, **connection_outputs(connection, progress)}
        health: dict[str, Any] = {}
        if self._rotated_elsewhere(props, connection, label):
            # Whatever the roster says now differs from this: the next `up` sets the roster's credentials.
            outputs.update({output: CREDENTIALS_UNKNOWN for output in self.secret_fingerprints.values()})
            detail = (
                f"the portal's {self.erp_name} credentials were changed after this stack last set them, so "
                "the ERP was not checked. Fix: run `pulumi up`: it sets the roster's credentials again."
            )
            if self._settings.refresh_erp:  # refreshErp: false keeps the previous health
                health = health_outputs(HEALTH_UNKNOWN, detail)
        elif self._settings.refresh_erp:
            health = self._erp_health(props)
        return ReadResult(id_, {**outputs, **health})

    def _rotated_elsewhere(self, props: Mapping[str, Any], connection: Connection, label: str) -> bool:
        """The connection's credentials were rotated at another time than this stack recorded (none recorded:
        not since it connected; the engine drops an output that is None)."""
        believed = props.get("credentials_rotated_at")
        if _same_instant(connection.credentials_rotated_at, believed):
            return False
        log.warning(
            "%s: the portal's %s credentials on connection %s were changed at %s, after this stack last set "
            "them (at %s): a rotation whose answers were lost (the roster since reverted, perhaps), or a "
            "change made in the portal. The next `pulumi up` sets the roster's credentials again.",
            label,
            self.erp_name,
            connection.id,
            connection.credentials_rotated_at or "an unknown time",
            believed or "connection",
        )
        return True

    def _erp_health(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The guide's checks again, read-only, as health outputs; never raises for what the ERP says."""
        label = _label_of(props)
        inputs = self.stored_inputs(props)
        if inputs is None:
            code, detail = (
                HEALTH_UNKNOWN,
                f"stack config holds no {self.erp_name} credentials with the fingerprint of those this "
                "connection uses (changed or removed since the last `pulumi up`), so the ERP was not "
                "checked. Fix: run `pulumi up` to apply the roster as configured.",
            )
        else:
            try:
                self.verify(inputs)
            except PrerequisiteFailed as error:
                code, detail = self.health_code(error), f"{error.cause} Fix: {error.fix}"
            except ServiceError as error:
                code, detail = (
                    HEALTH_UNKNOWN,
                    (
                        f"{self.erp_name} could not be checked: {_without_label(str(error), label)} "
                        "(the next `pulumi refresh` checks again)."
                    ),
                )
            except FabricaiRosterError as error:  # a provider-wide setting: missing, or refused by the ERP
                code = "PARTNER_CREDENTIALS_REFUSED" if "refused" in str(error) else "SETTINGS_MISSING"
                detail = _without_label(str(error), label)
            else:
                code, detail = HEALTH_OK, None
        if code != HEALTH_OK:
            log.warning("%s: %s health %s: %s", label, self.erp_name, code, detail)
        if props.get("erp_health") == code and props.get("erp_health_detail") == detail:
            return {}  # the same health as found before: keep when it was found (no drift)
        return health_outputs(code, detail)

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        label = _label_of(props)
        with about_client(label):
            removed = self.context.portal.delete_connection(int(props["client_id"]), id_)
        log.warning(
            "%s: %s; %s.",
            label,
            f"disconnected from the FabricAI portal ({self.erp_name} connection {id_} removed)"
            if removed
            else f"{self.erp_name} connection {id_} was already gone from the portal (or replaced)",
            self.credentials_hint(props),
        )


def _outcome_unknown(error: PortalError) -> bool:
    """A failed write whose effect the portal may have kept: no answer, or 5xx/429 after retries."""
    return error.retryable or error.status_code is None or error.status_code >= 500


# Prediction states that the next `up` still acts on.
PENDING_ORDER = frozenset({WAITING, "NOT_IN_ERP"})


@dataclass(frozen=True)
class Progress:
    """The client's training progress and its dimension predictions, as the outputs show them."""

    client_status: str | None
    dimension_predictions: Mapping[str, str]


def _order_predictions(
    portal: PortalClient, inputs: IntegrationInputs
) -> tuple[dict[str, str], list[PredictionModel]]:
    """Order a DIMENSION model for each roster dimension FabricAI has read and that has none yet; the
    predictions' states and the client's models."""
    log_label = inputs.label
    models = list(portal.models(inputs.client_id))
    if not inputs.dimensions:
        return {}, models
    dimensions = portal.client_dimensions(inputs.client_id)
    ordered = ordered_models(models)
    for name in inputs.dimensions:
        dimension = dimension_by_name(dimensions, name)
        if dimension is None or dimension.id in ordered:
            continue
        model = portal.order_dimension_model(inputs.client_id, dimension.id)
        models.append(model)
        ordered = ordered_models(models)
        log.info("%s: dimension predictions ordered for %s (model %s)", log_label, name, model.id)
    states = prediction_states(inputs.dimensions, dimensions, models)
    waiting = [name for name, state in states.items() if state in PENDING_ORDER]
    if waiting:
        log.info(
            "%s: FabricAI has not read %s from the ERP yet; the next `pulumi up` orders the predictions",
            log_label,
            ", ".join(waiting),
        )
    return states, models


# The outputs every integration has besides its inputs and its secrets' fingerprints.
INTEGRATION_OUTPUTS = (
    "connection_id",
    "erp_company_id",
    "verified_rights",
    "connected_at",
    "credentials_rotated_at",
    "status",
    "client_status",
    "dimension_predictions",
    "erp_health",
    "erp_health_detail",
    "erp_checked_at",
)


def connection_outputs(connection: Connection, progress: Progress) -> dict[str, Any]:
    """The outputs every integration has about its portal connection and the client's progress."""
    return {
        "connection_id": connection.id,
        "erp_company_id": connection.erp_company_id,
        "connected_at": connection.connected_at,
        "credentials_rotated_at": connection.credentials_rotated_at,
        "status": connection.status,
        "client_status": progress.client_status,
        "dimension_predictions": dict(progress.dimension_predictions),
    }


# The fingerprint read stores when the portal's credentials were changed outside this stack: it matches no
# key, so the next `up` rotates to the roster's credentials whatever they are.
CREDENTIALS_UNKNOWN = "unknown: changed outside this stack"
HEALTH_OK = "OK"
# The ERP could not be checked (no answer after the retries, or no credentials to check with).
HEALTH_UNKNOWN = "UNKNOWN"
HEALTH_OUTPUTS = ("erp_health", "erp_health_detail", "erp_checked_at")


def health_outputs(code: str, detail: str | None) -> dict[str, Any]:
    checked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"erp_health": code, "erp_health_detail": detail, "erp_checked_at": checked_at}


def _same_instant(portal: str | None, stored: Any) -> bool:
    """Two ``credentialsRotatedAt`` values that name one instant (``Z`` or ``+00:00``, any precision)."""
    if portal == stored:
        return True
    if not isinstance(portal, str) or not isinstance(stored, str):
        return False
    try:
        return dt.datetime.fromisoformat(portal) == dt.datetime.fromisoformat(stored)
    except ValueError:
        return False


def _without_label(message: str, label: str) -> str:
    return message.removeprefix(f"{label}: ")


def _label_of(props: Mapping[str, Any]) -> str:
    return client_label(str(props.get("client_name", "?")), str(props.get("business_id", "?")))
