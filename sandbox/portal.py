"""The FabricAI portal stand-in: client records and their ERP connections (the API of DESIGN.md).

Bearer organisation keys; ``{"data": ...}`` envelopes, ``{"count", "data"}`` pages (``page`` from 1,
``limit`` <= 50) and ``{"error": "..."}`` errors. Credentials of a connection are stored but never
returned; ``/admin`` exposes only their fingerprint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.db import Database, Row
from sandbox.scenario import PortalScenario, Process, VatMode, normalise_business_id

MAX_PAGE_SIZE = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    process TEXT NOT NULL,
    vat_mode TEXT NOT NULL,
    vat_percent INTEGER,
    dimensions TEXT NOT NULL,
    favorite INTEGER NOT NULL,
    teams TEXT NOT NULL,
    tags TEXT NOT NULL,
    inactive INTEGER NOT NULL DEFAULT 0,
    training_started_at REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_connections (
    id TEXT PRIMARY KEY,
    client_id INTEGER NOT NULL UNIQUE REFERENCES portal_clients(id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    erp_company_id TEXT NOT NULL,
    credentials TEXT NOT NULL,
    connected_at REAL NOT NULL,
    credentials_rotated_at REAL
);
CREATE TABLE IF NOT EXISTS portal_seeded (done INTEGER NOT NULL);
"""


# ---- request bodies ----


class _Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, strict=True, frozen=True
    )


class Vat(_Body):
    mode: VatMode
    deduction_percent: int | None = None

    @model_validator(mode="after")
    def _percent_only_for_partial(self) -> Self:
        if self.mode == "partial" and (
            self.deduction_percent is None or not 0 < self.deduction_percent < 100
        ):
            raise ValueError("vat.deductionPercent must be between 1 and 99 when vat.mode is partial")
        if self.mode != "partial" and self.deduction_percent is not None:
            raise ValueError("vat.deductionPercent is only allowed when vat.mode is partial")
        return self


class _ClientFields(_Body):
    name: str | None = Field(default=None, min_length=1)
    process: Process | None = None
    vat: Vat | None = None
    dimensions: list[str] | None = None
    favorite: bool | None = None
    teams: list[str] | None = None
    tags: dict[str, str] | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(to_camel(n) for n in nulls))} cannot be null")
        return self


class ClientCreate(_ClientFields):
    business_id: str

    @field_validator("business_id")
    @classmethod
    def _valid(cls, value: str) -> str:
        normalised = normalise_business_id(value)
        if normalised is None:
            raise ValueError("businessId is not a valid Finnish business ID (NNNNNNN-C)")
        return normalised

    @model_validator(mode="after")
    def _name_required(self) -> Self:
        if self.name is None:
            raise ValueError("name is required")
        return self


class ClientPatch(_ClientFields):
    status: Literal["INACTIVE"] | None = None


class ConnectionPut(_Body):
    system: Literal["procountor", "netvisor"]
    erp_company_id: str = Field(min_length=1)
    credentials: dict[str, Any] = Field(min_length=1)


class ConnectionPatch(_Body):
    credentials: dict[str, Any] = Field(min_length=1)


# ---- helpers ----


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": message, **extra}


