"""The lifecycle every ERP integration shares: one client's portal connection, whose id is the resource's.

Whoever verifies (FabricAI through the portal; the provider itself in partner mode), the verdict is a
``Verification`` worded in one place (``provider.verification.messages``). Decisions:
- create and update verify before the portal stores anything; a failed verification stores nothing;
- a credentials change is a rotation: a verified PATCH, and a lost answer is settled by reading the
  connection back, never reported as "nothing happened";
- a connection removed or replaced outside Pulumi fails an update and is dropped by a refresh;
- after connecting, the ERP company id and dimension predictions are best effort (never fail the create);
- read flags credentials rotated elsewhere (fingerprint ``CREDENTIALS_UNKNOWN``, health
  ``CREDENTIALS_CHANGED``, the ERP not checked); otherwise it reports the ERP health.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BaseModel, ConfigDict, Field

from provider.business_id import BusinessId
from provider.errors import FabricaiRosterError, PortalError, ServiceError, VerificationRefused
from provider.portal import Connection, ErpSystem
from provider.portal.models import ClientBody
from provider.portal.training import prediction_states, training_state
from provider.redaction import redact_error
from provider.resources.base import RosterResourceProvider, fingerprint
from provider.resources.client_company import about_client, client_label
from provider.resources.erp_health import (
    CREDENTIALS_UNKNOWN,
    HEALTH_CREDENTIALS_CHANGED,
    HEALTH_OK,
    HEALTH_UNKNOWN,
    HealthOutputs,
    changed_health,
    health_outputs,
)
from provider.resources.predictions import PENDING_ORDER, Progress, order_predictions, waiting
from provider.resources.schema import READ, REPLACES, OutputsModel
from provider.verification.findings import Verification
from provider.verification.messages import Subject, VerifiedBy, explain, health, verified_rights

log = logging.getLogger(__name__)


class IntegrationInputs(BaseModel):
    """The inputs every integration has; each ERP adds its credentials."""

    # Output seeds (None) may arrive with the inputs: ignore what is not an input.
    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: Annotated[int, Field(gt=0), REPLACES]
    business_id: Annotated[BusinessId, REPLACES]
    client_name: str = Field(min_length=1)
    dimensions: list[str] = Field(default=[], description="names of dimensions to predict")

    @property
    def label(self) -> str:
        return client_label(self.client_name, self.business_id)


class ConnectionOutputs(OutputsModel):
    """What every integration reports of its portal connection and of the client's progress."""

    connection_id: str
    erp_company_id: str
    connected_at: str | None
    credentials_rotated_at: str | None = Field(description="as this stack last set or read it")
    status: Annotated[str | None, READ] = Field(description="the portal connection's")
    client_status: Annotated[str | None, READ] = Field(
        description="the client's training, as `ClientCompany.training`"
    )
    dimension_predictions: Annotated[dict[str, str], READ] = Field(
        description="dimension -> its prediction's state"
    )


# Bases in this order: pydantic lists the connection outputs first, then the health.
class IntegrationOutputs(HealthOutputs, ConnectionOutputs):
    """The outputs every integration adds; each ERP adds its fingerprints."""

    verified_rights: list[str]


Inputs = TypeVar("Inputs", bound=IntegrationInputs)


