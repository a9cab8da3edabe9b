"""The environment's Key Vault and the two secrets the worker reads through Key Vault references."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import keyvault, resources

from infra.config import StackConfig
from infra.naming import Namer

__all__ = ["IMGIX_VAULT_ENTRY", "RELAY_VAULT_ENTRY", "Vault", "build_vault", "key_vault_reference"]

# Names of the Key Vault secrets (names, not values).
IMGIX_VAULT_ENTRY = "imgix-secure-token"
RELAY_VAULT_ENTRY = "relay-hmac-key"


@dataclass
class Vault:
    """The vault, the URIs of its secrets, and the relay key (a secret Output) for the relay's deploy env."""

    vault: keyvault.Vault
    imgix_token_uri: pulumi.Output[str]
    relay_key_uri: pulumi.Output[str]
    relay_hmac_key: pulumi.Output[str]


def key_vault_reference(secret_uri: pulumi.Input[str]) -> pulumi.Output[str]:
    """The app-setting value that makes the platform resolve `secret_uri` with the app's identity."""
    return pulumi.Output.concat("@Microsoft.KeyVault(SecretUri=", secret_uri, ")")


def build_vault(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    tenant_id: pulumi.Input[str],
    imgix_secure_token: pulumi.Input[str],
    parent: pulumi.Resource,
    *,
    public: pulumi.Input[bool],
) -> Vault:
    """Declare the vault (RBAC, soft delete, purge protection where configured, public network access only where
    `public`) and its two secrets."""
    public_access = pulumi.Output.from_input(public)
    purge = config.key_vault_purge_protection
    vault = keyvault.Vault(
        "vault",
        vault_name=namer.key_vault(),
        resource_group_name=rg.name,
        location=config.location,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=tenant_id,
            sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
            enable_rbac_authorization=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=90 if purge else 7,
            # ARM refuses `false` once set and purge protection is irreversible: send it only where wanted (prod).
            enable_purge_protection=True if purge else None,
            # Key Vault references of an app without VNet integration are resolved over the public endpoint; with
            # network isolation (stage `private`) they go through the vault's private endpoint instead.
            public_network_access=public_access.apply(lambda p: "Enabled" if p else "Disabled"),
            network_acls=keyvault.NetworkRuleSetArgs(
                default_action=public_access.apply(
                    lambda p: keyvault.NetworkRuleAction.ALLOW if p else keyvault.NetworkRuleAction.DENY
                ),
                bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
            ),
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    child = pulumi.ResourceOptions(parent=vault)
    # 64 letters and digits: well above the worker's 32-character minimum, and safe in any env file.
    relay_key = random.RandomPassword("relay-hmac-key", length=64, special=False, opts=child)

    def secret(name: str, value: pulumi.Input[str]) -> keyvault.Secret:
        return keyvault.Secret(
            name,
            secret_name=name,
            vault_name=vault.name,
            resource_group_name=rg.name,
            properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value), content_type="text/plain"),
            tags=tags,
            opts=child,
        )

    imgix_token = secret(IMGIX_VAULT_ENTRY, imgix_secure_token)
    relay = secret(RELAY_VAULT_ENTRY, relay_key.result)
    return Vault(
        vault=vault,
        # Versionless URIs: a new secret version is picked up without touching the app settings.
        imgix_token_uri=imgix_token.properties.secret_uri,
        relay_key_uri=relay.properties.secret_uri,
        relay_hmac_key=pulumi.Output.secret(relay_key.result),
    )
