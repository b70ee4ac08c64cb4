"""The one extension: the hand-over of a client's ERP credentials, verified by FabricAI.

Written down as docs/portal-connection-extension.openapi.yaml, in the public API's conventions (bearer key,
``{"data": ...}``, ``{"error"}``):

- ``POST /clients/{id}/connection/verify`` ``{system, credentials, dimensions}`` -> 200 ``{data:
  Verification}``: FabricAI runs the guide's checks with its partner app, read-only, storing nothing;
- ``PUT /clients/{id}/connection`` ``{system, credentials, erpCompanyId?, dimensions?}`` verifies, then
  201 a new connection replacing any previous one; 422 (FAILED) or 503 (INCONCLUSIVE) ``{error, data:
  Verification}`` store nothing (``VerificationRefused``);
- ``GET /clients/{id}/connection`` -> the connection with its last ``verification``, never credentials;
- ``POST /clients/{id}/connection/{connectionId}/verify`` re-runs the checks with the stored credentials;
- ``PATCH /clients/{id}/connection/{connectionId}`` ``{credentials}`` verifies the new ones before it keeps
  them (422/503 as PUT); ``DELETE`` removes that connection only.

A portal without the extension answers 404 on these routes; a 404 is never read as "the client is gone"
on its own (``GET /clients/{id}`` tells), so that case is ``ConnectionExtensionMissing`` naming
``fabricai:portalUrl``. Credentials travel only in request bodies and are redacted from whatever the
portal quotes back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx
from pydantic import ValidationError

from provider.errors import ConnectionExtensionMissing, PortalError, VerificationRefused
from provider.http_body import NotStrictJson, strict_json
from provider.portal import api
from provider.portal.api import PortalApi
from provider.portal.models import Connection
from provider.redaction import redact_error
from provider.retry import RetryableStatus
from provider.verification.findings import Verification

ClientExists = Callable[[int], bool]
# The statuses a verifying write answers with its findings (FAILED, INCONCLUSIVE).
_REFUSED_WITH_FINDINGS = frozenset({422, 503})


class _NotFound:
    """A 404 answer, to be explained (client gone, connection gone, or no extension)."""


_NOT_FOUND = _NotFound()


def extension_missing(
    client_id: int, base_url: str, route: str = "connection routes"
) -> ConnectionExtensionMissing:
    return ConnectionExtensionMissing(
        f"The FabricAI portal at fabricai:portalUrl ({base_url}) has client {client_id} but answers 404 on "
        f"its {route}: this portal does not offer the connection extension that verifies and hands over "
        "ERP credentials (docs/PORTAL_API.md). Nothing was changed. Fix: set fabricai:portalUrl to a portal "
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


def _refusal_with_findings(response: httpx.Response, what: str) -> VerificationRefused | None:
    """A 422/503 carrying a verification: the portal checked and did not pass; None for any other body."""
    try:
        body = strict_json(response.content)
        verification = Verification.model_validate(body.get("data") if isinstance(body, dict) else None)
    except (NotStrictJson, ValidationError):
        return None
    return VerificationRefused(
        f"The FabricAI portal did not pass the ERP credentials while {what} "
        f"({verification.verdict.value}); nothing was stored.",
        verification=verification,
        status_code=response.status_code,
    )


class ConnectionApi:
    """The extension's calls. ``client_exists`` is the public ``GET /clients/{id}`` (True/False)."""

    def __init__(self, api: PortalApi, client_exists: ClientExists) -> None:
        self._api = api
        self._client_exists = client_exists

    def verify(
        self, client_id: int, system: str, credentials: Mapping[str, str], dimensions: Sequence[str]
    ) -> Verification | None:
        """FabricAI's verdict on credentials not stored (read-only; retried after a lost answer); None when
        the client does not exist."""
        what = f"verifying {system} credentials for client {client_id}"
        body = {"system": system, "credentials": dict(credentials), "dimensions": list(dimensions)}
        with _scrubbed(credentials):
            found = self._api.call(
                "POST",
                f"/clients/{client_id}/connection/verify",
                what=what,
                json=body,
                handle=lambda r: self._verification_or_404(r, what),
            )
        if isinstance(found, _NotFound):
            self._explain_404(client_id, "POST /clients/{id}/connection/verify")
            return None
        return found

    def verify_stored(
        self, client_id: int, connection_id: str, dimensions: Sequence[str]
    ) -> Verification | None:
        """FabricAI's verdict on the credentials that connection holds (ERP health); None when that
        connection (or the client) is gone or was replaced."""
        what = f"re-verifying connection {connection_id} of client {client_id}"
        found = self._api.call(
            "POST",
            f"/clients/{client_id}/connection/{connection_id}/verify",
            what=what,
            json={"dimensions": list(dimensions)},
            handle=lambda r: self._verification_or_404(r, what),
        )
        if isinstance(found, _NotFound):
            self._explain_connection_404(client_id)
            return None
        return found

    def put(
        self,
        client_id: int,
        system: str,
        credentials: Mapping[str, str],
        *,
        erp_company_id: str | None = None,
        dimensions: Sequence[str] = (),
    ) -> Connection | None:
        """Connect the client (verified first; replacing any previous connection); None when the client
        does not exist; ``VerificationRefused`` when the verification did not pass."""
        what = f"connecting client {client_id} to {system}"
        body: dict[str, object] = {
            "system": system,
            "credentials": dict(credentials),
            "dimensions": list(dimensions),
        }
        if erp_company_id is not None:
            body["erpCompanyId"] = erp_company_id
        with _scrubbed(credentials):
            return self._connection_call("PUT", client_id, "", what, body, self._explain_404)

    def get(self, client_id: int) -> Connection | None:
        """The client's connection; None when it has none or the client does not exist."""
        what = f"reading the connection of client {client_id}"
        return self._connection_call("GET", client_id, "", what, None, self._explain_404)

    def rotate(
        self,
        client_id: int,
        connection_id: str,
        credentials: Mapping[str, str],
        dimensions: Sequence[str] = (),
    ) -> Connection | None:
        """Replace the credentials of that connection (verified first); None when it (or the client) is gone
        or replaced; ``VerificationRefused`` when the new credentials did not pass."""
        what = f"rotating the credentials of connection {connection_id} of client {client_id}"
        body = {"credentials": dict(credentials), "dimensions": list(dimensions)}
        with _scrubbed(credentials):
            return self._connection_call(
                "PATCH", client_id, f"/{connection_id}", what, body, self._explain_connection_404
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
            reads_statuses=_REFUSED_WITH_FINDINGS if method != "GET" else frozenset(),
            # Each PUT makes a new connection: one that lands after its timeout would replace the one a
            # resend made, leaving the state on a connection the portal no longer has. Never sent twice in a
            # run; the next run's PUT replaces whatever the lost one left.
            idempotent=method != "PUT",
        )
        if isinstance(found, _NotFound):
            explain_404(client_id)
            return None
        return found

    def _connection_or_404(self, response: httpx.Response, what: str) -> Connection | _NotFound | None:
        if response.status_code == 404:
            return _NOT_FOUND
        if response.status_code in _REFUSED_WITH_FINDINGS:
            refusal = _refusal_with_findings(response, what)
            if refusal is not None:
                raise refusal
            # An overloaded portal, not a verdict: as any 503 (a PATCH is retried, a PUT not sent again).
            if response.status_code == 503:
                raise RetryableStatus(response)
        return api.data(response, Connection, what)

    def _verification_or_404(self, response: httpx.Response, what: str) -> Verification | _NotFound:
        if response.status_code == 404:
            return _NOT_FOUND
        return api.required(response, Verification, what)

    def _explain_404(self, client_id: int, route: str = "connection routes") -> None:
        """A 404 on the client's connection route: fine if the client is gone, else no extension."""
        if self._client_exists(client_id):
            raise extension_missing(client_id, self._api.base_url, route)

    def _explain_connection_404(self, client_id: int) -> None:
        """A 404 on one connection: the client is gone, the connection was replaced or removed (fine), or
        the portal has no extension (the client exists but its connection route is 404 too)."""
        if self._client_exists(client_id):
            self.get(client_id)  # raises ConnectionExtensionMissing when the route itself is missing
