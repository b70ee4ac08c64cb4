"""The portal side of an ERP integration, the same for Procountor and Netvisor.

An integration resource owns exactly one portal connection, identified by its id (the resource id):
- ``connect`` PUTs a new connection (which replaces any earlier one of the client);
- ``rotate`` PATCHes *that* connection's credentials; gone or replaced -> an error, nothing changed;
- ``disconnect`` DELETEs *that* connection only; already gone or replaced by a successor -> success;
- ``current`` reads it from the portal client's refresh snapshot; None when it is gone or replaced.
An update cannot change the resource id, so a connection removed or replaced outside Pulumi is reported,
not silently recreated: ``pulumi refresh`` drops the resource and ``pulumi up`` connects again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provider.errors import PortalError
from provider.portal import ConnectionInfo, ErpSystem, PortalClient
from provider.resources.client_company import about_client


def connect(
    portal: PortalClient,
    label: str,
    client_id: int,
    system: ErpSystem,
    erp_company_id: str,
    credentials: Mapping[str, str],
) -> ConnectionInfo:
    """A new connection for the client (replacing any earlier one)."""
    with about_client(label):
        connection = portal.put_connection(client_id, system, erp_company_id, credentials)
    if connection is None:
        raise PortalError(
            f"{label}: the portal has no client {client_id} to connect; run `pulumi refresh` and "
            "`pulumi up` so that its ClientCompany is registered first."
        )
    return connection


def rotate(
    portal: PortalClient, label: str, client_id: int, connection_id: str, credentials: Mapping[str, str]
) -> ConnectionInfo:
    """New credentials on this resource's connection; ``connection_gone`` when it no longer exists."""
    with about_client(label):
        connection = portal.rotate_credentials(client_id, connection_id, credentials)
    if connection is None:
        raise connection_gone(label, connection_id)
    return connection


def disconnect(portal: PortalClient, label: str, client_id: int, connection_id: str) -> bool:
    """Remove this connection only; False when it was already gone or replaced by a newer one."""
    with about_client(label):
        return portal.delete_connection(client_id, connection_id)


def current(portal: PortalClient, label: str, client_id: int, connection_id: str) -> ConnectionInfo | None:
    """This connection as the portal has it now (from the refresh snapshot); None when gone or replaced."""
    with about_client(label):
        record = portal.client_from_snapshot(client_id)
        if record is None:
            return None
        connection = record.connection if record.embeds_connection else portal.get_connection(client_id)
    return connection if connection is not None and connection.id == connection_id else None


def connection_gone(label: str, connection_id: str) -> PortalError:
    return PortalError(
        f"{label}: the portal connection {connection_id} that this stack made no longer exists (it was "
        "removed, or replaced by another connection, outside Pulumi); nothing was changed. Fix: run "
        "`pulumi refresh` (it drops the integration from state), then `pulumi up` to connect again."
    )


def connection_outputs(connection: ConnectionInfo) -> dict[str, Any]:
    """The outputs every integration has about its portal connection."""
    return {
        "connection_id": connection.id,
        "erp_company_id": connection.erp_company_id,
        "connected_at": connection.connected_at,
        "credentials_rotated_at": connection.credentials_rotated_at,
        "status": connection.status,
    }
