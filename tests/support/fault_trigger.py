"""Faults that start at a given request: a transport for a test's provider process (the one seam,
``provider.context.ClientOptions.transport``), instead of patching a client class.

``FaultTrigger(admin)`` passes every request through; once armed with ``arm(method, path_part, faults)`` the
first matching request turns the sandbox's faults for the portal on before it is sent (so it and everything
after it meet them), and with ``clear_after`` the first request that does not match turns them off again
(e.g. the read-back after a write whose answers were lost). ``read_timeout`` shortens the per-read timeout of
every request, for faults that answer late.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.server import AdminClient


@dataclass
class _Armed:
    method: str
    path_part: str
    faults: dict[str, Any]
    clear_after: bool
    on: bool = False
    done: bool = False


class FaultTrigger(httpx.BaseTransport):
    def __init__(
        self, admin: AdminClient, service: str = "portal", read_timeout: float | None = None
    ) -> None:
        self.inner = httpx.HTTPTransport()
        self._admin = admin
        self._service = service
        self._read_timeout = read_timeout
        self._armed: _Armed | None = None
        self._lock = threading.Lock()

    def arm(self, method: str, path_part: str, *, clear_after: bool = False, **faults: Any) -> None:
        self._armed = _Armed(method, path_part, dict(faults), clear_after)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            armed = self._armed
            if armed is not None and not armed.done:
                matches = request.method == armed.method and armed.path_part in request.url.path
                if matches and not armed.on:
                    self._admin.set_faults(self._service, **armed.faults)
                    armed.on = True
                elif not matches and armed.on and armed.clear_after:
                    self._admin.clear_faults(self._service)
                    armed.done = True
        if self._read_timeout is not None:
            timeouts = dict(request.extensions.get("timeout", {}))
            timeouts["read"] = self._read_timeout
            request.extensions["timeout"] = timeouts
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
