"""The sandbox's stand-in for Netvisor's integration API (signed ``.nv`` resources in XML)."""

from sandbox.netvisor.scenario import NetvisorScenario
from sandbox.netvisor.service import NetvisorService

__all__ = ["NetvisorScenario", "NetvisorService"]
