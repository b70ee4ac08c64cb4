"""The portal stand-in's state and rules: clients, teams, models, the client's dimensions, connections.

Everything is stored in the sandbox's SQLite file; the answers' shapes are in ``payloads``. Rows go out,
validated fields come in (``service`` validates the requests).

Rules worth knowing (docs/SANDBOX.md lists which are assumptions):
- a second registration of a business ID is stored like the first (the public API promises no 409) and
  counted as ``duplicateRegistrations``: a client that registers twice is caught by that count;
- ``system`` is set at registration (``ai-inside`` by default) and a PATCH that changes it is refused;
- a model is PENDING for the first third of ``trainingSeconds``, then RUNNING, then DEPLOYED (or what the
  admin forced); connecting a client without models starts its ACCOUNT model;
- the client's dimensions are read from the ERP ``dimensionsReadSeconds`` after connecting;
- ``overrides: {}`` clears a client's overrides (an assumption: the public schema has no ``null`` for it);
- a connection is stored only with a verification that PASSED, and keeps its latest one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sandbox.db import Database, Row
from sandbox.portal import payloads
from sandbox.portal.scenario import PortalScenario

MODEL_STATUSES = ("PENDING", "PRE_PROCESSING", "RUNNING", "COMPLETED", "DEPLOYED", "FAILED", "CANCELLED")

# business ID (NNNNNNN-C) -> the ERP's dimensions: [(name, [item names])].
ErpDimensions = Callable[[str], Sequence[tuple[str, Sequence[str]]]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    business_id TEXT,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    system TEXT NOT NULL,
    status TEXT NOT NULL,
    teams TEXT NOT NULL,
    tags TEXT NOT NULL,
    overrides TEXT,
    extra TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES portal_clients(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    dimension_id TEXT,
    priority INTEGER NOT NULL,
    forced_status TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_dimensions (
    client_id INTEGER PRIMARY KEY REFERENCES portal_clients(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    read_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS portal_connections (
    id TEXT PRIMARY KEY,
    client_id INTEGER NOT NULL UNIQUE REFERENCES portal_clients(id) ON DELETE CASCADE,
    system TEXT NOT NULL,
    erp_company_id TEXT NOT NULL,
    credentials TEXT NOT NULL,
    connected_at REAL NOT NULL,
    credentials_rotated_at REAL,
    verification TEXT
);
CREATE TABLE IF NOT EXISTS portal_seeded (done INTEGER NOT NULL);
"""
EXTRA_FIELDS = payloads.EXTRA_FIELDS


