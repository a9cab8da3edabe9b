"""The worker's app settings for one environment: the worker's own SETTINGS plus the Functions platform's.

Worker settings are checked against `imgix_worker.settings.SETTINGS` by the tests; the two local-only settings
(a connection string and an extra CA bundle) are never set in Azure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.config import StackConfig
from infra.worker_limits import THREAD_COUNT_SETTING, host_limits

__all__ = ["LOCAL_ONLY_SETTINGS", "PLATFORM_SETTING_PREFIXES", "AppSettingInputs", "worker_app_settings"]

# Settings that belong to the Functions host and Azure, not to the worker.
# `PYTHON_`: the Python language worker's own (PYTHON_THREADPOOL_THREAD_COUNT).
PLATFORM_SETTING_PREFIXES = ("AzureWebJobs", "APPLICATIONINSIGHTS_", "FUNCTIONS_", "WEBSITE_", "SCM_", "PYTHON_")
# Only meaningful on a laptop: Azurite's connection string and the local CA.
LOCAL_ONLY_SETTINGS = ("IMGIX_SOURCE_CONNECTION_STRING", "TLS_CA_BUNDLE", "IMGIX_BASE_URL")


@dataclass(frozen=True)
class AppSettingInputs:
    """Values produced by other resources that the settings refer to."""

    runtime_account_name: pulumi.Input[str]
    source_blob_endpoint: pulumi.Input[str]
    app_insights_connection_string: pulumi.Input[str]
    imgix_token_reference: pulumi.Input[str]
    relay_key_reference: pulumi.Input[str]


def worker_app_settings(config: StackConfig, inputs: AppSettingInputs) -> dict[str, pulumi.Input[str]]:
    """Every app setting of the function app, by name."""
    return {
        # Host storage through the app's identity: no connection string, no key.
        "AzureWebJobsStorage__accountName": inputs.runtime_account_name,
        "AzureWebJobsStorage__credential": "managedidentity",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": inputs.app_insights_connection_string,
        # Local auth is off on the component: telemetry goes with the app's Entra token.
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
        "IMGIX_DOMAIN": config.imgix_domain,
        "IMGIX_SECURE_TOKEN": inputs.imgix_token_reference,
        "IMGIX_SOURCE_ACCOUNT_URL": inputs.source_blob_endpoint,
        "IMGIX_SOURCE_CONTAINER": config.source_container,
        "STAGING_PREFIX": config.staging_prefix,
        "ALLOWED_HOSTS": ",".join(config.allowed_hosts),
        "IMS_JWKS_URL": config.ims_jwks_url,
        "IMS_ORG_IDS": ",".join(config.ims_org_ids),
        "IMS_CLIENT_IDS": ",".join(config.ims_client_ids),
        "RELAY_HMAC_KEY": inputs.relay_key_reference,
        # Hosts besides the imgix source whose images `mark`/`blend`/`mask` may composite (none by default).
        "IMGIX_OVERLAY_HOSTS": ",".join(config.imgix_overlay_hosts),
        # imgix parameters billed extra (bg-remove, fill=gen*, upscale, ...) stay refused unless the stack enables them.
        "IMGIX_ALLOW_BILLABLE": "true" if config.imgix_allow_billable else "false",
        "EVENTS_URL": config.events_url,
        # The worker's default pool (min(32, cores + 4)) is smaller on a 1-2 core Flex instance than the queue
        # invocations host.json lets run at once: the intake would wait behind long jobs and the relay time out.
        THREAD_COUNT_SETTING: str(host_limits().sync_threads),
        **config.worker_limits,
    }
