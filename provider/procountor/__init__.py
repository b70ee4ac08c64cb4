"""Procountor, in the shape every ERP subpackage has: ``client`` (the REST client), ``models`` (its
answers), ``rights`` (the guide's rights table), ``checks`` (the guide's prerequisite checks, as findings)
and ``pace`` (20 requests per second per partner app). Its errors are in ``provider.errors``."""