class ApiError(Exception):
    """An answer in the public API's error shape ``{"error": "..."}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = payloads.error(message)


def credentials_fingerprint(credentials: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a credentials object: comparable without revealing it."""
    canonical = json.dumps(credentials, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class PortalState:
    """The portal's records and the rules that change them."""

    def __init__(self, scenario: PortalScenario, db: Database, erp_dimensions: ErpDimensions) -> None:
        self.scenario = scenario
        self.db = db
        self.erp_dimensions = erp_dimensions
        self.counters: Counter[str] = Counter()
        db.migrate(_SCHEMA)
        self._add_verification_column()
        if db.query_one("SELECT done FROM portal_seeded") is None:
            self.seed()

    # ---- lifecycle ----

    def _add_verification_column(self) -> None:
        """A state file written before connections kept their verification gains the column (null)."""
        columns = {row["name"] for row in self.db.query("PRAGMA table_info(portal_connections)")}
        if "verification" not in columns:
            self.db.execute("ALTER TABLE portal_connections ADD COLUMN verification TEXT")

    def seed(self) -> None:
        now = time.time()
        with self.db.transaction() as conn:
            team_ids = {}
            for name in self.scenario.teams:
                team_ids[name] = conn.execute(
                    "INSERT INTO portal_teams (name, tags, created_at, updated_at) VALUES (?, '{}', ?, ?)",
                    (name, now, now),
                ).lastrowid
            for client in self.scenario.clients:
                conn.execute(
                    "INSERT INTO portal_clients (business_id, name, country, system, status, teams, tags,"
                    " overrides, extra, created_at, updated_at)"
                    " VALUES (?, ?, 'FI', ?, ?, ?, ?, NULL, '{}', ?, ?)",
                    (
                        client.business_id,
                        client.name,
                        client.system,
                        client.status,
                        json.dumps([team_ids[name] for name in client.teams]),
                        json.dumps(client.tags),
                        now,
                        now,
                    ),
                )
            conn.execute("INSERT INTO portal_seeded (done) VALUES (1)")

    def reset(self) -> None:
        with self.db.transaction() as conn:
            for table in ("portal_connections", "portal_dimensions", "portal_models", "portal_clients"):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            conn.execute("DELETE FROM portal_teams")
            conn.execute("DELETE FROM portal_seeded")
            conn.execute(
                "DELETE FROM sqlite_sequence"
                " WHERE name IN ('portal_clients', 'portal_teams', 'portal_models')"
            )
        self.counters.clear()
        self.seed()

    def stats(self) -> dict[str, Any]:
        def count(table: str) -> int:
            row = self.db.query_one(f"SELECT COUNT(*) AS n FROM {table}")  # noqa: S608 - fixed names
            return int(row["n"]) if row else 0

        return {
            "clients": count("portal_clients"),
            "connections": count("portal_connections"),
            "models": count("portal_models"),
            **self.counters,
        }

    # ---- clients ----

    def client_row(self, client_id: int) -> Row:
        row = self.db.query_one("SELECT * FROM portal_clients WHERE id = ?", (client_id,))
        if row is None:
            raise ApiError(404, "client not found")
        return row

    def list_clients(self, page: int, limit: int) -> list[Row]:
        return self.db.query(
            "SELECT * FROM portal_clients ORDER BY id LIMIT ? OFFSET ?", (limit, (page - 1) * limit)
        )

    def _check_teams(self, team_ids: Sequence[int]) -> None:
        known = {row["id"] for row in self.db.query("SELECT id FROM portal_teams")}
        unknown = [str(team_id) for team_id in team_ids if team_id not in known]
        if unknown:
            raise ApiError(400, f"unknown team id(s): {', '.join(unknown)}")

    def create_client(self, fields: Mapping[str, Any]) -> Row:
        """``fields``: validated, with ``business_id`` normalised (or None) and the rest by public name."""
        self._check_teams(fields.get("teams") or [])
        now = time.time()
        business_id = fields.get("business_id")
        with self.db.transaction() as conn:
            if (
                business_id is not None
                and conn.execute(
                    "SELECT id FROM portal_clients WHERE business_id = ?", (business_id,)
                ).fetchone()
            ):
                self.counters["duplicateRegistrations"] += 1
            client_id = conn.execute(
                "INSERT INTO portal_clients (business_id, name, country, system, status, teams, tags,"
                " overrides, extra, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    business_id,
                    fields["name"],
                    fields["country"],
                    fields.get("system") or "ai-inside",
                    fields.get("status") or "ACTIVE",
                    json.dumps(fields.get("teams") or []),
                    json.dumps(fields.get("tags") or {}),
                    json.dumps(fields["overrides"]) if fields.get("overrides") else None,
                    json.dumps({name: fields[name] for name in EXTRA_FIELDS if fields.get(name) is not None}),
                    now,
                    now,
                ),
            ).lastrowid
        self.counters["clientsCreated"] += 1
        return self.client_row(client_id or 0)

    def patch_client(self, client_id: int, fields: Mapping[str, Any]) -> Row:
        """Only the fields present change; ``teams`` and ``tags`` are replaced whole; ``overrides: {}``
        clears the overrides; ``system`` cannot change."""
        row = self.client_row(client_id)
        if "system" in fields and fields["system"] != row["system"]:
            raise ApiError(400, "system cannot be changed once the client is created")
        if fields.get("teams") is not None:
            self._check_teams(fields["teams"])
        columns: dict[str, Any] = {}
        for name, column in (("name", "name"), ("country", "country"), ("status", "status")):
            if fields.get(name) is not None:
                columns[column] = fields[name]
        if "business_id" in fields:
            columns["business_id"] = fields["business_id"]
        for name in ("teams", "tags"):
            if fields.get(name) is not None:
                columns[name] = json.dumps(fields[name])
        if "overrides" in fields:
            columns["overrides"] = json.dumps(fields["overrides"]) if fields["overrides"] else None
        extra = json.loads(row["extra"])
        extra.update({name: fields[name] for name in EXTRA_FIELDS if name in fields})
        columns["extra"] = json.dumps({k: v for k, v in extra.items() if v is not None})
        columns["updated_at"] = time.time()
        assignments = ", ".join(f"{column} = ?" for column in columns)
        self.db.execute(
            f"UPDATE portal_clients SET {assignments} WHERE id = ?",  # noqa: S608 - fixed column names
            [*columns.values(), client_id],
        )
        self.counters["clientsPatched"] += 1
        return self.client_row(client_id)

    def delete_client(self, client_id: int) -> None:
        self.client_row(client_id)
        self.db.execute("DELETE FROM portal_clients WHERE id = ?", (client_id,))
        self.counters["clientsDeleted"] += 1

    # ---- teams ----

    def team_clients(self, team_id: int) -> list[int]:
        """The clients whose ``teams`` name this team, by id."""
        return [
            client["id"]
            for client in self.db.query("SELECT id, teams FROM portal_clients ORDER BY id")
            if team_id in json.loads(client["teams"])
        ]

    def teams(self) -> list[Row]:
        return self.db.query("SELECT * FROM portal_teams ORDER BY id")

    def team_row(self, team_id: int) -> Row:
        row = self.db.query_one("SELECT * FROM portal_teams WHERE id = ?", (team_id,))
        if row is None:
            raise ApiError(404, "team not found")
        return row

    def create_team(self, name: str, tags: Mapping[str, str]) -> Row:
        now = time.time()
        team_id = self.db.execute(
            "INSERT INTO portal_teams (name, tags, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (name, json.dumps(dict(tags)), now, now),
        )
        return self.team_row(team_id)

    def replace_team(self, team_id: int, name: str | None, clients: Sequence[int] | None) -> Row:
        """``PUT /teams/{id}``: the whole team, its client list included."""
        row = self.team_row(team_id)
        now = time.time()
        with self.db.transaction() as conn:
            if name is not None:
                conn.execute(
                    "UPDATE portal_teams SET name = ?, updated_at = ? WHERE id = ?", (name, now, team_id)
                )
            if clients is not None:
                for client in conn.execute("SELECT id, teams FROM portal_clients").fetchall():
                    teams = [t for t in json.loads(client["teams"]) if t != team_id]
                    if client["id"] in clients:
                        teams.append(team_id)
                    conn.execute(
                        "UPDATE portal_clients SET teams = ? WHERE id = ?", (json.dumps(teams), client["id"])
                    )
        return self.team_row(row["id"])

    # ---- models and the client's dimensions ----

    def model_status(self, row: Row) -> str:
        if row["forced_status"] is not None:
            return str(row["forced_status"])
        elapsed = time.time() - row["created_at"]
        seconds = self.scenario.training_seconds
        if elapsed >= seconds:
            return "DEPLOYED"
        return "PENDING" if elapsed < seconds / 3 else "RUNNING"

    def models(self, client_id: int) -> list[Row]:
        self.client_row(client_id)
        return self.db.query("SELECT * FROM portal_models WHERE client_id = ? ORDER BY id", (client_id,))

    def create_model(self, client_id: int, label: str, dimension_id: str | None, priority: int) -> Row:
        self.client_row(client_id)
        if label == "DIMENSION":
            known = {dimension["id"] for dimension in self.dimensions(client_id)}
            if dimension_id not in known:
                raise ApiError(400, f"dimension {dimension_id} not found for this client")
        model_id = self.db.execute(
            "INSERT INTO portal_models (client_id, label, dimension_id, priority, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (client_id, label, dimension_id if label == "DIMENSION" else None, priority, time.time()),
        )
        self.counters["modelsOrdered"] += 1
        row = self.db.query_one("SELECT * FROM portal_models WHERE id = ?", (model_id,))
        assert row is not None
        return row

    def delete_model(self, client_id: int, model_id: int) -> None:
        self.client_row(client_id)
        if (
            self.db.query_one(
                "SELECT id FROM portal_models WHERE id = ? AND client_id = ?", (model_id, client_id)
            )
            is None
        ):
            raise ApiError(404, "model not found")
        self.db.execute("DELETE FROM portal_models WHERE id = ?", (model_id,))

    def force_training(self, client_id: int, status: str) -> int:
        """Admin: every model of the client to ``status`` (0: the client has no models)."""
        self.client_row(client_id)
        self.db.execute("UPDATE portal_models SET forced_status = ? WHERE client_id = ?", (status, client_id))
        row = self.db.query_one("SELECT COUNT(*) AS n FROM portal_models WHERE client_id = ?", (client_id,))
        return int(row["n"]) if row else 0

    def dimensions(self, client_id: int) -> list[dict[str, Any]]:
        """FabricAI's copy of the client's dimensions, once it has read them (else empty)."""
        self.client_row(client_id)
        row = self.db.query_one("SELECT * FROM portal_dimensions WHERE client_id = ?", (client_id,))
        if row is None or row["read_at"] > time.time():
            return []
        data: list[dict[str, Any]] = json.loads(row["data"])
        return data

    def dimensions_read_at(self, client_id: int) -> float | None:
        """When FabricAI read the client's dimensions (None: not yet)."""
        row = self.db.query_one("SELECT read_at FROM portal_dimensions WHERE client_id = ?", (client_id,))
        if row is None or row["read_at"] > time.time():
            return None
        return float(row["read_at"])

    def read_erp_dimensions(self, client_id: int, delay: float) -> None:
        """FabricAI reads the client's dimensions from its ERP ``delay`` seconds from now."""
        row = self.client_row(client_id)
        found = self.erp_dimensions(row["business_id"] or "")
        digits = (row["business_id"] or "0000000-0").replace("-", "")
        data = [
            {
                "id": f"{digits}{index:03d}",
                "name": name,
                "items": [
                    {"id": f"{digits}{index:03d}{n:03d}", "name": item} for n, item in enumerate(items, 1)
                ],
            }
            for index, (name, items) in enumerate(found, 1)
        ]
        self.db.execute(
            "INSERT INTO portal_dimensions (client_id, data, read_at) VALUES (?, ?, ?)"
            " ON CONFLICT(client_id) DO UPDATE SET data = excluded.data, read_at = excluded.read_at",
            (client_id, json.dumps(data), time.time() + delay),
        )

    # ---- the connection extension ----

    def connection(self, client_id: int) -> Row | None:
        self.client_row(client_id)
        return self.db.query_one("SELECT * FROM portal_connections WHERE client_id = ?", (client_id,))

    def connect(
        self,
        client_id: int,
        system: str,
        erp_company_id: str,
        credentials: Mapping[str, Any],
        verification: Mapping[str, Any] | None,
    ) -> Row:
        """A new connection replacing any previous one, holding the verification that passed (None: a
        portal that does not verify, ``verifyConnections: false``); training
        starts (an ACCOUNT model, if none) and FabricAI reads the client's dimensions from the ERP."""
        connection_id = f"conn_{secrets.token_hex(8)}"
        now = time.time()
        with self.db.transaction() as conn:
            if conn.execute("SELECT id FROM portal_clients WHERE id = ?", (client_id,)).fetchone() is None:
                raise ApiError(404, "client not found")
            conn.execute("DELETE FROM portal_connections WHERE client_id = ?", (client_id,))
            conn.execute(
                "INSERT INTO portal_connections"
                " (id, client_id, system, erp_company_id, credentials, connected_at, verification)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    connection_id,
                    client_id,
                    system,
                    erp_company_id,
                    json.dumps(dict(credentials)),
                    now,
                    None if verification is None else json.dumps(dict(verification)),
                ),
            )
            if not conn.execute(
                "SELECT id FROM portal_models WHERE client_id = ? AND label = 'ACCOUNT'", (client_id,)
            ).fetchone():
                conn.execute(
                    "INSERT INTO portal_models (client_id, label, dimension_id, priority, created_at)"
                    " VALUES (?, 'ACCOUNT', NULL, 0, ?)",
                    (client_id, now),
                )
        self.read_erp_dimensions(client_id, self.scenario.dimensions_read_seconds)
        self.counters["connectionsPut"] += 1
        row = self.db.query_one("SELECT * FROM portal_connections WHERE id = ?", (connection_id,))
        assert row is not None
        return row

    def current_connection(self, client_id: int, connection_id: str) -> Row:
        """The client's connection if ``connection_id`` is its current one; else 404 (replaced, removed)."""
        self.client_row(client_id)
        row = self.db.query_one(
            "SELECT * FROM portal_connections WHERE id = ? AND client_id = ?", (connection_id, client_id)
        )
        if row is None:
            raise ApiError(404, "connection not found")
        return row

    @staticmethod
    def stored_credentials(row: Row) -> dict[str, Any]:
        """The credentials a connection holds, for FabricAI's own re-verification (never answered)."""
        credentials: dict[str, Any] = json.loads(row["credentials"])
        return credentials

    def rotate(
        self,
        client_id: int,
        connection_id: str,
        credentials: Mapping[str, Any],
        verification: Mapping[str, Any] | None,
    ) -> Row:
        """New credentials on the same connection, with the verification that passed for them (None: a
        portal that does not verify)."""
        row = self.current_connection(client_id, connection_id)
        stored = None if verification is None else json.dumps(dict(verification))
        self.db.execute(
            "UPDATE portal_connections SET credentials = ?, credentials_rotated_at = ?, verification = ?"
            " WHERE id = ?",
            (json.dumps(dict(credentials)), time.time(), stored, row["id"]),
        )
        self.counters["credentialRotations"] += 1
        return self.current_connection(client_id, connection_id)

    def store_verification(self, client_id: int, connection_id: str, verification: Mapping[str, Any]) -> Row:
        """The latest re-run of the checks becomes the connection's ``verification`` (404 if the connection
        was replaced or removed meanwhile)."""
        row = self.current_connection(client_id, connection_id)
        self.db.execute(
            "UPDATE portal_connections SET verification = ? WHERE id = ?",
            (json.dumps(dict(verification)), row["id"]),
        )
        self.counters["reverifications"] += 1
        return self.current_connection(client_id, connection_id)

    def disconnect(self, client_id: int, connection_id: str) -> None:
        row = self.current_connection(client_id, connection_id)
        self.db.execute("DELETE FROM portal_connections WHERE id = ?", (row["id"],))
        self.counters["disconnects"] += 1

    def connection_for_admin(self, client_id: int) -> dict[str, Any] | None:
        """The client's connection with a fingerprint of its credentials (never the credentials)."""
        row = self.db.query_one("SELECT * FROM portal_connections WHERE client_id = ?", (client_id,))
        if row is None:
            return None
        return {
            **payloads.connection(row),
            "credentialsFingerprint": credentials_fingerprint(json.loads(row["credentials"])),
        }
