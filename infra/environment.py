"""One environment of the project (dev, stage or prod) as a single ComponentResource.

It holds: a resource group; the imgix source storage account (container, retention, lifecycle rule, stored access
policy and the SAS bound to it); the runtime storage account; Log Analytics and Application Insights; a Key Vault
with the imgix secure token and the relay's HMAC key; the Flex Consumption function app with the roles its identity
needs, then its app settings (only once those roles exist: they hold the Key Vault references); the deployment of
the worker's code; when configured, the imgix source itself; and, with `networkIsolation`, the VNet, private
endpoints and DNS of infra/network.py, with the app integrated into the VNet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, resources

from infra.access import grant
from infra.app_settings import AppSettingInputs, worker_app_settings
from infra.code_deployment import OneDeployProvider, WorkerCodeDeployment
from infra.config import StackConfig
from infra.imgix_source import ImgixSource, ImgixSourceArgs
from infra.monitoring import build_monitoring
from infra.naming import Namer
from infra.network import Network, build_network, keeps_public_access
from infra.runtime_storage import build_runtime_storage
from infra.source_storage import build_source_storage
from infra.vault import build_vault, key_vault_reference
from infra.worker_app import build_app_settings, build_worker_app
from profiles import Profile

__all__ = ["Environment", "EnvironmentArgs"]


@dataclass(frozen=True)
class EnvironmentArgs:
    """Everything an environment is built from: the stack config, the profiles and the worker package."""

    config: StackConfig
    profiles: list[Profile]
    package_dir: str  # relative to the project root, so the state does not depend on a checkout's location
    package_hash: str
    deploy_provider: OneDeployProvider = field(default_factory=OneDeployProvider)


class Environment(pulumi.ComponentResource):
    """All resources of one environment; results are attributes, registered as outputs last."""

    resource_group: resources.ResourceGroup
    worker_host: pulumi.Output[str]
    imgix_sas: pulumi.Output[str]
    relay_hmac_key: pulumi.Output[str]
    network_isolation: pulumi.Output[str]

    def __init__(self, name: str, args: EnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aem-imgix-renditions:env:Environment", name, None, opts)
        config = args.config
        namer = Namer(config.project, config.environment, config.name_seed)
        tags = {"project": config.project, "environment": config.environment, "managed-by": "pulumi", **config.tags}
        child = pulumi.ResourceOptions(parent=self)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        self.resource_group = resources.ResourceGroup(
            "resource-group",
            resource_group_name=namer.name("resource_group"),
            location=config.location,
            tags=tags,
            opts=child,
        )
        rg = self.resource_group
        # The imgix source account stays public in every stack: imgix's fetchers have no fixed address range.
        self.source = build_source_storage(namer, config, rg, tags, self)
        public = keeps_public_access(config, parent=self)
        self.runtime = build_runtime_storage(namer, config, rg, tags, self, public=public)
        self.app_insights = build_monitoring(namer, config, rg, tags, self)
        self.managed_source: ImgixSource | None = None
        secure_token = config.imgix_secure_token
        if config.imgix_api_key is not None:
            self.managed_source = ImgixSource(
                "imgix-source",
                ImgixSourceArgs(
                    name=f"{config.project}-{config.environment}",
                    subdomain=config.imgix_subdomain,
                    account_name=self.source.account.name,
                    container=self.source.container.name,
                    sas_token=self.source.sas_token,
                    api_key=config.imgix_api_key,
                ),
                opts=child,
            )
            # imgix generates the secure URL token of a source it creates; use it when the API returns one.
            secure_token = pulumi.Output.all(self.managed_source.secure_url_token, config.imgix_secure_token).apply(
                lambda t: t[0] or t[1]
            )
        self.vault = build_vault(namer, config, rg, tags, client.tenant_id, secure_token, self, public=public)
        self.network: Network | None = None
        if config.network_isolation:
            self.network = build_network(
                namer, config, rg, tags, runtime_account=self.runtime.account, vault=self.vault.vault, parent=self
            )
        settings = worker_app_settings(
            config,
            AppSettingInputs(
                runtime_account_name=self.runtime.account.name,
                source_blob_endpoint=self.source.blob_endpoint,
                app_insights_connection_string=self.app_insights.connection_string,
                imgix_token_reference=key_vault_reference(self.vault.imgix_token_uri),
                relay_key_reference=key_vault_reference(self.vault.relay_key_uri),
            ),
        )
        self.app = build_worker_app(
            namer,
            config,
            rg,
            tags,
            deployment_container_url=self.runtime.deployment_container_url,
            parent=self,
            subnet_id=self.network.integration_subnet.id if self.network else None,
            # Integrated only once the endpoints, their DNS records and the zones' VNet links exist: from its first
            # start inside the VNet, the app resolves the runtime account and the vault to private addresses.
            after=self.network.ready if self.network else None,
        )
        principal = self.app.identity.apply(lambda i: i.principal_id if i else None)
        runtime_id = self.runtime.account.id

        def role(name: str, role: str, scope: pulumi.Input[str]) -> pulumi.Resource:
            return grant(
                name,
                role=role,
                scope=scope,
                principal_id=principal,
                subscription_id=client.subscription_id,
                parent=self,
            )

        self.role_assignments = [
            # Writes, copies into and deletes staged sources: their container only, not the whole account.
            role("worker-source-blob", "Storage Blob Data Contributor", self.source.container.id),
            # The host's leases and keys, the platform's deployment packages (Flex needs Owner here) and the relay's
            # replay markers (container `relay-replays`), all with the AzureWebJobsStorage identity.
            role("worker-runtime-blob", "Storage Blob Data Owner", runtime_id),
            # The `jobs` queue trigger and its poison queue.
            role("worker-runtime-queue", "Storage Queue Data Contributor", runtime_id),
            # Key Vault references (imgix token, relay key).
            role("worker-vault-secrets", "Key Vault Secrets User", self.vault.vault.id),
            # Telemetry with an Entra token (local auth is off on the component).
            role("worker-telemetry", "Monitoring Metrics Publisher", self.app_insights.id),
        ]
        # After every role: the Key Vault references resolve, and the host reaches its storage, from the first start.
        self.app_settings = build_app_settings(self.app, rg, settings, after=self.role_assignments)
        self.deployment = WorkerCodeDeployment(
            "worker-code",
            scm_url=self.app.name.apply(lambda n: f"https://{n}.scm.azurewebsites.net"),
            package_dir=args.package_dir,
            content_hash=args.package_hash,
            provider=args.deploy_provider,
            # The platform stores the package with the app's identity: its roles must exist first. After the settings
            # too: the publish restarts the app, so it starts with its settings and resolved references.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.app, *self.role_assignments, self.app_settings]),
        )

        self.worker_host = self.app.default_host_name
        self.imgix_sas = self.source.sas_token
        self.relay_hmac_key = self.vault.relay_hmac_key
        # Known only once everything of this stage exists, so a failed update never records a stage it did not reach
        # (`keeps_public_access` reads it back on the next deployment).
        done = [self.app, self.runtime.account, self.vault.vault, *(self.network.ready if self.network else [])]
        self.network_isolation = pulumi.Output.all(*(r.id for r in done)).apply(lambda _: config.isolation)
        self.register_outputs(
            {
                "resourceGroup": rg.name,
                "workerHost": self.worker_host,
                "sourceAccount": self.source.account.name,
            }
        )
