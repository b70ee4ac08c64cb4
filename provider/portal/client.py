"""The FabricAI portal client: clients, teams, the client's dimensions and models (the public API), and the
connection extension (``provider.portal.connection``).

Two choices worth knowing:
- **Registering never duplicates.** The public API has no business-ID filter and promises no 409, so the
  record of a business ID is found in the client list (``provider.portal.directory``: pages of 50, shared
  by the whole provider process). A record there is someone else's: ``AlreadyRegistered`` (or, with
  ``adopt``, taken over). Each registration writes the tags ``managedBy: fabricai-roster`` and
  ``rosterRegistration: <token>``; after a lost answer (timeout, dropped connection, 5xx) the list is read
  again before any retry, and a record with our token is the one our lost attempt registered.
- **Teams by id.** The roster names teams; ``GET /teams`` is read once per provider process (again when a
  name is not found) to turn names into ids and back. An unknown name is ``UnknownTeam``, naming it and the
  teams that exist.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

import httpx
from pydantic import BaseModel

from provider.defaults import (
    PORTAL_COUNTRY,
    PORTAL_DIRECTORY_TTL_SECONDS,
    PORTAL_MANAGED_BY_TAG,
    PORTAL_MANAGED_BY_VALUE,
    PORTAL_MAX_PAGES,
    PORTAL_PAGE_LIMIT,
    PORTAL_REGISTRATION_TAG,
    PORTAL_STACK_TAG,
    PORTAL_TEAMS_TTL_SECONDS,
)
from provider.errors import AlreadyRegistered, DuplicateRecords, PortalError, UnknownTeam
from provider.http_body import Limits
from provider.portal import api
from provider.portal.api import PortalApi
from provider.portal.connection import ConnectionApi
from provider.portal.directory import ClientDirectory
from provider.portal.models import (
    ClientBody,
    ClientRecord,
    Dimension,
    ListedClient,
    PredictionModel,
    Team,
    same_business,
    vat_form,
)
from provider.retry import RetryPolicy
from provider.settings import PortalSettings

M = TypeVar("M", bound=BaseModel)
WithId = TypeVar("WithId", Team, PredictionModel)


def listed(record: ClientRecord) -> ListedClient:
    """The list item a full record corresponds to (what the directory keeps)."""
    return ListedClient(
        id=record.id,
        name=record.name,
        business_id=record.business_id,
        status=record.status,
        system=record.system,
        tags=record.tags,
    )


class PortalClient:
    """One organisation's view of the portal; thread-safe, shared by every resource of a provider process."""

    def __init__(
        self,
        settings: PortalSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: Limits | None = None,
        directory_ttl: float = PORTAL_DIRECTORY_TTL_SECONDS,
        directory_max_pages: int = PORTAL_MAX_PAGES,
        teams_ttl: float = PORTAL_TEAMS_TTL_SECONDS,
    ) -> None:
        self._api = PortalApi(settings, retry or RetryPolicy(), transport, limits)
        self.directory = ClientDirectory(self.list_clients, ttl=directory_ttl, max_pages=directory_max_pages)
        self.connections = ConnectionApi(self._api, self.client_exists)
        self._teams_ttl = teams_ttl
        self._teams: tuple[float, list[Team]] | None = None
        self._teams_lock = threading.Lock()
        # Business ID -> when a registration of it was sent and never confirmed either way: a listing older
        # than that cannot tell whether it landed, so the next registration of it reads the list again.
        self._unconfirmed_since: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"PortalClient({self._api.base_url})"

    # ---- clients ----------------------------------------------------------------------------------------

    def list_clients(self, page: int = 1, limit: int = PORTAL_PAGE_LIMIT) -> list[ListedClient]:
        """One page of the client list (reduced items)."""
        what = "listing clients"
        return self._api.call(
            "GET",
            "/clients",
            what=what,
            params={"page": page, "limit": limit},
            handle=lambda r: api.items(r, ListedClient, what),
        )

    def find(self, business_id: str) -> ListedClient | None:
        """The record of this business ID in the directory; DuplicateRecords when there are several."""
        return _only_one(business_id, self.directory.lookup(business_id))

    def get_client(self, client_id: int) -> ClientRecord | None:
        """The full record, or None when the portal has no such client."""
        what = f"reading client {client_id}"
        return self._api.call(
            "GET",
            f"/clients/{client_id}",
            what=what,
            handle=lambda r: api.data(r, ClientRecord, what, none_on=404),
        )

    def client_exists(self, client_id: int) -> bool:
        return self.get_client(client_id) is not None

    def register(self, business_id: str, body: ClientBody, *, stack: str | None = None) -> ClientRecord:
        """Register a client: ``businessId`` in VAT form, ``country: FI``, and the tags that let its record be
        recognised after a lost answer: this registration's own token (in this process) and ``stack``, the
        registering stack's identity (``provider.resources.stack_identity``: in any later run of that stack,
        and of no other).

        AlreadyRegistered when the list has a record of the business ID (``existing_id``; ``this_stack`` when
        it carries ``stack``'s tag); DuplicateRecords when it has several. A registration that may have
        happened but could not be confirmed is a PortalError that says so, never one that says nothing was
        changed."""
        unconfirmed_at = self._unconfirmed_since.get(business_id)
        if unconfirmed_at is not None:
            self.directory.reread(since=unconfirmed_at)
        found = self._confirmed(business_id)
        if found is not None:
            raise _taken(business_id, found, stack)
        token = uuid.uuid4().hex
        tags = {
            **(body.tags or {}),
            PORTAL_MANAGED_BY_TAG: PORTAL_MANAGED_BY_VALUE,
            PORTAL_REGISTRATION_TAG: token,
            **({PORTAL_STACK_TAG: stack} if stack else {}),
        }
        sent = body.model_copy(
            update={"business_id": vat_form(business_id), "country": PORTAL_COUNTRY, "tags": tags}
        )
        what = f"registering business ID {business_id}"
        sent_at = time.monotonic()

        def recover() -> ClientRecord | None:
            # Before any retry: a listing started after the failed attempt ended (a dropped answer comes
            # after the portal processed the POST) tells whether it landed. A listing another thread
            # started earlier, while our POST may still have been in flight, does not count.
            try:
                self.directory.reread(since=time.monotonic())
                return self._registered_by(business_id, token, stack)
            except (AlreadyRegistered, DuplicateRecords):
                raise
            except PortalError as error:
                # The look-up's own message would say nothing was changed: the POST before it may have.
                self._unconfirmed_since.setdefault(business_id, sent_at)
                raise _unconfirmed(business_id, error, stack) from None

        try:
            record = self._api.call(
                "POST",
                "/clients",
                what=what,
                json=sent.body(),
                handle=lambda r: api.required(r, ClientRecord, what),
                idempotent=False,
                recover=recover,
            )
        except PortalError as error:
            # The last attempt may have registered the client before its answer was lost: look once more,
            # or the next run would find its own registration and call it someone else's.
            if not error.retryable:
                raise  # a refusal (4xx): nothing was registered
            found_record = recover()
            if found_record is None:
                raise error from None
            record = found_record
        self._unconfirmed_since.pop(business_id, None)
        self.directory.add(listed(record))
        return record

    def _confirmed(self, business_id: str) -> ListedClient | None:
        """The record of this business ID, confirmed by ``GET /clients/{id}`` before it counts as taken: a
        listing kept for a while may still hold a record someone has removed (or re-numbered) since."""
        for _ in range(PORTAL_MAX_PAGES):
            found = self.find(business_id)
            if found is None:
                return None
            record = self.get_client(found.id)
            if record is not None and same_business(record.business_id, business_id):
                return found
            self.directory.remove(found.id)
            if record is not None:
                self.directory.add(listed(record))
        return None

    def _registered_by(self, business_id: str, token: str, stack: str | None) -> ClientRecord | None:
        records = self.directory.lookup(business_id)
        mine = [r for r in records if (r.tags or {}).get(PORTAL_REGISTRATION_TAG) == token]
        if len(records) > 1:
            _only_one(business_id, records)  # raises DuplicateRecords
        if not mine:
            if records:
                raise _taken(business_id, records[0], stack)
            return None
        return self.get_client(mine[0].id)

    def update_client(
        self, client_id: int, body: ClientBody, current: ClientRecord | None = None
    ) -> ClientRecord | None:
        """PATCH the changes in ``body``, sent as a whole record (the public PATCH takes a whole
        ``ModextClient``): laid over ``current``, or over the record read now; None when the client no
        longer exists."""
        what = f"updating client {client_id}"
        record_now = current if current is not None else self.get_client(client_id)
        if record_now is None:
            return None
        record = self._api.call(
            "PATCH",
            f"/clients/{client_id}",
            what=what,
            json=body.whole_body(record_now),
            handle=lambda r: api.data(r, ClientRecord, what, none_on=404),
        )
        if record is not None:
            self.directory.add(listed(record))
        return record

    def delete_client(self, client_id: int) -> bool:
        """Remove the client (``200 {data: {id}}``); False when it was already gone."""
        what = f"removing client {client_id}"
        removed = self._api.call(
            "DELETE", f"/clients/{client_id}", what=what, handle=lambda r: api.gone(r, what)
        )
        self.directory.remove(client_id)
        return removed

    # ---- teams --------------------------------------------------------------------------------------------

    def teams(self, *, fresh: bool = False) -> list[Team]:
        """Every team (``GET /teams``), read at most once per ``teams_ttl`` unless ``fresh``."""
        with self._teams_lock:
            cached = self._teams
            if not fresh and cached is not None and time.monotonic() - cached[0] < self._teams_ttl:
                return cached[1]
            teams = self._all_pages("/teams", Team, "listing teams")
            self._teams = (time.monotonic(), teams)
            return teams

    def team_ids(self, names: Sequence[str], *, client: str) -> list[int]:
        """The ids of these team names, in order; UnknownTeam names every unknown one and the existing."""
        by_name = {team.name: team.id for team in self.teams()}
        if any(name not in by_name for name in names):
            by_name = {team.name: team.id for team in self.teams(fresh=True)}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            existing = sorted(by_name)
            # Named by `about`, so a caller that names the client again (ClientCompany) does not repeat it.
            raise UnknownTeam(
                f"the FabricAI portal has no team {', '.join(repr(n) for n in unknown)}. Existing "
                f"teams: {', '.join(repr(n) for n in existing) if existing else '(none)'}. Fix: correct the "
                "name in roster:clients, or create the team in the portal (Teams) first.",
                teams=unknown,
                existing=existing,
            ).about(client)
        return [by_name[name] for name in names]

    def team_names(self, ids: Sequence[int]) -> list[str]:
        """The names of these team ids (an id the portal does not list reads as ``#<id>``)."""
        if not ids:
            return []
        by_id = {team.id: team.name for team in self.teams()}
        if any(team_id not in by_id for team_id in ids):
            by_id = {team.id: team.name for team in self.teams(fresh=True)}
        return [by_id.get(team_id, f"#{team_id}") for team_id in ids]

    # ---- the client's dimensions and models ---------------------------------------------------------

    def client_dimensions(self, client_id: int) -> list[Dimension]:
        """FabricAI's copy of the client's dimensions; empty until FabricAI has read them from the ERP."""
        what = f"reading the dimensions of client {client_id}"
        return self._api.call(
            "GET",
            f"/clients/{client_id}/dimensions",
            what=what,
            handle=lambda r: [] if r.status_code == 404 else api.items(r, Dimension, what),
        )

    def models(self, client_id: int) -> list[PredictionModel]:
        """The client's prediction models (training progress; DIMENSION models are ordered predictions)."""
        return self._all_pages(
            f"/clients/{client_id}/models", PredictionModel, f"reading the models of client {client_id}"
        )

    def order_dimension_model(self, client_id: int, dimension_id: str) -> PredictionModel:
        """Order predictions for one dimension: ``POST /clients/{id}/models {label: DIMENSION, dimensionId}``.

        Not retried after a lost answer without looking: the models are read first, and a DIMENSION model
        of that dimension found there is the one the lost attempt ordered."""
        what = f"ordering dimension predictions for client {client_id}"

        def recover() -> PredictionModel | None:
            return next(
                (
                    m
                    for m in self.models(client_id)
                    if m.label == "DIMENSION" and m.dimension_id == dimension_id
                ),
                None,
            )

        return self._api.call(
            "POST",
            f"/clients/{client_id}/models",
            what=what,
            json={"label": "DIMENSION", "dimensionId": dimension_id},
            handle=lambda r: api.required(r, PredictionModel, what),
            idempotent=False,
            recover=recover,
        )

    # ---- plumbing ----------------------------------------------------------------------------------

    def _all_pages(self, path: str, model: Callable[..., WithId], what: str) -> list[WithId]:
        """Every item of a collection the public document shows without paging parameters: asked by pages
        anyway, and read until a short page or a page that adds nothing (a portal that ignores ``page``)."""
        found: dict[int, WithId] = {}
        for page in range(1, PORTAL_MAX_PAGES + 1):
            items = self._api.call(
                "GET",
                path,
                what=what,
                params={"page": page, "limit": PORTAL_PAGE_LIMIT},
                handle=lambda r: api.items(r, model, what),  # type: ignore[arg-type]
            )
            new = [item for item in items if item.id not in found]
            found.update((item.id, item) for item in new)
            if len(items) < PORTAL_PAGE_LIMIT or not new:
                break
        return list(found.values())


