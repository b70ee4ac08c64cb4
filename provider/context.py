"""What one provider process shares: the API clients, the Procountor rate limiters, the Netvisor locks.

The engine serves all dynamic resources of a run from one process with four worker threads, and each
provider class is configured separately. Sharing per configuration gives one Procountor token cache and
rate limiter per partner app and one lock per Netvisor customer environment, whichever resource asks.

Everything shared lives in ONE object, ``process_context()``, and nowhere else:

    process_context().providers            ProviderSettings -> ProviderContext (its clients)
    process_context().procountor_limiters  (Procountor host, client id) -> RateLimiter
    process_context().netvisor_gates       (Netvisor host, customer id) -> EnvironmentGate

How the clients are built is ``process_context().options`` (``ClientOptions``: the retry policy, the
transport, the answer bounds): the one seam. Production uses the defaults; a test gives its own with
``provider.context.reset(ClientOptions(...))``, as a new process would start, instead of patching a
class or a library. ``reset()`` (tests/conftest.py, every test) forgets every shared client (with its
token cache), limiter and lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

import httpx

from provider.defaults import ANSWER_DEADLINE_SECONDS, ANSWER_MAX_BYTES, ANSWER_MAX_COMPRESSED_BYTES
from provider.http_body import Limits
from provider.retry import RetryPolicy
from provider.settings import ProviderSettings

if TYPE_CHECKING:  # the clients import this module for their registries; they are imported when first used
    from provider.netvisor.client import NetvisorClient
    from provider.netvisor.pace import EnvironmentGate
    from provider.portal import PortalClient
    from provider.procountor.client import ProcountorClient
    from provider.procountor.pace import RateLimiter


@dataclass(frozen=True)
class ClientOptions:
    """How every API client of the process is built (the defaults are production's)."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Stands in for the network (a test's transport); None: httpx's own, through provider.http.build_client.
    transport: httpx.BaseTransport | None = None
    # Bounds of a portal or Procountor answer (Netvisor's are its own, in provider.defaults).
    limits: Limits = field(
        default_factory=lambda: Limits(
            max_compressed=ANSWER_MAX_COMPRESSED_BYTES,
            max_decompressed=ANSWER_MAX_BYTES,
            deadline_seconds=ANSWER_DEADLINE_SECONDS,
        )
    )


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
        self.options = ClientOptions()
        self.providers: Registry[ProviderSettings, ProviderContext] = Registry()
        self.procountor_limiters: Registry[tuple[str, str], RateLimiter] = Registry()
        self.netvisor_gates: Registry[tuple[str, str], EnvironmentGate] = Registry()

    def reset(self, options: ClientOptions | None = None) -> None:
        """Start again as a new process (built with ``options``, else the defaults): forget the shared
        clients, drop every limiter and lock."""
        self.options = options or ClientOptions()
        self.providers.clear()
        self.procountor_limiters.clear()
        self.netvisor_gates.clear()


_PROCESS = ProcessContext()


def process_context() -> ProcessContext:
    """The process-wide context."""
    return _PROCESS


def reset(options: ClientOptions | None = None) -> None:
    """``process_context().reset(options)``: for tests, which each start as a new provider process."""
    _PROCESS.reset(options)


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
                options = _PROCESS.options
                self._portal = PortalClient(
                    self.settings.portal(),
                    retry=options.retry,
                    transport=options.transport,
                    limits=options.limits,
                )
            return self._portal

    @property
    def procountor(self) -> ProcountorClient:
        from provider.procountor.client import ProcountorClient

        with self._lock:
            if self._procountor is None:
                settings = self.settings.procountor()
                options = _PROCESS.options
                self._procountor = ProcountorClient(
                    settings,
                    retry=options.retry,
                    transport=options.transport,
                    limits=options.limits,
                    requests_per_second=settings.requests_per_second,
                )
            return self._procountor

    @property
    def netvisor(self) -> NetvisorClient:
        from provider.netvisor.client import NetvisorClient

        with self._lock:
            if self._netvisor is None:
                options = _PROCESS.options
                self._netvisor = NetvisorClient(
                    self.settings.netvisor(), retry=options.retry, transport=options.transport
                )
            return self._netvisor
