"""The FabricAI portal: its client (``client``), payloads (``models``), the connection extension
(``connection``) and the business-ID directory (``directory``). ``provider.portal`` keeps the names the
rest of the provider imports, as the module of that name did before it became this package."""

from typing import Literal

from provider.portal.client import PortalClient
from provider.portal.models import (
    ClientBody,
    ClientRecord,
    Connection,
    Dimension,
    ListedClient,
    Overrides,
    PredictionModel,
    Team,
    vat_form,
)

# The ERP systems the connection extension takes.
ErpSystem = Literal["procountor", "netvisor"]
__all__ = [
    "ClientBody",
    "ClientRecord",
    "Connection",
    "Dimension",
    "ErpSystem",
    "ListedClient",
    "Overrides",
    "PortalClient",
    "PredictionModel",
    "Team",
    "vat_form",
]
