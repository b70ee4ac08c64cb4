"""The FabricAI portal API client (the API of DESIGN.md) and its pydantic models.

Conventions: ``Authorization: Bearer <organisation key>``, ``{"data": ...}`` envelopes, ``{"count", "data"}``
pages of at most 50, ``{"error": "..."}`` errors. Every call goes through the one ``RetryPolicy``; the key
travels only in a header, never in a URL, a log line or a message.

Two choices worth knowing:
- **Registering is safe to retry.** The business ID is looked up before the first ``POST /clients`` (a
  record already there is someone else's); after a timeout, a dropped answer or a 5xx it is looked up
  before trying again, so a lost 201 never registers a client twice and an older record is never taken.
- **Refresh reads from a snapshot.** ``client_snapshot`` lists every client in pages of 50 once and keeps
  the result for ``snapshot_ttl`` seconds (invalidated by any write through this client). Each client
  record embeds a summary of its connection, so a refresh of N ClientCompany *and* integration resources
  costs about N/50 requests instead of 2N. A client missing from the snapshot is confirmed with one
  ``GET /clients/{id}`` before it is reported gone, so a stale snapshot never drops a live resource.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from provider import defaults
from provider.business_id import InvalidBusinessId, normalise
from provider.errors import AlreadyRegistered, PortalError
from provider.http import TRANSPORT_ERRORS, build_client, transport_failure
from provider.retry import RetryableStatus, RetryPolicy
from provider.settings import PortalSettings

T = TypeVar("T")

PAGE_LIMIT = defaults.PORTAL_PAGE_LIMIT
DEFAULT_SNAPSHOT_TTL = defaults.PORTAL_SNAPSHOT_TTL_SECONDS

ErpSystem = Literal["procountor", "netvisor"]


class _PortalModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class VatSetting(_PortalModel):
    mode: str
    deduction_percent: int | None = None


class ConnectionInfo(_PortalModel):
    """A client's ERP connection as the portal shows it (never with credentials)."""

    id: str
    system: str
    erp_company_id: str
    status: str
    connected_at: str | None = None
    credentials_rotated_at: str | None = None


class ClientRecord(_PortalModel):
    """A client company as the portal holds it. ``connection`` is the embedded summary (None: none)."""

    id: int
    name: str
    business_id: str
    vat_number: str | None = None
    process: str
    vat: VatSetting
    dimensions: list[str]
    favorite: bool
    teams: list[str]
    tags: dict[str, str]
    status: str
    system: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    connection: ConnectionInfo | None = None

    @property
    def embeds_connection(self) -> bool:
        """Whether the portal sent the connection summary (a portal that does not must be asked)."""
        return "connection" in self.model_fields_set


class ClientFields(_PortalModel):
    """The settable fields of a client; unset fields are not sent (a PATCH changes only what is set)."""

    name: str | None = None
    process: str | None = None
    vat: VatSetting | None = None
    dimensions: list[str] | None = None
    favorite: bool | None = None
    teams: list[str] | None = None
    tags: dict[str, str] | None = None

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


@dataclass(frozen=True)
class _Snapshot:
    taken_at: float
    clients: Mapping[int, ClientRecord]


