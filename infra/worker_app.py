"""The worker's Flex Consumption plan and function app.

`site_config` is passed as a plain dict on purpose: the SDK's `SiteConfigArgs` injects defaults
(`netFrameworkVersion: v4.6`, ...) that Flex Consumption rejects in some regions (pulumi-azure-native#4168);
a dict sends only what is written here. The runtime goes in `function_app_config`, never `linuxFxVersion`. It holds
nothing Learn lists as unsupported on Flex: no `ftpsState` (Flex has no FTPS; FTP publishing is off through the
basic-auth policy below), no `vnetRouteAllEnabled` and no `WEBSITE_*` networking settings (on Flex all outbound
traffic goes through the VNet once it is integrated).

The app settings are a resource of their own (`Microsoft.Web/sites/config/appsettings`), created after the app's
role assignments: the identity only exists once the app does, and a Key Vault reference the platform cannot resolve
yet would reach the worker as its literal `@Microsoft.KeyVault(...)` text. They are set only there (never also in
`site_config`): that resource replaces the whole set (pulumi-azure-native#1876).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import resources, web

from infra.config import StackConfig
from infra.naming import Namer

__all__ = ["PYTHON_VERSION", "build_app_settings", "build_worker_app"]

PYTHON_VERSION = "3.11"


def build_worker_app(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    *,
    deployment_container_url: pulumi.Input[str],
    parent: pulumi.Resource,
    subnet_id: pulumi.Input[str] | None = None,
    after: list[pulumi.Resource] | None = None,
) -> web.WebApp:
    """Declare the FC1 plan, the function app (no app settings: see `build_app_settings`), and switch off
    basic-auth publishing. With `subnet_id` the app is VNet-integrated, created or updated only once every
    resource in `after` (the private endpoints and their DNS) exists."""
    opts = pulumi.ResourceOptions(parent=parent)
    plan = web.AppServicePlan(
        "plan",
        name=namer.name("app_service_plan"),
        resource_group_name=rg.name,
        location=config.location,
        kind="functionapp",
        reserved=True,  # Linux: Flex Consumption runs only on Linux
        sku=web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
        tags=tags,
        opts=opts,
    )
    site_config: web.SiteConfigArgsDict = {
        "min_tls_version": web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
        "scm_min_tls_version": web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
        "http20_enabled": True,
        "remote_debugging_enabled": False,
    }
    app = web.WebApp(
        "worker",
        name=namer.name("function_app"),
        resource_group_name=rg.name,
        location=config.location,
        kind="functionapp,linux",
        server_farm_id=plan.id,
        https_only=True,
        client_cert_enabled=False,  # callers are Adobe's relay (HMAC) and AEM's IMS tokens, not client certificates
        # Public: the App Builder relay calls it from I/O Runtime's changing addresses.
        public_network_access="Enabled",
        identity=web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
        # Top level, not in site_config; all outbound traffic then leaves through the VNet (Flex routes it itself).
        virtual_network_subnet_id=subnet_id,
        site_config=site_config,
        function_app_config=web.FunctionAppConfigArgs(
            deployment=web.FunctionsDeploymentArgs(
                storage=web.FunctionsDeploymentStorageArgs(
                    type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                    value=deployment_container_url,
                    authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                        type=web.AuthenticationType.SYSTEM_ASSIGNED_IDENTITY
                    ),
                )
            ),
            runtime=web.FunctionsRuntimeArgs(name=web.RuntimeName.PYTHON, version=PYTHON_VERSION),
            scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                maximum_instance_count=config.max_instance_count,
                instance_memory_mb=config.instance_memory_mb,
            ),
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after or []),
    )
    # No FTP or SCM basic auth: code is published with an Entra token (infra/code_deployment.py).
    child = pulumi.ResourceOptions(parent=app)
    web.WebAppFtpAllowed("worker-ftp-basic-auth", name=app.name, resource_group_name=rg.name, allow=False, opts=child)
    web.WebAppScmAllowed("worker-scm-basic-auth", name=app.name, resource_group_name=rg.name, allow=False, opts=child)
    return app


def build_app_settings(
    app: web.WebApp,
    rg: resources.ResourceGroup,
    settings: dict[str, pulumi.Input[str]],
    *,
    after: list[pulumi.Resource],
) -> web.WebAppApplicationSettings:
    """Declare the app's settings, created only once every resource in `after` (the app's roles) exists."""
    return web.WebAppApplicationSettings(
        "worker-app-settings",
        name=app.name,
        resource_group_name=rg.name,
        properties=dict(sorted(settings.items())),
        opts=pulumi.ResourceOptions(parent=app, depends_on=after),
    )
