"""Procountor: the REST client (client.py), its answers (models.py), the guide's rights table (rights.py)
and the guide's prerequisite checks (checks.py). Its errors are in ``provider.errors``.

Importing ``provider.procountor`` gives the names the module of that name had before it became this
package, so code and stacks written against it keep working.
"""

from provider.errors import AccessDenied, ServerFailure, TokenRefused
from provider.procountor.client import (
    DEFAULT_REQUESTS_PER_SECOND,
    CompanyFacts,
    Outcome,
    ProcountorClient,
    RateLimiter,
    TokenCache,
    limiter_for,
)
from provider.procountor.models import BusinessIdentifier, Company, Dimension, DimensionItem, UserRights

__all__ = [
    "DEFAULT_REQUESTS_PER_SECOND",
    "AccessDenied",
    "BusinessIdentifier",
    "Company",
    "CompanyFacts",
    "Dimension",
    "DimensionItem",
    "Outcome",
    "ProcountorClient",
    "RateLimiter",
    "ServerFailure",
    "TokenCache",
    "TokenRefused",
    "UserRights",
    "limiter_for",
]
