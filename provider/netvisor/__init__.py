"""Netvisor, in the shape every ERP subpackage has: ``client`` (signed GETs of ``.nv`` resources),
``models`` (its XML answers, parsed hardened, and its error codes), ``rights`` (the guide's rights in
Netvisor's words), ``checks`` (the guide's prerequisite checks, as findings) and ``pace`` (one request at
a time per customer environment); plus ``signing`` (the X-Netvisor-* headers and their MAC), the one job
Procountor's OAuth does not need. Its errors are in ``provider.errors``."""
