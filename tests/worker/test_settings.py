"""Settings are read once from a mapping, validated, and never echo a secret."""

from __future__ import annotations

import pytest

from imgix_worker.errors import SettingsError
from imgix_worker.settings import HOST_STORAGE_SETTINGS, SETTINGS, Settings

BASE = {
    "IMGIX_DOMAIN": "renditions-dev.imgix.net",
    "IMGIX_SECURE_TOKEN": "fake-token-for-tests-0001",
    "IMGIX_SOURCE_ACCOUNT_URL": "https://stimgixdev.blob.core.windows.net",
    "IMGIX_SOURCE_CONTAINER": "staged-sources",
    "IMS_JWKS_URL": "https://ims-na1.adobelogin.com/ims/keys",
    "IMS_ORG_IDS": "ORG1@AdobeOrg, ORG2@AdobeOrg",
    "IMS_CLIENT_IDS": "client-a",
    "RELAY_HMAC_KEY": "fake-relay-key-for-settings-tests-0123456789",
    "AzureWebJobsStorage__accountName": "stfuncdev",
}
LOCAL = {
    **{k: v for k, v in BASE.items() if k not in ("IMGIX_SOURCE_ACCOUNT_URL", "RELAY_HMAC_KEY")},
    "IMGIX_SOURCE_CONNECTION_STRING": "UseDevelopmentStorage=true",
}
KEY_VAULT_REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-dev-abc123.vault.azure.net/secrets/relay-hmac-key)"


def test_defaults_fill_in_what_is_optional() -> None:
    settings = Settings.from_env(BASE)
    assert settings.imgix_base_url == "https://renditions-dev.imgix.net"
    assert settings.ims_org_ids == ("ORG1@AdobeOrg", "ORG2@AdobeOrg")
    assert settings.allowed_hosts == ("*.blob.core.windows.net",)
    assert settings.allowed_source_types == ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff")
    assert settings.imgix_source_connection_string is None
    assert settings.imgix_overlay_hosts == () and settings.imgix_allow_billable is False
    assert (
        settings.host_storage is not None
        and settings.host_storage.blob_url == "https://stfuncdev.blob.core.windows.net"
    )
    assert "fake-token" not in repr(settings) and "fake-relay-key" not in repr(settings)


@pytest.mark.parametrize("name", [s.name for s in SETTINGS if s.secret] + ["IMGIX_DOMAIN", "IMS_JWKS_URL"])
def test_an_unresolved_key_vault_reference_is_refused_without_echoing_it(name: str) -> None:
    # App Service passes the reference text through when it cannot read the vault; as a key it would be public.
    env = LOCAL if name == "IMGIX_SOURCE_CONNECTION_STRING" else BASE
    for value in (KEY_VAULT_REFERENCE, "  " + KEY_VAULT_REFERENCE.lower()):
        with pytest.raises(SettingsError) as info:
            Settings.from_env({**env, name: value})
        assert info.value.name == name and "Key Vault reference" in str(info.value)
        assert "kv-dev-abc123" not in str(info.value)


def test_the_relay_key_is_required_except_in_local_runs() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({k: v for k, v in BASE.items() if k != "RELAY_HMAC_KEY"})
    assert info.value.name == "RELAY_HMAC_KEY"
    local = Settings.from_env(LOCAL)  # a local run: the local platform signs only when it runs the relay
    assert local.relay_hmac_key is None


@pytest.mark.parametrize("platform", ["WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID", "WEBSITE_SKU"])
def test_a_connection_string_on_app_service_is_refused_not_taken_for_a_local_run(platform: str) -> None:
    assert Settings.from_env(LOCAL).local_run  # the same settings on a developer's machine
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**LOCAL, platform: "func-imgix-renditions-dev"})
    assert info.value.name == "IMGIX_SOURCE_CONNECTION_STRING" and platform in str(info.value)
    assert "UseDevelopmentStorage" not in str(info.value)
    with pytest.raises(SettingsError) as info:  # a relay key does not make it acceptable either
        Settings.from_env({**LOCAL, "RELAY_HMAC_KEY": BASE["RELAY_HMAC_KEY"], platform: "x"})
    assert info.value.name == "IMGIX_SOURCE_CONNECTION_STRING"
    assert not Settings.from_env({**BASE, platform: "func-imgix-renditions-dev"}).local_run
    assert Settings.from_env({**LOCAL, "CONTAINER_NAME": "devcontainer"}).local_run  # any container sets that one


