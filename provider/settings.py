"""Provider-wide settings, read from stack config in ``ResourceProvider.configure``.

They never become resource inputs, so no secret reaches resource state. Who verifies a client's ERP
credentials (``verification_for``): the FabricAI portal, which holds FabricAI's partner credentials (a
firm's stack: it never has them), or the provider itself where those partner credentials are configured
(FabricAI's own staff; rehearsals). ``fabricai:verification`` (auto | portal | local) may force one; each
ERP's partner settings are required only when that ERP is verified locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from provider import defaults
from provider.errors import ConfigurationError

# The old names of the defaults, kept for importers.
DEFAULT_PORTAL_URL = defaults.PORTAL_URL
DEFAULT_PROCOUNTOR_URL = defaults.PROCOUNTOR_URL
DEFAULT_NETVISOR_URL = defaults.NETVISOR_URL
DEFAULT_NETVISOR_SENDER = defaults.NETVISOR_SENDER
DEFAULT_NETVISOR_ACCESS_KEY = defaults.NETVISOR_ACCESS_KEY


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True)


class PortalSettings(_Settings):
    url: str
    api_key: SecretStr


class ProcountorSettings(_Settings):
    base_url: str
    client_id: str
    client_secret: SecretStr
    # Requests per second for this partner app across the whole run (default 20: Procountor's page).
    requests_per_second: float | None = None


class NetvisorSettings(_Settings):
    base_url: str
    partner_id: str
    partner_key: SecretStr
    sender: str
    language: str = defaults.NETVISOR_LANGUAGE
    access_key: str = DEFAULT_NETVISOR_ACCESS_KEY


REFRESH_ERP_KEY = "fabricai:refreshErp"
VERIFICATION_KEY = "fabricai:verification"
VERIFICATION_MODES = ("auto", "portal", "local")
PROCOUNTOR_API_KEYS_KEY = "roster:procountorApiKeys"
NETVISOR_CREDENTIALS_KEY = "roster:netvisorCredentials"


def _flag(value: Any, key: str, default: bool) -> bool:
    """A boolean setting: true/false as config gives it (a string, or a bool), unset is the default."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in ("true", "false"):
        return text == "true"
    raise ConfigurationError(
        f"Stack config '{key}' must be true or false. Set it with: pulumi config set {key} false"
    )


