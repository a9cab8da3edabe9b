"""Settings are read once from a mapping, validated, and never echo a secret."""

from __future__ import annotations

import pytest

from imgix_worker.errors import SettingsError
from imgix_worker.settings import SETTINGS, Settings

BASE = {
    "IMGIX_DOMAIN": "renditions-dev.imgix.net",
    "IMGIX_SECURE_TOKEN": "fake-token-for-tests-0001",
    "IMGIX_SOURCE_ACCOUNT_URL": "https://stimgixdev.blob.core.windows.net",
    "IMGIX_SOURCE_CONTAINER": "staged-sources",
    "IMS_JWKS_URL": "https://ims-na1.adobelogin.com/ims/keys",
    "IMS_ORG_IDS": "ORG1@AdobeOrg, ORG2@AdobeOrg",
    "IMS_CLIENT_IDS": "client-a",
}


def test_defaults_fill_in_what_is_optional() -> None:
    settings = Settings.from_env(BASE)
    assert settings.imgix_base_url == "https://renditions-dev.imgix.net"
    assert settings.ims_org_ids == ("ORG1@AdobeOrg", "ORG2@AdobeOrg")
    assert settings.allowed_hosts == ("*.blob.core.windows.net",)
    assert settings.allowed_source_types == ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff")
    assert settings.relay_hmac_key is None
    assert settings.imgix_source_connection_string is None
    assert "fake-token" not in repr(settings)


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
    fields = set(Settings.__dataclass_fields__) - {"host_limits"}  # read from host.json, not an app setting
    names = {s.name.lower() for s in SETTINGS}
    assert fields == names


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