def test_a_relay_key_needs_the_host_storage_for_replay_markers() -> None:
    env = {k: v for k, v in BASE.items() if k not in HOST_STORAGE_SETTINGS}
    with pytest.raises(SettingsError, match="AzureWebJobsStorage"):
        Settings.from_env(env)
    by_uri = Settings.from_env(
        {**env, "AzureWebJobsStorage__blobServiceUri": "https://stfuncdev.blob.core.windows.net/"}
    )
    assert by_uri.host_storage is not None and by_uri.host_storage.blob_url == "https://stfuncdev.blob.core.windows.net"
    local = Settings.from_env(
        {**LOCAL, "RELAY_HMAC_KEY": BASE["RELAY_HMAC_KEY"], "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    )
    assert local.host_storage is not None and local.host_storage.connection_string is not None


def test_overlay_hosts_and_billable_parameters_are_read() -> None:
    settings = Settings.from_env(
        {**BASE, "IMGIX_OVERLAY_HOSTS": "assets.imgix.net, *.Example.com", "IMGIX_ALLOW_BILLABLE": "TRUE"}
    )
    assert settings.imgix_overlay_hosts == ("assets.imgix.net", "*.example.com")
    assert settings.imgix_allow_billable is True


@pytest.mark.parametrize("name", [s.name for s in SETTINGS if s.default is None])
def test_a_missing_required_setting_is_named(name: str) -> None:
    env = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IMGIX_DOMAIN", "https://x.imgix.net"),
        ("IMGIX_SOURCE_CONTAINER", "Bad_Name"),
        ("ALLOWED_HOSTS", "http://x"),
        ("MAX_RENDITIONS", "many"),
        ("RENDER_CONCURRENCY", "0"),
        ("RELAY_HMAC_KEY", "short-secret-value"),
        ("IMGIX_SOURCE_ACCOUNT_URL", "http://plain.blob.core.windows.net"),
        ("IMGIX_OVERLAY_HOSTS", "https://assets.imgix.net/"),
        ("IMGIX_ALLOW_BILLABLE", "yes-please"),
        ("AzureWebJobsStorage__blobServiceUri", "http://plain.blob.core.windows.net"),
    ],
)
def test_an_invalid_setting_is_named_without_its_value(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**BASE, name: value})
    assert info.value.name == name
    assert value not in str(info.value)


def test_exactly_one_way_to_reach_the_source_account() -> None:
    with pytest.raises(SettingsError, match="IMGIX_SOURCE_ACCOUNT_URL"):
        Settings.from_env({**BASE, "IMGIX_SOURCE_CONNECTION_STRING": "UseDevelopmentStorage=true"})
    env = {k: v for k, v in BASE.items() if k != "IMGIX_SOURCE_ACCOUNT_URL"}
    with pytest.raises(SettingsError, match="IMGIX_SOURCE_ACCOUNT_URL"):
        Settings.from_env(env)


def test_every_field_has_a_setting() -> None:
    fields = set(Settings.__dataclass_fields__) - {"host_storage", "host_limits"}  # host.json, the host's storage
    names = {s.name.lower() for s in SETTINGS if s.name not in HOST_STORAGE_SETTINGS}
    assert fields == names
    assert set(HOST_STORAGE_SETTINGS) <= {s.name for s in SETTINGS}


def test_a_deadline_the_host_would_cut_short_names_both_limits() -> None:
    """host.json's functionTimeout is 10 min: a job must end 30 s before it, so 570 s is the largest deadline."""
    assert Settings.from_env({**BASE, "JOB_DEADLINE_SECONDS": "570"}).job_deadline_seconds == 570
    with pytest.raises(SettingsError, match=r"JOB_DEADLINE_SECONDS: .*functionTimeout \(600 s\) minus 30 s"):
        Settings.from_env({**BASE, "JOB_DEADLINE_SECONDS": "571"})


def test_the_app_setting_override_of_function_timeout_counts() -> None:
    env = {**BASE, "JOB_DEADLINE_SECONDS": "900", "AzureFunctionsJobHost__functionTimeout": "00:20:00"}
    assert Settings.from_env(env).host_limits.function_timeout_seconds == 1200
    with pytest.raises(SettingsError, match="functionTimeout"):
        Settings.from_env({**env, "AzureFunctionsJobHost__functionTimeout": "00:05:00"})
