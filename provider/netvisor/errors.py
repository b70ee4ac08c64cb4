"""Netvisor's error codes; the typed errors a Netvisor request can end in live in ``provider.errors``.

Messages name the client company and quote Netvisor's own text with every key redacted. They state the
cause only: the fixes in Netvisor's UI words are added where the cause is known to be a guide prerequisite
(``provider.netvisor.prerequisites``).
"""

from __future__ import annotations

from provider.errors import CompanyNotReachable, CredentialsRejected, HostileAnswer, ResourceNotAllowed

__all__ = [
    "AUTHENTICATION_FAILED",
    "REQUEST_NOT_UNIQUE",
    "SERVICE_ACCESS_ERROR",
    "CompanyNotReachable",
    "CredentialsRejected",
    "HostileAnswer",
    "ResourceNotAllowed",
]

AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
SERVICE_ACCESS_ERROR = "SERVICE_ACCESS_ERROR"
REQUEST_NOT_UNIQUE = "REQUEST_NOT_UNIQUE"
