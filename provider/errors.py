"""The exceptions an operator can meet, and how their messages are written.

Every message names the client it is about, the cause, and the fix in the ERP's own UI words. No message
ever contains a secret: callers pass labels and identifiers, never keys, tokens or request bodies.

    FabricaiRosterError
    ├── RosterInvalid            the roster in stack config has problems (all of them, listed)
    ├── DeregistrationUnconfirmed  more clients would leave at once than roster:maxDeregistrations allows
    ├── ConfigurationError       a provider-wide setting is missing or malformed
    ├── ServiceError             a remote service could not be used (transport, 5xx after retries, bad answer)
    │   ├── PortalError
    │   │   ├── AlreadyRegistered     the business ID has a record in the portal already (found in the list)
    │   │   ├── DuplicateRecords      the portal holds two or more records of one business ID
    │   │   ├── UnknownTeam           a roster team name that the portal has no team of
    │   │   ├── ConnectionExtensionMissing  the portal at fabricai:portalUrl lacks the connection extension
    │   │   └── VerificationRefused   the portal's verification of ERP credentials did not pass (422/503);
    │   │                             nothing stored; ``verification`` holds the findings to word
    │   ├── ProcountorError
    │   │   ├── TokenRefused          oauth/token answered 400/401 (the client's API key, our client id, or
    │   │   │                         either when the answer cannot tell)
    │   │   ├── ServerFailure         HTTP 500 after the token: billable interfaces off (the guide)
    │   │   └── AccessDenied          403: the API user lacks a right
    │   └── NetvisorError             ``code`` is Netvisor's error code
    │       ├── CredentialsRejected   AUTHENTICATION_FAILED for the keys themselves
    │       ├── CompanyNotReachable   AUTHENTICATION_FAILED for the company (the user has no rights there)
    │       ├── ResourceNotAllowed    SERVICE_ACCESS_ERROR: a resource right not allowed, the API service
    │       │                         closed, or a service package without the API
    │       ├── EnvironmentBusy       another request of the same customer id was in flight (after retries)
    │       ├── HostileAnswer         the answer declared a DTD or entities and was refused unparsed
    │       ├── AnswerTooLarge        the answer was larger than the limit (compressed or decompressed)
    │       └── UnreadableAnswer      the answer is not Netvisor's XML, or not the shape of the resource
    ├── PrerequisiteFailed       a step of the onboarding guide does not hold for a client (fix in the ERP)
    └── OperatorError            the operator command `fabricai-roster` cannot do what was asked
                                 (provider/cli/stack.py: the Pulumi CLI failed, a stack cannot be read)

Which client an error is about is attached where the resource code knows it: ``ServiceError.about(label)``
annotates the error itself (``client`` and the message's prefix) and the caller re-raises that same object,
so its class and fields (``status_code``, ``retryable``, ``path``, ``field``, ``code``...) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


class FabricaiRosterError(Exception):
    """Base of every error this project raises on purpose."""


@dataclass(frozen=True)
class RosterProblem:
    """One problem in the roster: where it is (entry and field) and what is wrong."""

    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.entry}: {self.field}: {self.message}" if self.field else f"{self.entry}: {self.message}"
        )


class RosterInvalid(FabricaiRosterError):
    """The whole roster was validated and these problems were found; nothing was declared."""

    def __init__(self, problems: list[RosterProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = [f"The roster has {count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class DeregistrationUnconfirmed(FabricaiRosterError):
    """More clients would be deregistered at once than the roster allows without confirming them; nothing
    was declared. ``leaving`` holds ``(business ID, name)`` of each, in business-ID order."""

    def __init__(self, message: str, *, leaving: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.leaving = list(leaving)


class ConfigurationError(FabricaiRosterError):
    """A provider-wide setting (stack config such as ``procountor:clientId``) is missing or malformed."""


class ServiceError(FabricaiRosterError):
    """A remote service could not be used: unreachable, failing after retries, or answering nonsense.

    ``retryable`` says whether running ``pulumi up`` again later may succeed without changing anything.
    """

    service = "service"
    # The message may quote a service whole (the portal's ``error`` text): each layer that knows a secret the
    # request carried redacts it from the whole text, and only what is shown is shortened, so a key is never
    # cut in half before its redaction (a half no longer matches, and would show).
    SHOWN_LIMIT = 1_000

    def __init__(self, message: str, *, status_code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.client: str | None = None

    def __str__(self) -> str:
        text = super().__str__()
        return text if len(text) <= self.SHOWN_LIMIT else text[: self.SHOWN_LIMIT - 3] + "..."

    def about(self, label: str) -> Self:
        """Name the client this error is about: ``label: message``. Returns the same error, to re-raise."""
        if self.client is None:
            self.client = label
            self.args = (f"{label}: {self.args[0]}", *self.args[1:]) if self.args else (label,)
        return self


class PortalError(ServiceError):
    """The FabricAI portal refused or failed a request."""

    service = "FabricAI portal"


class AlreadyRegistered(PortalError):
    """The portal already has a client with this business ID; ``existing_id`` is its id.

    Found by reading the client list (the public API has no business-ID filter and promises no 409).
    ``this_stack``: the record carries the registering stack's own tag (``rosterStack``): it is this stack's
    registration whose answer was lost, or a client it retained, never someone else's."""

    def __init__(self, message: str, *, existing_id: int, this_stack: bool = False) -> None:
        super().__init__(message)
        self.existing_id = existing_id
        self.this_stack = this_stack


