"""What one provider process shares: the API clients, the Procountor rate limiters, the Netvisor locks.

The engine serves all dynamic resources of a run from one process with four worker threads, and each
provider class is configured separately. Sharing per configuration gives one Procountor token cache and
rate limiter per partner app and one lock per Netvisor customer environment, whichever resource asks.

Everything shared lives in ONE object, ``process_context()``, and nowhere else:

    process_context().providers            ProviderSettings -> ProviderContext (its clients)
    process_context().procountor_limiters  (Procountor host, client id) -> RateLimiter
    process_context().netvisor_gates       (Netvisor host, customer id) -> EnvironmentGate

Tests start each case as a new process would with ``provider.context.reset()`` (tests/conftest.py does it
for every test): every shared client (with its token cache) is forgotten, every limiter and lock dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from provider.settings import ProviderSettings

if TYPE_CHECKING:  # the clients import this module for their registries; they are imported when first used
    from provider.netvisor.client import NetvisorClient
    from provider.netvisor.pace import EnvironmentGate
    from provider.portal import PortalClient
    from provider.procountor.client import ProcountorClient
    from provider.procountor.pace import RateLimiter

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Registry(Generic[K, V]):
    """Values made once per key and shared by every thread of the process."""

    def __init__(self) -> None:
        self._values: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value of ``key``, made by ``make`` (under the lock) the first time it is asked for."""
        with self._lock:
            if key not in self._values:
                self._values[key] = make()
            return self._values[key]

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


class ProcessContext:
    """The one process-wide context; see the module docstring."""

    def __init__(self) -> None:
        self.providers: Registry[ProviderSettings, ProviderContext] = Registry()
        self.procountor_limiters: Registry[tuple[str, str], RateLimiter] = Registry()
        self.netvisor_gates: Registry[tuple[str, str], EnvironmentGate] = Registry()

    def reset(self) -> None:
        """Start again as a new process: forget the shared clients, drop every limiter and lock."""
        self.providers.clear()
        self.procountor_limiters.clear()
        self.netvisor_gates.clear()


_PROCESS = ProcessContext()


def process_context() -> ProcessContext:
    """The process-wide context."""
    return _PROCESS


def reset() -> None:
    """``process_context().reset()``: for tests, which each start as a new provider process."""
    _PROCESS.reset()


class ProviderContext:
    """The clients of one provider configuration, made when first used and shared process-wide."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._portal: PortalClient | None = None
        self._procountor: ProcountorClient | None = None
        self._netvisor: NetvisorClient | None = None

    @classmethod
    def for_settings(cls, settings: ProviderSettings) -> ProviderContext:
        """The shared context of ``settings`` (held by ``process_context().providers``)."""
        return _PROCESS.providers.get(settings, lambda: cls(settings))

    @property
    def portal(self) -> PortalClient:
        from provider.portal import PortalClient

        with self._lock:
            if self._portal is None:
                self._portal = PortalClient(self.settings.portal())
            return self._portal

    @property
    def procountor(self) -> ProcountorClient:
        from provider.procountor.client import ProcountorClient

        with self._lock:
            if self._procountor is None:
                settings = self.settings.procountor()
                self._procountor = ProcountorClient(
                    settings, requests_per_second=settings.requests_per_second
                )
            return self._procountor

    @property
    def netvisor(self) -> NetvisorClient:
        from provider.netvisor.client import NetvisorClient

        with self._lock:
            if self._netvisor is None:
                self._netvisor = NetvisorClient(self.settings.netvisor())
            return self._netvisor