def _taken(business_id: str, existing: ListedClient, stack: str | None) -> AlreadyRegistered:
    tags = existing.tags or {}
    ours = (
        stack is not None
        and tags.get(PORTAL_STACK_TAG) == stack
        and tags.get(PORTAL_MANAGED_BY_TAG) == PORTAL_MANAGED_BY_VALUE
    )
    return AlreadyRegistered(
        f"business ID {business_id} is already registered in the FabricAI portal as client {existing.id}"
        + (f" (by this stack, {stack})" if ours else ""),
        existing_id=existing.id,
        this_stack=ours,
    )


def _unconfirmed(business_id: str, lookup: PortalError, stack: str | None) -> PortalError:
    """A registration sent but neither answered nor found: it may have happened."""
    cause = f"HTTP {lookup.status_code}" if lookup.status_code else "no answer"
    then = (
        f"If it did, its record carries this stack's tag ({PORTAL_STACK_TAG}: {stack}), and the next "
        "`pulumi up` recognises it as this stack's and takes it over instead of registering the client "
        "twice."
        if stack
        else "If it did, the next `pulumi up` finds the record and names it (set `adopt: true` to take it "
        "over)."
    )
    return PortalError(
        f"The FabricAI portal may have registered business ID {business_id}: the registration's answer was "
        f"lost, and looking for its record afterwards failed too ({cause}). {then} Fix: run `pulumi up` "
        "again once the portal answers.",
        status_code=lookup.status_code,
        retryable=True,
    )


def _only_one(business_id: str, records: Sequence[ListedClient]) -> ListedClient | None:
    if len(records) > 1:
        ids = sorted(record.id for record in records)
        raise DuplicateRecords(
            f"the FabricAI portal holds {len(ids)} records of business ID {business_id} (clients "
            f"{', '.join(str(i) for i in ids)}); nothing was changed, as no record can be picked safely. "
            "Fix: remove the extra records in the portal (Clients), keep one, and run `pulumi up` again.",
            record_ids=ids,
        )
    return records[0] if records else None
