"""Provider-wide settings from stack config: what is required when, and what the operator is told."""

from __future__ import annotations

import pytest

from provider.context import ProviderContext
from provider.errors import ConfigurationError
from provider.settings import DEFAULT_PROCOUNTOR_URL, ProviderSettings

PROCOUNTOR = {"procountor:clientId": "app", "procountor:clientSecret": "pc-secret-xyz"}


def test_defaults_point_at_production_hosts() -> None:
    settings = ProviderSettings.from_config(dict[str, str]().get)
    assert settings.procountor_base_url == DEFAULT_PROCOUNTOR_URL
    assert settings.netvisor_base_url == "https://integration.netvisor.fi"


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
    with pytest.raises(ConfigurationError, match="must be a number above 0"):
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


def test_a_non_string_value_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        ProviderSettings.from_config({"procountor:clientId": 5}.get)
