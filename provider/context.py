"""Clients shared process-wide by every provider of one configuration.

The engine serves all dynamic resources of a run from one process with four worker threads, and each
provider class is configured separately. Sharing clients per configuration gives one Procountor token
cache and rate limiter and one lock per Netvisor customer environment, whichever resource asks.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from provider.netvisor.client import NetvisorClient
from provider.portal import PortalClient
from provider.procountor.client import ProcountorClient
from provider.settings import ProviderSettings


class ProviderContext:
    _instances: ClassVar[dict[ProviderSettings, ProviderContext]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._portal: PortalClient | None = None
        self._procountor: ProcountorClient | None = None
        self._netvisor: NetvisorClient | None = None

    @classmethod
    def for_settings(cls, settings: ProviderSettings) -> ProviderContext:
        with cls._instances_lock:
            context = cls._instances.get(settings)
            if context is None:
                context = cls._instances[settings] = cls(settings)
            return context

    @property
    def portal(self) -> PortalClient:
        with self._lock:
            if self._portal is None:
                self._portal = PortalClient(self.settings.portal())
            return self._portal

    @property
    def procountor(self) -> ProcountorClient:
        with self._lock:
            if self._procountor is None:
                settings = self.settings.procountor()
                self._procountor = ProcountorClient(
                    settings, requests_per_second=settings.requests_per_second
                )
            return self._procountor

    @property
    def netvisor(self) -> NetvisorClient:
        with self._lock:
            if self._netvisor is None:
                self._netvisor = NetvisorClient(self.settings.netvisor())
            return self._netvisor