def _timestamp(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _validation_message(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


async def _body(request: Request, model: type[_Body]) -> Any:
    try:
        payload = await request.json()
    except ValueError:
        raise ApiError(400, "the request body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "the request body must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise ApiError(400, _validation_message(error)) from None


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None


def credentials_fingerprint(credentials: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a credentials object: comparable without revealing it."""
    canonical = json.dumps(credentials, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class PortalService:
    name = "portal"

    def __init__(self, scenario: PortalScenario, db: Database) -> None:
        self.scenario = scenario
        self.db = db
        self.counters: Counter[str] = Counter()
        db.migrate(_SCHEMA)
        if db.query_one("SELECT done FROM portal_seeded") is None:
            self._seed()
        self.app = Starlette(
            routes=[
                Route("/clients", self._list_clients, methods=["GET"]),
                Route("/clients", self._create_client, methods=["POST"]),
                Route("/clients/{client_id:int}", self._get_client, methods=["GET"]),
                Route("/clients/{client_id:int}", self._patch_client, methods=["PATCH"]),
                Route("/clients/{client_id:int}", self._delete_client, methods=["DELETE"]),
                Route("/clients/{client_id:int}/connection", self._get_connection, methods=["GET"]),
                Route("/clients/{client_id:int}/connection", self._put_connection, methods=["PUT"]),
                Route(
                    "/clients/{client_id:int}/connection/{connection_id}",
                    self._patch_connection,
                    methods=["PATCH"],
                ),
                Route(
                    "/clients/{client_id:int}/connection/{connection_id}",
                    self._delete_connection,
                    methods=["DELETE"],
                ),
            ],
            exception_handlers={HTTPException: self._http_error, ApiError: self._api_error},
        )

    # ---- lifecycle ----

    def _seed(self) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            for client in self.scenario.clients:
                conn.execute(
                    "INSERT INTO portal_clients (business_id, name, process, vat_mode, vat_percent,"
                    " dimensions, favorite, teams, tags, created_at, updated_at)"
                    " VALUES (?, ?, ?, 'standard', NULL, '[]', 0, '[]', '{}', ?, ?)",
                    (client.business_id, client.name, client.process, now, now),
                )
            conn.execute("INSERT INTO portal_seeded (done) VALUES (1)")

    def reset(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM portal_connections")
            conn.execute("DELETE FROM portal_clients")
            conn.execute("DELETE FROM portal_seeded")
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'portal_clients'")
        self.counters.clear()
        self._seed()

    def stats(self) -> dict[str, Any]:
        clients = self.db.query_one("SELECT COUNT(*) AS n FROM portal_clients")
        connections = self.db.query_one("SELECT COUNT(*) AS n FROM portal_connections")
        return {
            "clients": clients["n"] if clients else 0,
            "connections": connections["n"] if connections else 0,
            **self.counters,
        }

    def connection_for_admin(self, client_id: int) -> dict[str, Any] | None:
        """The client's connection with a fingerprint of its credentials (never the credentials)."""
        row = self.db.query_one("SELECT * FROM portal_connections WHERE client_id = ?", (client_id,))
        if row is None:
            return None
        return {
            **self._connection_json(row),
            "credentialsFingerprint": credentials_fingerprint(json.loads(row["credentials"])),
        }

    # ---- plumbing ----

    def _authorise(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and any(
            hmac.compare_digest(key.encode(), known.encode()) for known in self.scenario.api_keys
        )
        if not valid:
            raise ApiError(401, "missing or invalid organisation API key")

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body, status_code=exc.status)

    def _client_row(self, client_id: int) -> Row:
        row = self.db.query_one("SELECT * FROM portal_clients WHERE id = ?", (client_id,))
        if row is None:
            raise ApiError(404, f"client {client_id} not found")
        return row

    def _status(self, row: Row) -> str:
        if row["inactive"]:
            return "INACTIVE"
        started = row["training_started_at"]
        if started is None:
            return "PENDING_CONNECTION"
        return "TRAINING" if time.time() - started < self.scenario.training_seconds else "PRODUCTION"

    def _client_json(self, row: Row) -> dict[str, Any]:
        # The connection summary is embedded so one page of clients is enough to refresh clients and
        # integrations alike (a refresh of N resources costs about N/50 requests); never credentials.
        connection = self.db.query_one("SELECT * FROM portal_connections WHERE client_id = ?", (row["id"],))
        digits = row["business_id"].replace("-", "")
        return {
            "id": row["id"],
            "name": row["name"],
            "businessId": row["business_id"],
            "vatNumber": f"FI{digits}",
            "country": "FI",
            "process": row["process"],
            "vat": {"mode": row["vat_mode"], "deductionPercent": row["vat_percent"]},
            "dimensions": json.loads(row["dimensions"]),
            "favorite": bool(row["favorite"]),
            "teams": json.loads(row["teams"]),
            "tags": json.loads(row["tags"]),
            "status": self._status(row),
            "system": connection["system"] if connection else None,
            "createdAt": _timestamp(row["created_at"]),
            "updatedAt": _timestamp(row["updated_at"]),
            "connection": self._connection_json(connection) if connection else None,
        }

    @staticmethod
    def _connection_json(row: Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "system": row["system"],
            "erpCompanyId": row["erp_company_id"],
            "connectedAt": _timestamp(row["connected_at"]),
            "credentialsRotatedAt": _timestamp(row["credentials_rotated_at"]),
            "status": "ACTIVE",
        }

    # ---- clients ----

    async def _list_clients(self, request: Request) -> Response:
        self._authorise(request)
        page = _int_param(request, "page", 1)
        limit = _int_param(request, "limit", MAX_PAGE_SIZE)
        if page < 1:
            raise ApiError(400, "page starts at 1")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ApiError(400, f"limit must be between 1 and {MAX_PAGE_SIZE}")
        where, params = "", []
        business_id = request.query_params.get("businessId")
        if business_id is not None:
            normalised = normalise_business_id(business_id)
            if normalised is None:
                raise ApiError(400, "businessId is not a valid Finnish business ID")
            where, params = "WHERE business_id = ?", [normalised]
        total = self.db.query_one(f"SELECT COUNT(*) AS n FROM portal_clients {where}", params)  # noqa: S608
        rows = self.db.query(
            f"SELECT * FROM portal_clients {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
            [*params, limit, (page - 1) * limit],
        )
        return JSONResponse(
            {"count": total["n"] if total else 0, "data": [self._client_json(r) for r in rows]}
        )

    async def _create_client(self, request: Request) -> Response:
        self._authorise(request)
        body: ClientCreate = await _body(request, ClientCreate)
        vat = body.vat or Vat(mode="standard")
        now = time.time()
        with self.db.transaction() as conn:
            existing = conn.execute(
                "SELECT id FROM portal_clients WHERE business_id = ?", (body.business_id,)
            ).fetchone()
            if existing is not None:
                self.counters["duplicateRegistrations"] += 1
                raise ApiError(
                    409, f"business ID {body.business_id} is already registered", id=existing["id"]
                )
            client_id = conn.execute(
                "INSERT INTO portal_clients (business_id, name, process, vat_mode, vat_percent, dimensions,"
                " favorite, teams, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    body.business_id,
                    body.name,
                    body.process or "standard",
                    vat.mode,
                    vat.deduction_percent,
                    json.dumps(body.dimensions or []),
                    int(body.favorite or False),
                    json.dumps(body.teams or []),
                    json.dumps(body.tags or {}),
                    now,
                    now,
                ),
            ).lastrowid
        self.counters["clientsCreated"] += 1
        return JSONResponse({"data": self._client_json(self._client_row(client_id or 0))}, status_code=201)

    async def _get_client(self, request: Request) -> Response:
        self._authorise(request)
        return JSONResponse({"data": self._client_json(self._client_row(request.path_params["client_id"]))})

    async def _patch_client(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self._client_row(client_id)
        body: ClientPatch = await _body(request, ClientPatch)
        columns: dict[str, Any] = {}
        if body.name is not None:
            columns["name"] = body.name
        if body.process is not None:
            columns["process"] = body.process
        if body.vat is not None:
            columns["vat_mode"], columns["vat_percent"] = body.vat.mode, body.vat.deduction_percent
        for name in ("dimensions", "teams", "tags"):
            value = getattr(body, name)
            if value is not None:
                columns[name] = json.dumps(value)
        if body.favorite is not None:
            columns["favorite"] = int(body.favorite)
        if body.status == "INACTIVE":
            columns["inactive"] = 1
        columns["updated_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in columns)
        self.db.execute(
            f"UPDATE portal_clients SET {assignments} WHERE id = ?",  # noqa: S608 - fixed column names
            [*columns.values(), client_id],
        )
        self.counters["clientsPatched"] += 1
        return JSONResponse({"data": self._client_json(self._client_row(client_id))})

    async def _delete_client(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self._client_row(client_id)
        self.db.execute("DELETE FROM portal_clients WHERE id = ?", (client_id,))
        self.counters["clientsDeleted"] += 1
        return Response(status_code=204)

    # ---- connections ----

    async def _get_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        self._client_row(client_id)
        row = self.db.query_one("SELECT * FROM portal_connections WHERE client_id = ?", (client_id,))
        if row is None:
            raise ApiError(404, f"client {client_id} has no connection")
        return JSONResponse({"data": self._connection_json(row)})

    async def _put_connection(self, request: Request) -> Response:
        self._authorise(request)
        client_id = request.path_params["client_id"]
        body: ConnectionPut = await _body(request, ConnectionPut)
        connection_id = f"conn_{secrets.token_hex(8)}"
        now = time.time()
        with self.db.transaction() as conn:
            if conn.execute("SELECT id FROM portal_clients WHERE id = ?", (client_id,)).fetchone() is None:
                raise ApiError(404, f"client {client_id} not found")
            conn.execute("DELETE FROM portal_connections WHERE client_id = ?", (client_id,))
            conn.execute(
                "INSERT INTO portal_connections (id, client_id, system, erp_company_id, credentials,"
                " connected_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    connection_id,
                    client_id,
                    body.system,
                    body.erp_company_id,
                    json.dumps(body.credentials),
                    now,
                ),
            )
            # Training starts with the first connection; a replaced connection keeps the trained models.
            conn.execute(
                "UPDATE portal_clients SET training_started_at = COALESCE(training_started_at, ?),"
                " updated_at = ? WHERE id = ?",
                (now, now, client_id),
            )
        self.counters["connectionsPut"] += 1
        row = self.db.query_one("SELECT * FROM portal_connections WHERE id = ?", (connection_id,))
        assert row is not None
        return JSONResponse({"data": self._connection_json(row)}, status_code=201)

    def _current_connection(self, request: Request) -> Row:
        client_id = request.path_params["client_id"]
        connection_id = request.path_params["connection_id"]
        self._client_row(client_id)
        row = self.db.query_one(
            "SELECT * FROM portal_connections WHERE id = ? AND client_id = ?", (connection_id, client_id)
        )
        if row is None:
            raise ApiError(404, f"connection {connection_id} of client {client_id} not found")
        return row

    async def _patch_connection(self, request: Request) -> Response:
        self._authorise(request)
        body: ConnectionPatch = await _body(request, ConnectionPatch)
        row = self._current_connection(request)
        self.db.execute(
            "UPDATE portal_connections SET credentials = ?, credentials_rotated_at = ? WHERE id = ?",
            (json.dumps(body.credentials), time.time(), row["id"]),
        )
        self.counters["credentialRotations"] += 1
        updated = self.db.query_one("SELECT * FROM portal_connections WHERE id = ?", (row["id"],))
        assert updated is not None
        return JSONResponse({"data": self._connection_json(updated)})

    async def _delete_connection(self, request: Request) -> Response:
        self._authorise(request)
        row = self._current_connection(request)
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM portal_connections WHERE id = ?", (row["id"],))
            conn.execute(
                "UPDATE portal_clients SET training_started_at = NULL, updated_at = ? WHERE id = ?",
                (now, row["client_id"]),
            )
        self.counters["disconnects"] += 1
        return Response(status_code=204)