def _object(value: Any) -> Mapping[str, Any]:
    """An object setting as config gives it (JSON text, or a map); anything else is empty here (the
    program's roster checks report a malformed roster, with the fix)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def _missing(key: str, secret: bool) -> ConfigurationError:
    flag = " --secret" if secret else ""
    return ConfigurationError(
        f"Stack config '{key}' is not set. Set it with: pulumi config set{flag} {key} <value>"
    )


def _partner_missing(key: str, secret: bool) -> ConfigurationError:
    flag = " --secret" if secret else ""
    return ConfigurationError(
        f"Stack config '{key}' is not set, and {VERIFICATION_KEY} is local, which verifies the clients' ERP "
        "credentials here with FabricAI's own partner credentials. A firm never has those: set "
        f"`pulumi config set {VERIFICATION_KEY} auto` and the FabricAI portal verifies. FabricAI's own "
        f"staff set it with: pulumi config set{flag} {key} <value>"
    )


class ProviderSettings(_Settings):
    """Everything ``configure`` received, as optional values; the ``*_settings`` accessors require them."""

    portal_url: str = DEFAULT_PORTAL_URL
    portal_api_key: SecretStr | None = None
    procountor_base_url: str = DEFAULT_PROCOUNTOR_URL
    procountor_client_id: str | None = None
    procountor_client_secret: SecretStr | None = None
    procountor_requests_per_second: str | None = None
    netvisor_base_url: str = DEFAULT_NETVISOR_URL
    netvisor_partner_id: str | None = None
    netvisor_partner_key: SecretStr | None = None
    netvisor_sender: str = DEFAULT_NETVISOR_SENDER
    netvisor_language: str = defaults.NETVISOR_LANGUAGE
    netvisor_access_key: str = DEFAULT_NETVISOR_ACCESS_KEY
    # `fabricai:refreshErp`: false makes `pulumi refresh` portal-only (no ERP request, health untouched).
    refresh_erp: bool = defaults.REFRESH_ERP
    # `fabricai:verification`: auto (local where the ERP's partner secret is set, else the portal) | portal
    # | local.
    verification: str = "auto"
    # The credentials stack config holds (roster:procountorApiKeys values; roster:netvisorCredentials as
    # customer id and key): a refresh re-checks a client's ERP with the one whose fingerprint its state has
    # (a dynamic provider's read receives the outputs only, and the outputs never hold a key).
    stored_procountor_keys: tuple[SecretStr, ...] = ()
    stored_netvisor_credentials: tuple[tuple[str, SecretStr], ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every secret stack config gave: the organisation key, the partner secrets, the clients' keys."""
        held = [self.portal_api_key, self.procountor_client_secret, self.netvisor_partner_key]
        held += [*self.stored_procountor_keys, *(key for _, key in self.stored_netvisor_credentials)]
        return tuple(value for secret in held if secret is not None and (value := secret.get_secret_value()))

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> ProviderSettings:
        """Build from a config getter such as ``ConfigureRequest.config.get`` (``fabricai:apiKey``...)."""
        keys = {
            "portal_url": "fabricai:portalUrl",
            "portal_api_key": "fabricai:apiKey",
            "procountor_base_url": "procountor:baseUrl",
            "procountor_client_id": "procountor:clientId",
            "procountor_client_secret": "procountor:clientSecret",
            "procountor_requests_per_second": "procountor:requestsPerSecond",
            "netvisor_base_url": "netvisor:baseUrl",
            "netvisor_partner_id": "netvisor:partnerId",
            "netvisor_partner_key": "netvisor:partnerKey",
            "netvisor_sender": "netvisor:sender",
            "netvisor_language": "netvisor:language",
            "netvisor_access_key": "netvisor:accessKey",
            "verification": VERIFICATION_KEY,
        }
        values: dict[str, Any] = {}
        for field, key in keys.items():
            value = get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise ConfigurationError(f"Stack config '{key}' must be a string.")
            values[field] = value.strip()
        values["refresh_erp"] = _flag(get(REFRESH_ERP_KEY), REFRESH_ERP_KEY, defaults.REFRESH_ERP)
        keys_config = _object(get(PROCOUNTOR_API_KEYS_KEY))
        values["stored_procountor_keys"] = tuple(
            SecretStr(key.strip()) for key in keys_config.values() if isinstance(key, str) and key.strip()
        )
        values["stored_netvisor_credentials"] = tuple(
            (str(pair["customerId"]).strip(), SecretStr(pair["customerKey"].strip()))
            for pair in _object(get(NETVISOR_CREDENTIALS_KEY)).values()
            if isinstance(pair, Mapping)
            and isinstance(pair.get("customerId"), str | int)
            and isinstance(pair.get("customerKey"), str)
        )
        values["verification"] = values.get("verification", "auto").casefold()
        if values["verification"] not in VERIFICATION_MODES:
            raise ConfigurationError(
                f"Stack config '{VERIFICATION_KEY}' must be one of {', '.join(VERIFICATION_MODES)} (auto: "
                "the FabricAI portal verifies, unless FabricAI's partner credentials are configured). Set it "
                f"with: pulumi config set {VERIFICATION_KEY} auto"
            )
        return cls(**values)

    def verification_for(self, system: str) -> Literal["portal", "local"]:
        """Who verifies this ERP's credentials: the portal (FabricAI) or the provider (partner mode)."""
        if self.verification == "portal":
            return "portal"
        if self.verification == "local":
            return "local"
        partner = self.procountor_client_secret if system == "procountor" else self.netvisor_partner_key
        return "local" if partner is not None else "portal"

    def portal(self) -> PortalSettings:
        if self.portal_api_key is None:
            raise _missing("fabricai:apiKey", secret=True)
        key = self.portal_api_key.get_secret_value()
        if not (key.isascii() and key.isprintable()):  # it travels in an HTTP header: ASCII only
            raise ConfigurationError(
                "Stack config 'fabricai:apiKey' holds characters no portal API key has (letters outside "
                "ASCII, or control characters). Fix: copy the key again from the portal (Organization -> API "
                "keys) and set it with: pulumi config set --secret fabricai:apiKey <key>"
            )
        return PortalSettings(url=self.portal_url.rstrip("/"), api_key=self.portal_api_key)

    def procountor(self) -> ProcountorSettings:
        if self.procountor_client_id is None:
            raise _partner_missing("procountor:clientId", secret=False)
        if self.procountor_client_secret is None:
            raise _partner_missing("procountor:clientSecret", secret=True)
        return ProcountorSettings(
            base_url=self.procountor_base_url.rstrip("/"),
            client_id=self.procountor_client_id,
            client_secret=self.procountor_client_secret,
            requests_per_second=self._requests_per_second(),
        )

    def _requests_per_second(self) -> float | None:
        if self.procountor_requests_per_second is None:
            return None
        try:
            pace = float(self.procountor_requests_per_second)
        except ValueError:
            pace = 0.0
        if not 0.1 <= pace <= 1000:  # below: a run of hours per client; above: no partner app's limit
            raise ConfigurationError(
                "Stack config 'procountor:requestsPerSecond' must be a number from 0.1 to 1000 (Procountor's "
                "page allows 20 per client application; more is the firm's own choice)."
            )
        return pace

    def netvisor(self) -> NetvisorSettings:
        if self.netvisor_partner_id is None:
            raise _partner_missing("netvisor:partnerId", secret=False)
        if self.netvisor_partner_key is None:
            raise _partner_missing("netvisor:partnerKey", secret=True)
        return NetvisorSettings(
            base_url=self.netvisor_base_url.rstrip("/"),
            partner_id=self.netvisor_partner_id,
            partner_key=self.netvisor_partner_key,
            sender=self.netvisor_sender,
            language=self.netvisor_language,
            access_key=self.netvisor_access_key,
        )