class PortalClient:
    """One organisation's view of the portal; thread-safe, shared by every resource of a run."""

    # Tests shrink the waits by replacing this before the provider builds its clients.
    default_retry: ClassVar[RetryPolicy] = RetryPolicy()

    def __init__(
        self,
        settings: PortalSettings,
        *,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        snapshot_ttl: float = DEFAULT_SNAPSHOT_TTL,
    ) -> None:
        self._retry = retry or self.default_retry
        self._http = http or build_client(settings.url)
        self._auth = {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}
        self._snapshot_ttl = snapshot_ttl
        self._snapshot: _Snapshot | None = None
        self._generation = 0
        self._state_lock = threading.Lock()
        self._fetch_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PortalClient({self._http.base_url})"

    # ---- clients ----------------------------------------------------------------------------------------

    def list_clients(self, *, page: int = 1, limit: int = PAGE_LIMIT) -> tuple[int, list[ClientRecord]]:
        """One page of clients: the total count and the records."""
        return self._call(
            "GET",
            "/clients",
            what="listing clients",
            params={"page": page, "limit": limit},
            handle=lambda response: _page(response, "listing clients"),
        )

    def find_client(self, business_id: str) -> ClientRecord | None:
        """The client registered with this business ID, or None.

        Only a record that really carries the business ID counts: a portal that ignored the filter must
        never make us report (or adopt) somebody else's client. Such a portal is still safe, as a POST
        of a registered business ID answers 409.
        """
        what = f"looking up business ID {business_id}"
        _, records = self._call(
            "GET",
            "/clients",
            what=what,
            params={"businessId": business_id, "limit": PAGE_LIMIT},
            handle=lambda response: _page(response, what),
        )
        return next((record for record in records if _same_business(record.business_id, business_id)), None)

    def get_client(self, client_id: int) -> ClientRecord | None:
        """The client with this id, or None when the portal has no such client."""
        what = f"reading client {client_id}"
        return self._call(
            "GET",
            f"/clients/{client_id}",
            what=what,
            handle=lambda r: _data(r, ClientRecord, what, none_on=404),
        )

    def create_client(self, business_id: str, fields: ClientFields) -> ClientRecord:
        """Register a client. AlreadyRegistered (with ``existing_id``) when the business ID is taken.

        The business ID is looked up before the first POST: a record already there is someone else's
        (AlreadyRegistered), never ours. Only then is registering safe to retry: before each retry the
        business ID is looked up again, and a record found there now is the one our lost attempt
        registered. A registration racing ours between the look-up and the POST still meets the 409."""
        what = f"registering business ID {business_id}"

        def taken(existing: int) -> AlreadyRegistered:
            return AlreadyRegistered(
                f"business ID {business_id} is already registered in the FabricAI portal as client "
                f"{existing}",
                existing_id=existing,
            )

        def handle(response: httpx.Response) -> ClientRecord:
            if response.status_code == 409:
                existing = _json(response, what).get("id")
                if not isinstance(existing, int):
                    raise _unexpected(response, what)
                raise taken(existing)
            record = _data(response, ClientRecord, what, none_on=None)
            assert record is not None
            return record

        before = self.find_client(business_id)
        if before is not None:
            raise taken(before.id)
        try:
            return self._call(
                "POST",
                "/clients",
                what=what,
                json={"businessId": business_id, **fields.body()},
                handle=handle,
                idempotent=False,
                recover=lambda: self.find_client(business_id),
            )
        except PortalError as error:
            # The last attempt may have registered the client before its answer was lost: look once more,
            # or the next run would meet its own registration as a 409.
            if not error.retryable or isinstance(error, AlreadyRegistered):
                raise
            try:
                found = self.find_client(business_id)
            except PortalError:
                found = None
            if found is None:
                raise error from None
            return found
        finally:
            self._invalidate()

    def update_client(self, client_id: int, changes: ClientFields) -> ClientRecord | None:
        """PATCH only the fields set in ``changes``; None when the client no longer exists."""
        what = f"updating client {client_id}"
        try:
            return self._call(
                "PATCH",
                f"/clients/{client_id}",
                what=what,
                json=changes.body(),
                handle=lambda r: _data(r, ClientRecord, what, none_on=404),
            )
        finally:
            self._invalidate()

    def delete_client(self, client_id: int) -> bool:
        """Remove the client; False when it was already gone (which is success for a delete)."""
        what = f"removing client {client_id}"
        try:
            return self._call("DELETE", f"/clients/{client_id}", what=what, handle=lambda r: _gone(r, what))
        finally:
            self._invalidate()

    # ---- the refresh snapshot -----------------------------------------------------------------------------

    def client_snapshot(self) -> Mapping[int, ClientRecord]:
        """Every client by id, listed at most once per ``snapshot_ttl`` (one fetch however many ask)."""
        with self._fetch_lock:
            with self._state_lock:
                snapshot, generation = self._snapshot, self._generation
            if snapshot is not None and time.monotonic() - snapshot.taken_at < self._snapshot_ttl:
                return snapshot.clients
            taken_at = time.monotonic()
            clients = self._list_all()
            with self._state_lock:
                # A write during the listing may have made it stale: serve it once, but do not keep it.
                if generation == self._generation:
                    self._snapshot = _Snapshot(taken_at, clients)
            return clients

    def client_from_snapshot(self, client_id: int) -> ClientRecord | None:
        """The client from the snapshot; a miss is confirmed with one GET before it counts as gone."""
        found = self.client_snapshot().get(client_id)
        return found if found is not None else self.get_client(client_id)

    def _list_all(self) -> dict[int, ClientRecord]:
        count, records = self.list_clients(page=1)
        clients = {record.id: record for record in records}
        for page in range(2, math.ceil(count / PAGE_LIMIT) + 1):
            clients.update((record.id, record) for record in self.list_clients(page=page)[1])
        return clients

    def _invalidate(self) -> None:
        with self._state_lock:
            self._snapshot = None
            self._generation += 1

    # ---- connections --------------------------------------------------------------------------------------

    def put_connection(
        self, client_id: int, system: ErpSystem, erp_company_id: str, credentials: Mapping[str, str]
    ) -> ConnectionInfo | None:
        """Connect the client (replacing any previous connection); None when the client does not exist."""
        what = f"connecting client {client_id} to {system}"
        body = {"system": system, "erpCompanyId": erp_company_id, "credentials": dict(credentials)}
        try:
            return self._call(
                "PUT",
                f"/clients/{client_id}/connection",
                what=what,
                json=body,
                handle=lambda r: _data(r, ConnectionInfo, what, none_on=404),
            )
        finally:
            self._invalidate()

    def get_connection(self, client_id: int) -> ConnectionInfo | None:
        """The client's current connection, or None (no connection, or no such client)."""
        what = f"reading the connection of client {client_id}"
        return self._call(
            "GET",
            f"/clients/{client_id}/connection",
            what=what,
            handle=lambda r: _data(r, ConnectionInfo, what, none_on=404),
        )

    def rotate_credentials(
        self, client_id: int, connection_id: str, credentials: Mapping[str, str]
    ) -> ConnectionInfo | None:
        """Replace the credentials of that connection; None when it is gone or was replaced."""
        what = f"rotating the credentials of connection {connection_id} of client {client_id}"
        try:
            return self._call(
                "PATCH",
                f"/clients/{client_id}/connection/{connection_id}",
                what=what,
                json={"credentials": dict(credentials)},
                handle=lambda r: _data(r, ConnectionInfo, what, none_on=404),
            )
        finally:
            self._invalidate()

    def delete_connection(self, client_id: int, connection_id: str) -> bool:
        """Disconnect that connection only; False when it was already gone or replaced by a newer one."""
        what = f"disconnecting connection {connection_id} of client {client_id}"
        try:
            return self._call(
                "DELETE",
                f"/clients/{client_id}/connection/{connection_id}",
                what=what,
                handle=lambda r: _gone(r, what),
            )
        finally:
            self._invalidate()

    # ---- plumbing -----------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        handle: Callable[[httpx.Response], T],
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        recover: Callable[[], T | None] | None = None,
    ) -> T:
        def attempt() -> T:
            response = self._http.request(method, path, params=params, json=json, headers=self._auth)
            if self._retry.should_retry_status(response.status_code):
                raise RetryableStatus(response)
            return handle(response)

        try:
            return self._retry.call(
                attempt, idempotent=idempotent, describe=f"portal {method} {path}", recover=recover
            )
        except RetryableStatus as error:
            raise PortalError(
                f"The FabricAI portal kept failing while {what} (last answer HTTP "
                f"{error.response.status_code}). Nothing is half-done: run `pulumi up` again later.",
                status_code=error.response.status_code,
                retryable=True,
            ) from None
        except TRANSPORT_ERRORS as error:
            raise transport_failure(
                error,
                PortalError,
                "The FabricAI portal",
                f" while {what}, also after retries. "
                "Check fabricai:portalUrl and the network, then run `pulumi up` again.",
            ) from None