class IntegrationProvider(RosterResourceProvider, Generic[Inputs]):
    """Create/read/update/delete of an integration; subclasses supply only what differs per ERP."""

    outputs_model: ClassVar[type[IntegrationOutputs]]
    id_is = "portal connection id"
    system: ClassVar[ErpSystem]
    erp_name: ClassVar[str]  # how messages name the ERP: "Procountor"
    # Inputs whose change is a rotation of the connection's credentials.
    credential_inputs: ClassVar[frozenset[str]]

    def local_verification(self, inputs: Inputs) -> Verification:
        """The guide's checks run here with FabricAI's partner credentials (partner mode)."""
        raise NotImplementedError

    def portal_credentials(self, inputs: Inputs) -> dict[str, str]:
        """The ``credentials`` object the portal receives for this ERP."""
        raise NotImplementedError

    def subject(self, inputs: Inputs | None, props: Mapping[str, Any]) -> Subject:
        """What the verification's words say of the client (from the inputs, or a state's outputs)."""
        values = inputs.model_dump(mode="json", exclude=set(self.secret_fingerprints)) if inputs else props
        business_id = str(values.get("business_id", "?"))
        return Subject(
            label=client_label(str(values.get("client_name", "?")), business_id),
            business_id=business_id,
            system=self.system,
            verified_by=self.verified_by,
            hide=self._secrets(inputs),
            **self.subject_words(values),
        )

    def _secrets(self, inputs: Inputs | None) -> tuple[str, ...]:
        """What no verification's words may show: the credentials verified, and the keys stack config holds
        (a refresh's re-verification knows only those)."""
        settings = self._settings
        known = [key.get_secret_value() for key in settings.stored_procountor_keys]
        known += [key.get_secret_value() for _, key in settings.stored_netvisor_credentials]
        if settings.portal_api_key is not None:
            known.append(settings.portal_api_key.get_secret_value())
        if inputs is not None:
            known += [value for key, value in self.portal_credentials(inputs).items() if key != "customerId"]
        return tuple(value for value in known if value)

    def subject_words(self, values: Mapping[str, Any]) -> dict[str, str]:
        """What else this ERP's words name (Netvisor: the credential pair, FabricAI's access key)."""
        return {}

    def credentials_hint(self, props: Mapping[str, Any]) -> str:
        """What the operator must do in the ERP about credentials no longer in use (no API can do it)."""
        raise NotImplementedError

    def stored_inputs(self, props: Mapping[str, Any]) -> Inputs | None:
        """Partner mode's refresh: the inputs of a refreshed state (its outputs) with the credentials of
        stack config whose fingerprint the state holds; None when stack config holds none of them."""
        raise NotImplementedError

    @property
    def verified_by(self) -> VerifiedBy:
        return self._settings.verification_for(self.system)

    def _inputs(self, props: Mapping[str, Any]) -> Inputs:
        inputs: Inputs = self.inputs_model.model_validate(props)  # type: ignore[assignment]
        return inputs

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """As every resource, and: a stored health that is not OK, or a roster dimension still waiting for
        its prediction, is a change, so that the next ``up`` re-verifies or orders it (offline)."""
        result = super().diff(id_, olds, news)
        if result.changes:
            return result
        if olds.get("erp_health") not in (None, HEALTH_OK):
            return DiffResult(changes=True, replaces=[], stables=None, delete_before_replace=False)
        if not isinstance(news.get("dimensions"), list):
            return result
        states = olds.get("dimension_predictions")
        if not isinstance(states, Mapping):  # a state from before predictions: a refresh fills them in
            return result
        pending = [name for name in news["dimensions"] if states.get(name) in PENDING_ORDER]
        return DiffResult(changes=bool(pending), replaces=[], stables=None, delete_before_replace=False)

    # ---- verification ----

    def _passed(self, verification: Verification | None, inputs: Inputs) -> Verification:
        """The verification if it passed; else the guide's words for its first failure, raised."""
        if verification is None:
            raise PortalError(
                f"{inputs.label}: the FabricAI portal at fabricai:portalUrl stored the connection without "
                "reporting a verification of the credentials, so the guide's checks are not proven. Fix: use "
                "a portal whose connection extension verifies (docs/PORTAL_API.md); FabricAI's own staff may "
                "verify locally with the partner credentials."
            )
        if not verification.passed:
            raise explain(verification, self.subject(inputs, {}))
        return verification

    def _refused(self, refused: VerificationRefused, inputs: Inputs) -> FabricaiRosterError:
        """The portal's own verdict, worded as the portal's (even in partner mode: its findings, e.g. its
        partner app refused, are FabricAI's, not this stack's settings)."""
        assert isinstance(refused.verification, Verification)
        subject = dataclasses.replace(self.subject(inputs, {}), verified_by="portal")
        return explain(refused.verification, subject)

    def erp_outputs(self, verification: Verification) -> dict[str, Any]:
        """The outputs only this ERP's ``Outputs`` model has (Procountor: the company's name)."""
        return {}

    def _outputs(
        self, inputs: Inputs, verification: Verification, connection: Connection, progress: Progress
    ) -> dict[str, Any]:
        secrets = {
            output: fingerprint(str(getattr(inputs, key))) for key, output in self.secret_fingerprints.items()
        }
        added = self.outputs_model(
            **secrets,
            **self.erp_outputs(verification),
            verified_rights=verified_rights(verification),
            **connection_outputs(connection, progress),
            **health_outputs(HEALTH_OK, None),
        )
        return self.outputs_of(inputs, added)

    # ---- the lifecycle ----

    def _create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._inputs(props)
        local = self._passed(self.local_verification(inputs), inputs) if self.verified_by == "local" else None
        company_id = local.company.erp_company_id if local is not None and local.company else None
        with about_client(inputs.label):
            try:
                connection = self.context.portal.connections.put(
                    inputs.client_id,
                    self.system,
                    self.portal_credentials(inputs),
                    erp_company_id=company_id,
                    dimensions=inputs.dimensions,
                )
            except VerificationRefused as refused:
                raise self._refused(refused, inputs) from None
        if connection is None:
            raise PortalError(
                f"{inputs.label}: the portal has no client {inputs.client_id} to connect; run "
                "`pulumi refresh` and `pulumi up` so that its ClientCompany is registered first."
            )
        verification = local or self._passed(connection.verification, inputs)
        log.info("%s: connected to %s (connection %s)", inputs.label, self.erp_name, connection.id)
        progress = self._after_connecting(inputs, connection)
        return CreateResult(connection.id, self._outputs(inputs, verification, connection, progress))

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self._inputs(news)
        # New credentials are proven in full before the portal keeps them (the portal's PATCH verifies too).
        local = self._passed(self.local_verification(inputs), inputs) if self.verified_by == "local" else None
        portal = self.context.portal
        rotating = bool(self.credential_inputs & set(self.changed_keys(olds, news)))
        with about_client(inputs.label):
            if rotating:
                connection = self._rotate(inputs, id_, olds)
            else:  # dimensions or names changed: the connection stays as it is, if it is still ours
                connection = portal.connections.get(inputs.client_id)
            if connection is None or connection.id != id_:
                raise PortalError(
                    f"{inputs.label}: the portal connection {id_} that this stack made no longer exists (it "
                    "was removed, or replaced by another connection, outside Pulumi); nothing was changed. "
                    "Fix: run `pulumi refresh` (it drops the integration from state), then `pulumi up` to "
                    "connect again."
                )
            if local is not None:
                verification = local
            elif rotating:
                verification = self._passed(connection.verification, inputs)
            else:
                verification = self._passed(
                    portal.connections.verify_stored(inputs.client_id, id_, inputs.dimensions), inputs
                )
        if rotating:
            log.warning(
                "%s: %s credentials rotated on connection %s; for the old ones, %s.",
                inputs.label,
                self.erp_name,
                id_,
                self.credentials_hint(olds),
            )
        progress = self._after_connecting(inputs, connection)
        return UpdateResult(self._outputs(inputs, verification, connection, progress))

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
        before = portal.connections.get(inputs.client_id)
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
            return portal.connections.rotate(
                inputs.client_id, id_, self.portal_credentials(inputs), inputs.dimensions
            )
        except VerificationRefused as refused:  # verified and refused: the old credentials are kept
            raise self._refused(refused, inputs) from None
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
            after = self.context.portal.connections.get(inputs.client_id)
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

    def _after_connecting(self, inputs: Inputs, connection: Connection) -> Progress:
        """Record the ERP company id, order what dimension predictions can be ordered, read the progress.

        Best effort: the portal already holds the connection, so failing the whole create or update here
        would leave a connection the state does not know of. What could not be done shows in the outputs
        (a WAITING prediction, a None status) and the next ``up`` or ``refresh`` does it."""
        portal = self.context.portal
        try:
            record = portal.get_client(inputs.client_id)
            if record is None:
                return waiting(inputs.dimensions)
            if record.accounting_system_company_id != connection.erp_company_id:
                changes = ClientBody(accounting_system_company_id=connection.erp_company_id)
                record = portal.update_client(inputs.client_id, changes, record) or record
            predictions, models = order_predictions(portal, inputs.client_id, inputs.dimensions, inputs.label)
            return Progress(training_state(record.status, models), predictions)
        except PortalError as error:
            log.warning(
                "%s: connected; the client's portal status could not be read (%s). `pulumi refresh` will "
                "read it, and `pulumi up` orders any dimension prediction still waiting; nothing else to do.",
                inputs.label,
                f"HTTP {error.status_code}" if error.status_code else "no answer",
            )
            return waiting(inputs.dimensions)

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
            connection = portal.connections.get(client_id)
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
        health_now: dict[str, Any] = {}
        if self._rotated_elsewhere(props, connection, label):
            # Whatever the roster says now differs from this: the next `up` sets the roster's credentials.
            outputs.update({output: CREDENTIALS_UNKNOWN for output in self.secret_fingerprints.values()})
            detail = (
                f"the portal's {self.erp_name} credentials were changed after this stack last set them, so "
                "the ERP was not checked. Fix: run `pulumi up`: it sets the roster's credentials again."
            )
            if self._settings.refresh_erp:  # refreshErp: false keeps the previous health
                health_now = health_outputs(HEALTH_CREDENTIALS_CHANGED, detail)
        elif self._settings.refresh_erp:
            health_now = self._erp_health(id_, props, wanted)
        return ReadResult(id_, {**outputs, **health_now})

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

    def _erp_health(self, id_: str, props: Mapping[str, Any], dimensions: list[str]) -> dict[str, Any]:
        """The guide's checks again, read-only, as health outputs; never raises for what the ERP says."""
        label = _label_of(props)
        subject = self.subject(None, props)
        try:
            if self.verified_by == "portal":
                client_id = int(props["client_id"])
                verification = self.context.portal.connections.verify_stored(client_id, id_, dimensions)
            else:
                inputs = self.stored_inputs(props)
                if inputs is None:
                    return changed_health(props, HEALTH_UNKNOWN, self._no_stored_credentials())
                verification = self.local_verification(inputs)
        except ServiceError as error:
            # The portal may quote the credentials it holds for this connection: none of the keys this stack
            # knows may reach an output that is not secret (redacted whole, before the message is shortened).
            redact_error(error, self._secrets(None))
            unchecked = (
                f"{self.erp_name} could not be checked: {_without_label(str(error), label)} (the next "
                "`pulumi refresh` checks again)."
            )
            return changed_health(props, HEALTH_UNKNOWN, unchecked)
        except FabricaiRosterError as error:  # a provider-wide setting missing or malformed
            return changed_health(props, "SETTINGS_MISSING", _without_label(str(error), label))
        if verification is None:  # the connection went away between the two reads: the next refresh drops it
            return {}
        code, detail = health(verification, subject)
        if code != HEALTH_OK:
            log.warning("%s: %s health %s: %s", label, self.erp_name, code, detail)
        return changed_health(props, code, detail)

    def _no_stored_credentials(self) -> str:
        return (
            f"stack config holds no {self.erp_name} credentials with the fingerprint of those this "
            "connection uses (changed or removed since the last `pulumi up`), so the ERP was not checked. "
            "Fix: run `pulumi up` to apply the roster as configured."
        )

    def _delete(self, id_: str, props: dict[str, Any]) -> None:
        label = _label_of(props)
        with about_client(label):
            removed = self.context.portal.connections.delete(int(props["client_id"]), id_)
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


def connection_outputs(connection: Connection, progress: Progress) -> dict[str, Any]:
    """The outputs every integration has about its portal connection and the client's progress."""
    return ConnectionOutputs(
        connection_id=connection.id,
        erp_company_id=connection.erp_company_id,
        connected_at=connection.connected_at,
        credentials_rotated_at=connection.credentials_rotated_at,
        status=connection.status,
        client_status=progress.client_status,
        dimension_predictions=dict(progress.dimension_predictions),
    ).model_dump(mode="json")


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
