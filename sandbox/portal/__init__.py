"""The sandbox's stand-in for the FabricAI portal: FabricAI's public "AI Inside" API (clients, teams, the
client's dimensions and models) and the connection extension with its verification, in the shape every
sandbox service has: ``scenario`` (what it holds at start), ``state`` (storage and rules), ``service``
(HTTP), ``payloads`` (the answers' bodies); plus ``verifier`` with ``verifier_procountor`` and
``verifier_netvisor``, FabricAI's side of the checks, which call the sandbox's ERPs over HTTP."""

from sandbox.business_id import normalise_business_id
from sandbox.portal.scenario import PortalScenario, vat_number
from sandbox.portal.service import PortalService
from sandbox.portal.state import credentials_fingerprint

__all__ = [
    "PortalScenario",
    "PortalService",
    "credentials_fingerprint",
    "normalise_business_id",
    "vat_number",
]
