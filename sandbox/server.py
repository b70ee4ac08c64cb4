"""Run the sandbox: as a uvicorn server in a background thread (tests, benchmarks) or in the foreground.

    from sandbox.server import run_in_thread

    with run_in_thread(None, tmp_path / "state.db") as running:   # None = examples/sandbox.yaml
        running.url                       # http://127.0.0.1:PORT
        running.service_url("procountor") # http://127.0.0.1:PORT/procountor
        running.admin.set_faults("portal", errorRate=0.5, seed=1)
        running.admin.stats()

One event loop serves every connection (uvicorn, h11), which is plenty for dozens of concurrent clients.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from sandbox.app import Sandbox
from sandbox.db import Database
from sandbox.faults import silence_dropped_connection_logs
from sandbox.portal import credentials_fingerprint
from sandbox.scenario import Scenario, as_scenario

ScenarioSource = Scenario | Mapping[str, Any] | Path | str | None
_START_TIMEOUT_SECONDS = 10.0


class AdminClient:
    """Thin helpers over ``/admin`` for tests and benchmarks."""

    def __init__(self, base_url: str) -> None:
        self._base = f"{base_url}/admin"

    def _call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        response = httpx.request(method, f"{self._base}{path}", json=json, timeout=10)
        response.raise_for_status()
        return response

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/stats").json()
        return result

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/faults").json()
        return result

    def set_faults(self, service: str, **settings: Any) -> dict[str, Any]:
        """Replace a service's fault settings (camelCase names: latencyMs, errorRate, ..., seed)."""
        result: dict[str, Any] = self._call("PUT", f"/faults/{service}", json=settings).json()
        return result

    def clear_faults(self, service: str) -> None:
        self.set_faults(service)

    def reset(self) -> None:
        self._call("POST", "/reset")

    def portal_connection(self, client_id: int) -> dict[str, Any] | None:
        """The portal connection of a client with ``credentialsFingerprint``, or None."""
        response = httpx.get(f"{self._base}/portal/clients/{client_id}/connection", timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        data: dict[str, Any] = response.json()["data"]
        return data

    def credentials_fingerprint(self, client_id: int) -> str | None:
        connection = self.portal_connection(client_id)
        return None if connection is None else str(connection["credentialsFingerprint"])

    @staticmethod
    def fingerprint(credentials: dict[str, Any]) -> str:
        """What ``credentials_fingerprint`` reports for a portal holding ``credentials``."""
        return credentials_fingerprint(credentials)


@dataclass(frozen=True)
class RunningSandbox:
    url: str
    sandbox: Sandbox
    admin: AdminClient

    def service_url(self, name: str) -> str:
        return f"{self.url}/{name}"


def bind_socket(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP. With proto 0,
    # Nagle holds a response's body until the client's delayed ACK: +40 ms on every keep-alive request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def uvicorn_server(sandbox: Sandbox, *, log_config: dict[str, Any] | None) -> uvicorn.Server:
    silence_dropped_connection_logs()
    config = uvicorn.Config(
        sandbox.app,
        http="h11",
        loop="asyncio",
        lifespan="off",
        access_log=False,
        log_level="warning",
        log_config=log_config,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


@contextmanager
def run_in_thread(
    scenario: ScenarioSource, state_path: Path | str, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningSandbox]:
    """Start the sandbox on ``host:port`` (0 = ephemeral) in a daemon thread; stop it on exit."""
    db = Database(state_path)
    sock = bind_socket(host, port)
    try:
        sandbox = Sandbox(as_scenario(scenario), db)
        server = uvicorn_server(sandbox, log_config=None)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        url = socket_url(sock)
        try:
            yield RunningSandbox(url=url, sandbox=sandbox, admin=AdminClient(url))
        finally:
            server.should_exit = True
            thread.join(timeout=5)
    finally:
        sock.close()
        db.close()
