"""The sandbox's stand-in for Netvisor's integration API (signed ``.nv`` resources in XML), in the shape
every sandbox service has: ``scenario`` (the ``netvisor:`` section), ``state`` (error codes, used
transaction ids, requests in flight, statistics), ``service`` (HTTP), ``payloads`` (the envelope and the
resources' bodies); plus ``auth``, the one job Netvisor adds: who signed a request, and whether the MAC
holds."""

from sandbox.netvisor.scenario import NetvisorScenario
from sandbox.netvisor.service import NetvisorService

__all__ = ["NetvisorScenario", "NetvisorService"]
