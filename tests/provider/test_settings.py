"""Provider-wide settings from stack config: what is required when, and what the operator is told."""

from __future__ import annotations

import pytest

from provider import defaults
from provider.context import ProviderContext, process_context, reset
from provider.errors import ConfigurationError
from provider.http import build_client
from provider.netvisor.pace import EnvironmentGate
from provider.procountor.pace import limiter_for
from provider.retry import RetryPolicy
from provider.settings import DEFAULT_PROCOUNTOR_URL, ProviderSettings

PROCOUNTOR = {"procountor:clientId": "app", "procountor:clientSecret": "pc-secret-xyz"}


def test_defaults_point_at_production_hosts() -> None:
    settings = ProviderSettings.from_config(dict[str, str]().get)
    assert settings.procountor_base_url == DEFAULT_PROCOUNTOR_URL == "https://api.procountor.com/api"
    assert settings.netvisor_base_url == "https://integration.netvisor.fi"
    assert settings.portal_url == "https://ai.fabricai.io"


def test_every_default_comes_from_provider_defaults() -> None:
    settings = ProviderSettings()
    policy = RetryPolicy()
    client = build_client("http://127.0.0.1:9")
    try:
        assert (settings.portal_url, settings.procountor_base_url, settings.netvisor_base_url) == (
            defaults.PORTAL_URL,
            defaults.PROCOUNTOR_URL,
            defaults.NETVISOR_URL,
        )
        assert (settings.netvisor_sender, settings.netvisor_language, settings.netvisor_access_key) == (
            defaults.NETVISOR_SENDER,
            defaults.NETVISOR_LANGUAGE,
            defaults.NETVISOR_ACCESS_KEY,
        )
        assert (policy.max_attempts, policy.max_total_seconds, policy.max_retry_after) == (
            defaults.RETRY_MAX_ATTEMPTS,
            defaults.RETRY_MAX_TOTAL_SECONDS,
            defaults.RETRY_MAX_RETRY_AFTER_SECONDS,
        )
        assert (client.timeout.read, client.timeout.connect) == (
            defaults.TIMEOUT_SECONDS,
            defaults.CONNECT_TIMEOUT_SECONDS,
        )
        assert client.headers["User-Agent"] == defaults.USER_AGENT
    finally:
        client.close()


def test_each_erp_is_required_only_when_used() -> None:
    settings = ProviderSettings.from_config({"fabricai:apiKey": "k", **PROCOUNTOR}.get)
    assert settings.procountor().client_id == "app"
    with pytest.raises(ConfigurationError, match=r"pulumi config set netvisor:partnerId"):
        settings.netvisor()


@pytest.mark.parametrize(
    ("config", "command"),
    [
        ({}, "pulumi config set --secret fabricai:apiKey"),
        ({"procountor:clientSecret": "s"}, "pulumi config set procountor:clientId"),
        ({"procountor:clientId": "app"}, "pulumi config set --secret procountor:clientSecret"),
    ],
)
def test_a_missing_setting_names_the_command_that_sets_it(config: dict[str, str], command: str) -> None:
    settings = ProviderSettings.from_config(config.get)
    with pytest.raises(ConfigurationError, match=command):
        settings.portal() if "fabricai" in command else settings.procountor()


def test_urls_lose_trailing_slashes_and_values_are_stripped() -> None:
    settings = ProviderSettings.from_config(
        {"procountor:baseUrl": " http://127.0.0.1:1/procountor/api/ ", **PROCOUNTOR}.get
    )
    assert settings.procountor().base_url == "http://127.0.0.1:1/procountor/api"


@pytest.mark.parametrize("value", ["0", "fast", "-3", "nan", "inf"])
def test_procountor_rate_must_be_a_positive_number(value: str) -> None:
    settings = ProviderSettings.from_config({**PROCOUNTOR, "procountor:requestsPerSecond": value}.get)
    with pytest.raises(ConfigurationError, match=r"must be a number from 0\.1 to 1000"):
        settings.procountor()


def test_procountor_rate_reaches_the_shared_client() -> None:
    settings = ProviderSettings.from_config({**PROCOUNTOR, "procountor:requestsPerSecond": "7.5"}.get)
    assert settings.procountor().requests_per_second == 7.5
    client = ProviderContext.for_settings(settings).procountor
    assert client is ProviderContext.for_settings(settings).procountor


def test_a_secret_never_shows_in_a_repr_or_error() -> None:
    settings = ProviderSettings.from_config({**PROCOUNTOR, "fabricai:apiKey": "portal-key-abc"}.get)
    assert "pc-secret-xyz" not in repr(settings)
    assert "portal-key-abc" not in repr(settings)
    with pytest.raises(ConfigurationError) as failure:
        settings.netvisor()
    assert "pc-secret-xyz" not in str(failure.value)


@pytest.mark.parametrize("key", ["pörtal-key-1", "portal-key\u0007bell", "two\nlines"])
def test_a_portal_key_no_http_header_can_carry_is_refused_by_name_without_showing_it(key: str) -> None:
    settings = ProviderSettings.from_config({"fabricai:apiKey": key}.get)
    with pytest.raises(ConfigurationError, match="'fabricai:apiKey' holds characters") as failure:
        settings.portal()
    assert key not in str(failure.value) and "Organization -> API keys" in str(failure.value)


def test_a_non_string_value_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        ProviderSettings.from_config({"procountor:clientId": 5}.get)


def test_the_process_context_owns_every_shared_thing_and_reset_drops_them() -> None:
    settings = ProviderSettings.from_config({**PROCOUNTOR, "procountor:requestsPerSecond": "7.5"}.get)
    shared = process_context()
    client = ProviderContext.for_settings(settings).procountor
    limiter = limiter_for("http://127.0.0.1:1/api", "app", 7.5)
    gate = EnvironmentGate.of("http://127.0.0.1:1", "CUSTOMER")
    # The Procountor client took its own limiter (production host) as well.
    assert (len(shared.providers), len(shared.procountor_limiters), len(shared.netvisor_gates)) == (1, 2, 1)

    reset()

    assert (len(shared.providers), len(shared.procountor_limiters), len(shared.netvisor_gates)) == (0, 0, 0)
    assert ProviderContext.for_settings(settings).procountor is not client
    assert limiter_for("http://127.0.0.1:1/api", "app", 7.5) is not limiter
    assert EnvironmentGate.of("http://127.0.0.1:1", "CUSTOMER") is not gate
