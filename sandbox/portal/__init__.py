"""The sandbox's stand-in for the FabricAI portal: FabricAI's public "AI Inside" API (clients, teams, the
client's dimensions and models) and the connection extension, split by job: ``scenario`` (what it holds at
start), ``state`` (storage and rules), ``handlers`` (HTTP)."""

from sandbox.business_id import normalise_business_id
from sandbox.portal.handlers import PortalService
from sandbox.portal.scenario import PortalScenario, vat_number
from sandbox.portal.state import credentials_fingerprint

__all__ = [
    "PortalScenario",
    "PortalService",
    "credentials_fingerprint",
    "normalise_business_id",
    "vat_number",
]