class DuplicateRecords(PortalError):
    """The portal holds more than one record of one business ID; ``record_ids`` are theirs.

    Nothing picks one of them: the operator removes the extra ones in the portal."""

    def __init__(self, message: str, *, record_ids: list[int]) -> None:
        super().__init__(message)
        self.record_ids = list(record_ids)


class UnknownTeam(PortalError):
    """A team named in the roster does not exist in the portal; ``existing`` are the teams that do."""

    def __init__(self, message: str, *, teams: list[str], existing: list[str]) -> None:
        super().__init__(message)
        self.teams = list(teams)
        self.existing = list(existing)


class ConnectionExtensionMissing(PortalError):
    """The portal at ``fabricai:portalUrl`` answers 404 on the connection routes of a client that exists:
    it does not offer the connection extension (docs/portal-connection-extension.openapi.yaml), so the
    client is not "gone"."""


class VerificationRefused(PortalError):
    """The portal verified ERP credentials and did not pass them (422 FAILED, 503 INCONCLUSIVE): nothing was
    stored. ``verification`` is the ``provider.verification.findings.Verification`` of its answer; the
    resource words it (``provider.verification.messages``) with what it knows of the client."""

    def __init__(self, message: str, *, verification: object, status_code: int) -> None:
        super().__init__(message, status_code=status_code, retryable=False)
        self.verification = verification


class ProcountorError(ServiceError):
    """Procountor refused or failed a request."""

    service = "Procountor"


class TokenRefused(ProcountorError):
    """``oauth/token`` answered 400 or 401. ``field`` is ``api_key`` (the client's key), ``client_id`` (our
    partner application's credentials), or None when the answer does not tell which."""

    def __init__(self, message: str, *, field: str | None, status_code: int = 401) -> None:
        super().__init__(message, status_code=status_code)
        self.field = field


class ServerFailure(ProcountorError):
    """An API call answered HTTP 500 (an HTML page or JSON) after the token was granted.

    Most likely billable interfaces are off (the guide), but Procountor may also be failing for a while,
    so it is marked retryable: a later run may succeed without any change."""


class AccessDenied(ProcountorError):
    """403: the API user lacks a right; ``path`` is what it tried to read."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message, status_code=403)
        self.path = path


class NetvisorError(ServiceError):
    """Netvisor refused or failed a request; ``code`` is its error code, e.g. AUTHENTICATION_FAILED."""

    service = "Netvisor"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, status_code=status_code, retryable=retryable)
        self.code = code


class CredentialsRejected(NetvisorError):
    """AUTHENTICATION_FAILED for the keys themselves: unknown customer id, wrong key or MAC."""


class CompanyNotReachable(NetvisorError):
    """AUTHENTICATION_FAILED for the organisation: the credentials' user has no rights to the company."""


class ResourceNotAllowed(NetvisorError):
    """SERVICE_ACCESS_ERROR: the partner's resource right for this resource is not allowed in the company."""


class EnvironmentBusy(NetvisorError):
    """Netvisor kept answering that another request of the same customer environment was in flight.

    Netvisor takes one request at a time per customer id: a program elsewhere (another machine) was using
    the same credentials. Never a sign of bad credentials; retryable."""


class HostileAnswer(NetvisorError):
    """The answer declared a DTD, entities or external references and was refused unparsed."""


class AnswerTooLarge(NetvisorError):
    """The answer exceeded the size limit, on the wire or once decompressed, and was refused unread."""


class UnreadableAnswer(NetvisorError):
    """The answer could not be read: not XML, not Netvisor's envelope, a false Content-Encoding, or a
    payload without what the resource always has (e.g. an account without a number)."""


class PrerequisiteFailed(FabricaiRosterError):
    """A prerequisite of the onboarding guide does not hold for one client.

    The message reads: ``<client>: <cause>`` and then ``Fix: <steps in the ERP's UI words>``.
    """

    def __init__(self, client: str, cause: str, fix: str) -> None:
        self.client = client
        self.cause = cause
        self.fix = fix
        super().__init__(f"{client}: {cause}\n  Fix: {fix}")