def _same_business(recorded: str, wanted: str) -> bool:
    try:
        return normalise(recorded) == normalise(wanted)
    except InvalidBusinessId:
        return False


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise _unexpected(response, what) from None
    if not isinstance(payload, dict):
        raise _unexpected(response, what)
    return payload


def _refused(response: httpx.Response, what: str) -> PortalError:
    """The portal's own error for an answer that is not a success."""
    if response.status_code in (401, 403):
        return PortalError(
            f"The FabricAI portal refused the organisation API key while {what} "
            f"(HTTP {response.status_code}). "
            "Fix: create a key in the portal (Organization -> API keys) and set it with "
            "`pulumi config set --secret fabricai:apiKey <key>`.",
            status_code=response.status_code,
        )
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    if not isinstance(detail, str):
        return _unexpected(response, what)
    return PortalError(
        f"The FabricAI portal refused {what} (HTTP {response.status_code}): {detail}",
        status_code=response.status_code,
    )


def _unexpected(response: httpx.Response, what: str) -> PortalError:
    return PortalError(
        f"The FabricAI portal gave an unexpected answer while {what} (HTTP {response.status_code}); "
        "check that fabricai:portalUrl points at the portal API.",
        status_code=response.status_code,
    )


M = TypeVar("M", bound=BaseModel)


def _data(response: httpx.Response, model: type[M], what: str, *, none_on: int | None) -> M | None:
    if none_on is not None and response.status_code == none_on:
        return None
    if not response.is_success:
        raise _refused(response, what)
    try:
        return model.model_validate(_json(response, what).get("data"))
    except ValidationError:
        raise _unexpected(response, what) from None


def _page(response: httpx.Response, what: str) -> tuple[int, list[ClientRecord]]:
    if not response.is_success:
        raise _refused(response, what)
    payload = _json(response, what)
    try:
        count = int(payload["count"])
        records = [ClientRecord.model_validate(item) for item in payload["data"]]
    except (KeyError, TypeError, ValueError, ValidationError):
        raise _unexpected(response, what) from None
    return count, records


def _gone(response: httpx.Response, what: str) -> bool:
    """True when deleted now, False when it was already gone."""
    if response.status_code == 404:
        return False
    if not response.is_success:
        raise _refused(response, what)
    return True
