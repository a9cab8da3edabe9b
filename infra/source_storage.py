"""The imgix source storage account: staged sources for imgix to read, a lifecycle backstop, and imgix's SAS.

Hardened as far as imgix allows. imgix reads with a SAS, and every SAS is signed with an account key, so shared-key
access must stay on here (it is off on the runtime account). The SAS is a container-scoped, read+list, HTTPS-only
service SAS bound to a stored access policy, so it can be revoked without rotating the key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources, storage

from infra.config import StackConfig
from infra.naming import Namer
from infra.stored_access_policy import ContainerAccessPolicy, ContainerAccessPolicyArgs

__all__ = [
    "IMGIX_SAS_PERMISSION",
    "SourceStorage",
    "build_source_storage",
    "delete_after_days",
    "storage_account_args",
]

# imgix needs Read and List, nothing else (docs.imgix.com, Azure source setup).
IMGIX_SAS_PERMISSION = "rl"


@dataclass
class SourceStorage:
    """What the rest of the environment needs from the imgix source account."""

    account: storage.StorageAccount
    container: storage.BlobContainer
    access_policy: ContainerAccessPolicy
    blob_endpoint: pulumi.Output[str]
    sas_token: pulumi.Output[str]


def storage_account_args(
    config: StackConfig, rg: resources.ResourceGroup, tags: dict[str, str], *, name: str, shared_key: bool
) -> dict[str, object]:
    """Arguments shared by both storage accounts: AVM's baseline, tightened."""
    return {
        "account_name": name,
        "resource_group_name": rg.name,
        "location": config.location,
        "kind": storage.Kind.STORAGE_V2,
        "sku": storage.SkuArgs(name=config.storage_sku),
        "minimum_tls_version": storage.MinimumTlsVersion.TLS1_2,
        "enable_https_traffic_only": True,
        "allow_blob_public_access": False,
        "allow_shared_key_access": shared_key,
        "allow_cross_tenant_replication": False,
        "default_to_o_auth_authentication": True,
        "is_local_user_enabled": False,
        "is_sftp_enabled": False,
        # Infrastructure (double) encryption is available on every StorageV2 SKU; it can only be set at creation.
        "encryption": storage.EncryptionArgs(
            key_source=storage.KeySource.MICROSOFT_STORAGE,
            require_infrastructure_encryption=True,
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
                file=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
            ),
        ),
        # Public: the imgix source account is reached from the internet by imgix's fetchers (changing IPs) in every
        # stack. The runtime account replaces these two where network isolation turns it private.
        "public_network_access": storage.PublicNetworkAccess.ENABLED,
        "network_rule_set": storage.NetworkRuleSetArgs(
            default_action=storage.DefaultAction.ALLOW, bypass="AzureServices"
        ),
        "tags": tags,
    }


def build_source_storage(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> SourceStorage:
    """Declare the imgix source account, its container, retention, lifecycle rule, access policy and SAS."""
    opts = pulumi.ResourceOptions(parent=parent)
    args = storage_account_args(config, rg, tags, name=namer.storage_account("src"), shared_key=True)
    account = storage.StorageAccount(
        "imgix-source",
        **args,
        # Shared key stays ON: imgix accepts only a SAS, and a SAS is signed with an account key.
        # SASes longer than the period are logged, not blocked: imgix's SAS must live for months.
        sas_policy=storage.SasPolicyArgs(
            sas_expiration_period=config.sas_expiration_period, expiration_action=storage.ExpirationAction.LOG
        ),
        opts=opts,
    )
    account_opts = pulumi.ResourceOptions(parent=account)
    storage.BlobServiceProperties(
        "imgix-source-blob-service",
        account_name=account.name,
        resource_group_name=rg.name,
        blob_services_name="default",
        # Blob soft delete OFF, on purpose: every blob here is a full-resolution copy of a customer's original that
        # the worker deletes after each job; soft delete would keep each one recoverable for days ("deleted in every
        # outcome" would not hold). Container soft delete stays on: it guards the container, not the staged copies.
        delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=False),
        container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=config.soft_delete_days),
        # No versioning: staged sources are transient copies, versions would only keep them alive longer.
        is_versioning_enabled=False,
        opts=account_opts,
    )
    container = storage.BlobContainer(
        "imgix-source-container",
        account_name=account.name,
        resource_group_name=rg.name,
        container_name=config.source_container,
        public_access=storage.PublicAccess.NONE,
        opts=account_opts,
    )
    # The worker deletes each staged source; this rule is the backstop for crashes.
    delete_after_days(
        "imgix-source-lifecycle",
        account=account,
        rg=rg,
        rule="delete-staged-sources",
        prefix=f"{config.source_container}/{config.staging_prefix}/",
        days=config.staging_retention_days,
        opts=pulumi.ResourceOptions(parent=account, depends_on=[container]),
    )

    blob_endpoint = account.name.apply(lambda n: f"https://{n}.blob.core.windows.net")
    keys = storage.list_storage_account_keys_output(account_name=account.name, resource_group_name=rg.name)
    account_key = pulumi.Output.secret(keys.keys[0].value)
    policy = ContainerAccessPolicy(
        "imgix-sas-policy",
        ContainerAccessPolicyArgs(
            blob_endpoint=blob_endpoint,
            account_name=account.name,
            account_key=account_key,
            container=container.name,
            policy_id=config.sas_policy_id,
            permission=IMGIX_SAS_PERMISSION,
            expiry=config.sas_expiry,
        ),
        opts=pulumi.ResourceOptions(parent=container),
    )
    # Bound to the policy by `identifier`: permission and expiry come from the policy (Azure refuses a SAS that
    # repeats them), so changing or deleting the policy changes or revokes this SAS.
    sas = storage.list_storage_account_service_sas_output(
        account_name=account.name,
        resource_group_name=rg.name,
        canonicalized_resource=pulumi.Output.concat("/blob/", account.name, "/", container.name),
        resource=storage.SignedResource.C,
        protocols=storage.HttpProtocol.HTTPS,
        identifier=policy.policy_id,
    )
    return SourceStorage(
        account=account,
        container=container,
        access_policy=policy,
        blob_endpoint=blob_endpoint,
        sas_token=pulumi.Output.secret(sas.service_sas_token),
    )


def delete_after_days(
    name: str,
    *,
    account: storage.StorageAccount,
    rg: resources.ResourceGroup,
    rule: str,
    prefix: str,
    days: pulumi.Input[int],
    opts: pulumi.ResourceOptions,
) -> storage.ManagementPolicy:
    """The account's lifecycle policy: one rule deleting block blobs under `prefix` `days` after their last write."""
    return storage.ManagementPolicy(
        name,
        account_name=account.name,
        resource_group_name=rg.name,
        management_policy_name="default",
        policy=storage.ManagementPolicySchemaArgs(
            rules=[
                storage.ManagementPolicyRuleArgs(
                    name=rule,
                    type=storage.RuleType.LIFECYCLE,
                    enabled=True,
                    definition=storage.ManagementPolicyDefinitionArgs(
                        actions=storage.ManagementPolicyActionArgs(
                            base_blob=storage.ManagementPolicyBaseBlobArgs(
                                delete=storage.DateAfterModificationArgs(days_after_modification_greater_than=days)
                            )
                        ),
                        filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[prefix]),
                    ),
                )
            ]
        ),
        opts=opts,
    )
