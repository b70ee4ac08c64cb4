"""The bodies of the portal stand-in's answers, by their public names.

Every shape follows FabricAI's public "AI Inside" API (``ModextClient``, the reduced
``ModextCollectionClient``, ``ModextTeam``, ``ModextPredictionModel``, the client's dimensions) except the
connection and its verification, the one extension (docs/portal-connection-extension.openapi.yaml). Fields
without a value are left out rather than sent as ``null`` (a reader must accept both). Nothing here reads
the store: the rules in ``state`` hand over rows and the values they decided (a model's status, a team's
clients), so each answer's shape is written once, here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sandbox.db import Row
from sandbox.portal.scenario import PortalOrganization, vat_number

# Optional ModextClient fields kept as they were sent (camelCase), in the row's ``extra``.
EXTRA_FIELDS = ("accountingSystemCompanyId", "serviceTemplate", "industry", "industryCode", "domain")


def timestamp(epoch: float | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``, as the public API's examples write instants."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error(message: str) -> dict[str, Any]:
    """The public API's error body."""
    return {"error": message}


def _present(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value is not None}


def client(row: Row, organization: PortalOrganization) -> dict[str, Any]:
    """The full record (``ModextClient``)."""
    extra = json.loads(row["extra"])
    record: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "country": row["country"],
        "businessId": vat_number(row["business_id"]) if row["business_id"] else None,
        "serviceTemplate": extra.get("serviceTemplate", "BACKGROUND_PROCESS"),
        "status": row["status"],
        "system": row["system"],
        "organizationId": organization.id,
        "teams": json.loads(row["teams"]),
        "tags": json.loads(row["tags"]),
        "automations": [],
        "createdAt": timestamp(row["created_at"]),
        "updatedAt": timestamp(row["updated_at"]),
    }
    for name in EXTRA_FIELDS:
        if extra.get(name) is not None:
            record[name] = extra[name]
    if row["overrides"] is not None:
        record["overrides"] = json.loads(row["overrides"])
    return _present(record)


def list_item(row: Row, organization: PortalOrganization) -> dict[str, Any]:
    """The reduced list item (``ModextCollectionClient``): exactly its eleven fields, no more."""
    return _present(
        {
            "id": row["id"],
            "name": row["name"],
            "businessId": vat_number(row["business_id"]) if row["business_id"] else None,
            "status": row["status"],
            "system": row["system"],
            "tags": json.loads(row["tags"]),
            "organizationId": organization.id,
            "organization": organization.name,
            "createdAt": timestamp(row["created_at"]),
            "updatedAt": timestamp(row["updated_at"]),
        }
    )


def team(row: Row, client_ids: Sequence[int]) -> dict[str, Any]:
    """``ModextTeam``; ``client_ids``: the clients whose ``teams`` name this team."""
    return {
        "id": row["id"],
        "name": row["name"],
        "clients": list(client_ids),
        "members": [],
        "tags": json.loads(row["tags"]),
        "createdAt": timestamp(row["created_at"]),
        "updatedAt": timestamp(row["updated_at"]),
    }


def model(row: Row, status: str) -> dict[str, Any]:
    """``ModextPredictionModel``; ``status`` as the training rules decided it now."""
    body: dict[str, Any] = {
        "id": row["id"],
        "label": row["label"],
        "status": status,
        "priority": row["priority"],
        "isTest": False,
        "createdAt": timestamp(row["created_at"]),
        "updatedAt": timestamp(row["created_at"]),
    }
    if row["dimension_id"] is not None:
        body["dimensionId"] = row["dimension_id"]
    return body


def client_dimensions(data: Sequence[dict[str, Any]], read_at: float | None) -> dict[str, Any]:
    """``GET /clients/{id}/dimensions``: FabricAI's copy of the client's dimensions and when it read them."""
    return {"createdAt": timestamp(read_at), "updatedAt": timestamp(read_at), "data": list(data)}


def connection(row: Row) -> dict[str, Any]:
    """The extension's ``Connection``: never the credentials; ``verification`` is the last one stored."""
    stored = row["verification"]
    return {
        "id": row["id"],
        "system": row["system"],
        "erpCompanyId": row["erp_company_id"],
        "status": "ACTIVE",
        "connectedAt": timestamp(row["connected_at"]),
        "credentialsRotatedAt": timestamp(row["credentials_rotated_at"]),
        "verification": None if stored is None else json.loads(stored),
    }


def verification_refused(message: str, verification: dict[str, Any]) -> dict[str, Any]:
    """A PUT or PATCH whose verification did not pass (422 FAILED, 503 INCONCLUSIVE): why, and what the
    checks found."""
    return {"error": message, "data": verification}
