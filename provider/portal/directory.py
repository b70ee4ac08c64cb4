"""Finding the record of a business ID without a filter and without a 409.

The public API has no business-ID filter on ``GET /clients`` and promises no 409 for a second
registration. So the directory reads the whole client list, by pages of 50 until a short page, keeps it
for the provider process (every resource of one Pulumi command shares it: a whole ``up`` of N clients costs
about N/50 list requests, not N), adds the records this process registers, and reads the list again when a
registration needs certainty: after a lost answer, or when the listing is older than its time to live.

Only what the reduced list items carry is read: ``id, businessId, name, status, system, tags``.
Business IDs are compared normalised (the portal keeps the VAT form ``FI29256309``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from provider.business_id import InvalidBusinessId, normalise
from provider.defaults import PORTAL_MAX_PAGES, PORTAL_PAGE_LIMIT
from provider.errors import PortalError
from provider.portal.models import ListedClient

# Reads one page of the list: (page, limit) -> items.
PageReader = Callable[[int, int], list[ListedClient]]


@dataclass(frozen=True)
class _Listing:
    started_at: float
    by_business: dict[str, tuple[ListedClient, ...]]
    by_id: dict[int, ListedClient]


def business_key(business_id: str | None) -> str | None:
    if not business_id:
        return None
    try:
        return normalise(business_id)
    except InvalidBusinessId:
        return None


class ClientDirectory:
    """The client list of one organisation, by business ID; thread-safe, one listing at a time."""

    def __init__(
        self,
        read_page: PageReader,
        *,
        ttl: float,
        page_limit: int = PORTAL_PAGE_LIMIT,
        max_pages: int = PORTAL_MAX_PAGES,
    ) -> None:
        self._read_page = read_page
        self._ttl = ttl
        self._page_limit = page_limit
        self._max_pages = max_pages
        self._listing: _Listing | None = None
        # What this process changed, and when: a listing that started before a change must not undo it.
        self._changes: dict[int, tuple[float, ListedClient | None]] = {}
        self._state = threading.Lock()
        self._fetch = threading.Lock()

    def lookup(self, business_id: str) -> tuple[ListedClient, ...]:
        """The records of this business ID in the current listing (read it if there is none or it is old)."""
        return self._current().by_business.get(normalise(business_id), ())

    def by_id(self, client_id: int) -> ListedClient | None:
        """The listed record with this id (None: not in the listing, which may predate it)."""
        return self._current().by_id.get(client_id)

    def reread(self, since: float) -> None:
        """Make sure the listing was started after ``since`` (a monotonic time): read it again unless another
        thread's listing already did. Many lost answers at once cost one listing, not one each."""
        with self._fetch:
            with self._state:
                listing = self._listing
            if listing is not None and listing.started_at > since:
                return
            self._store(self._list_all())

    def add(self, record: ListedClient) -> None:
        """Record what this process registered or changed, so the next look-up sees it without a listing."""
        with self._state:
            self._changes[record.id] = (time.monotonic(), record)
            if self._listing is not None:
                self._listing = _apply(self._listing, record.id, record)

    def remove(self, client_id: int) -> None:
        with self._state:
            self._changes[client_id] = (time.monotonic(), None)
            if self._listing is not None:
                self._listing = _apply(self._listing, client_id, None)

    def _current(self) -> _Listing:
        with self._state:
            listing = self._listing
        if listing is not None and time.monotonic() - listing.started_at < self._ttl:
            return listing
        with self._fetch:
            with self._state:
                listing = self._listing
            if listing is not None and time.monotonic() - listing.started_at < self._ttl:
                return listing  # another thread listed while this one waited
            return self._store(self._list_all())

    def _store(self, listing: _Listing) -> _Listing:
        with self._state:
            for client_id, (changed_at, record) in self._changes.items():
                if changed_at >= listing.started_at:  # the listing may have been read before the change
                    listing = _apply(listing, client_id, record)
            self._changes = {k: v for k, v in self._changes.items() if v[0] >= listing.started_at}
            self._listing = listing
        return listing

    def _list_all(self) -> _Listing:
        started_at = time.monotonic()
        by_business: dict[str, tuple[ListedClient, ...]] = {}
        by_id: dict[int, ListedClient] = {}
        for page in range(1, self._max_pages + 1):
            records = self._read_page(page, self._page_limit)
            for record in records:
                if record.id in by_id:
                    continue  # a record that moved between pages while we read them
                by_id[record.id] = record
                key = business_key(record.business_id)
                if key is not None:
                    by_business[key] = (*by_business.get(key, ()), record)
            if len(records) < self._page_limit:
                return _Listing(started_at, by_business, by_id)
        raise PortalError(
            f"The FabricAI portal's client list did not end within {self._max_pages} pages of "
            f"{self._page_limit}; check that fabricai:portalUrl points at the portal API."
        )


def _apply(listing: _Listing, client_id: int, record: ListedClient | None) -> _Listing:
    """The listing with one record replaced, added (``record``) or removed (None)."""
    by_id = dict(listing.by_id)
    by_business = dict(listing.by_business)
    old = by_id.pop(client_id, None)
    if old is not None:
        old_key = business_key(old.business_id)
        if old_key is not None:
            by_business[old_key] = tuple(r for r in by_business.get(old_key, ()) if r.id != client_id)
    if record is not None:
        by_id[client_id] = record
        key = business_key(record.business_id)
        if key is not None:
            by_business[key] = (*by_business.get(key, ()), record)
    return _Listing(listing.started_at, by_business, by_id)
