"""The one extension: the hand-over of a client's ERP credentials (not in FabricAI's public API).

Defined in DESIGN.md in the public API's conventions (bearer key, ``{"data": ...}``, ``{"error"}``):

- ``PUT /clients/{id}/connection`` ``{system, erpCompanyId, credentials}`` -> 201 ``{data: connection}``,
  a new connection with its own ``id``, replacing any previous one;
- ``GET /clients/{id}/connection`` -> 200 ``{data: connection}`` or ``{data: null}`` (no connection); never
  the credentials;
- ``PATCH /clients/{id}/connection/{connectionId}`` ``{credentials}`` -> 200 ``{data: connection}``;
- ``DELETE /clients/{id}/connection/{connectionId}`` -> 200 ``{data: {id}}``, that connection only.

A portal without the extension answers 404 on these routes. A 404 is therefore never read as "the client
is gone" on its own: ``GET /clients/{id}`` (public) tells whether the client exists, and if it does, the
404 means the portal at ``fabricai:portalUrl`` lacks the extension (``ConnectionExtensionMissing``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import httpx

from provider.errors import ConnectionExtensionMissing, PortalError
from provider.portal import api
from provider.portal.api import PortalApi
from provider.portal.models import Connection
from provider.redaction import redact_error

ClientExists = Callable[[int], bool]


class _NotFound:
    """A 404 answer, to be explained (client gone, connection gone, or no extension)."""


_NOT_FOUND = _NotFound()


def extension_missing(client_id: int, base_url: str) -> ConnectionExtensionMissing:
    return ConnectionExtensionMissing(
        f"The FabricAI portal at fabricai:portalUrl ({base_url}) has client {client_id} but answers 404 on "
        "its connection routes: this portal does not offer the connection extension that hands over ERP "
        "credentials (docs/PORTAL_API.md). Nothing was changed. Fix: set fabricai:portalUrl to a portal "
        "that offers it (ask FabricAI), or connect the client's ERP in the portal's UI.",
        status_code=404,
    )


@contextmanager
def _scrubbed(credentials: Mapping[str, str]) -> Iterator[None]:
    """A portal error quoting what it was sent (``{"error": "bad apiKey FAKE-..."}``) leaves without it."""
    try:
        yield
    except PortalError as error:
        redact_error(error, credentials.values())
        raise


class ConnectionApi:
    """The extension's four calls. ``client_exists`` is the public ``GET /clients/{id}`` (True/False)."""

    def __init__(self, api: PortalApi, client_exists: ClientExists) -> None:
        self._api = api
        self._client_exists = client_exists

    def put(
        self, client_id: int, system: str, erp_company_id: str, credentials: Mapping[str, str]
    ) -> Connection | None:
        """Connect the client (replacing any previous connection); None when the client does not exist."""
        what = f"connecting client {client_id} to {system}"
        body = {"system": system, "erpCompanyId": erp_company_id, "credentials": dict(credentials)}
        with _scrubbed(credentials):
            return self._connection_call("PUT", client_id, "", what, body, self._explain_404)

    def get(self, client_id: int) -> Connection | None:
        """The client's connection; None when it has none or the client does not exist."""
        what = f"reading the connection of client {client_id}"
        return self._connection_call("GET", client_id, "", what, None, self._explain_404)

    def rotate(self, client_id: int, connection_id: str, credentials: Mapping[str, str]) -> Connection | None:
        """Replace the credentials of that connection; None when it (or the client) is gone or replaced."""
        what = f"rotating the credentials of connection {connection_id} of client {client_id}"
        with _scrubbed(credentials):
            return self._connection_call(
                "PATCH",
                client_id,
                f"/{connection_id}",
                what,
                {"credentials": dict(credentials)},
                self._explain_connection_404,
            )

    def delete(self, client_id: int, connection_id: str) -> bool:
        """Disconnect that connection only; False when it (or the client) was already gone or replaced."""
        what = f"disconnecting connection {connection_id} of client {client_id}"
        removed = self._api.call(
            "DELETE",
            f"/clients/{client_id}/connection/{connection_id}",
            what=what,
            handle=lambda r: api.gone(r, what),
        )
        if not removed:
            self._explain_connection_404(client_id)
        return removed

    def _connection_call(
        self,
        method: str,
        client_id: int,
        suffix: str,
        what: str,
        body: Mapping[str, object] | None,
        explain_404: Callable[[int], None],
    ) -> Connection | None:
        """One call on the client's connection route; a 404 is explained (raising when the extension is
        missing) and otherwise means there is no such connection: None."""
        found = self._api.call(
            method,
            f"/clients/{client_id}/connection{suffix}",
            what=what,
            json=body,
            handle=lambda r: self._connection_or_404(r, what),
        )
        if isinstance(found, _NotFound):
            explain_404(client_id)
            return None
        return found

    def _connection_or_404(self, response: httpx.Response, what: str) -> Connection | _NotFound | None:
        if response.status_code == 404:
            return _NOT_FOUND
        return api.data(response, Connection, what)

    def _explain_404(self, client_id: int) -> None:
        """A 404 on the client's connection route: fine if the client is gone, else no extension."""
        if self._client_exists(client_id):
            raise extension_missing(client_id, self._api.base_url)

    def _explain_connection_404(self, client_id: int) -> None:
        """A 404 on one connection: the client is gone, the connection was replaced or removed (fine), or
        the portal has no extension (the client exists but its connection route is 404 too)."""
        if self._client_exists(client_id):
            self.get(client_id)  # raises ConnectionExtensionMissing when the route itself is missing
