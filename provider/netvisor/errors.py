"""What a Netvisor request can end in, as typed errors (``code`` is Netvisor's error code).

Messages name the client company and quote Netvisor's own text with every key redacted. They state the
cause only: the fixes in Netvisor's UI words are added where the cause is known to be a guide prerequisite
(``provider.netvisor.prerequisites``).
"""

from __future__ import annotations

from provider.errors import NetvisorError

AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
SERVICE_ACCESS_ERROR = "SERVICE_ACCESS_ERROR"
REQUEST_NOT_UNIQUE = "REQUEST_NOT_UNIQUE"


class CredentialsRejected(NetvisorError):
    """AUTHENTICATION_FAILED for the keys themselves: unknown customer id, wrong key or MAC."""


class CompanyNotReachable(NetvisorError):
    """AUTHENTICATION_FAILED for the organisation: the credentials' user has no rights to the company."""


class ResourceNotAllowed(NetvisorError):
    """SERVICE_ACCESS_ERROR: the partner's resource right for this resource is not allowed in the company."""


class HostileAnswer(NetvisorError):
    """The answer declared a DTD, entities or external references and was refused unparsed."""
