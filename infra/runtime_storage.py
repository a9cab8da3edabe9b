"""The function runtime's storage account: the job queues, the host's blobs, the deployment packages and the
relay's replay markers (one zero-byte blob per accepted signature, shared by every instance; a lifecycle rule
deletes them after REPLAY_RETENTION_DAYS, long after the worker's 300 s signature window).

Shared-key access is off: the host, the queue trigger and the platform's deployment all use the app's managed
identity (`AzureWebJobsStorage__accountName` + role assignments). With network isolation (stage `private`) public
network access is off too: the app reaches blob and queue through private endpoints (infra/network.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources, storage

from infra.config import StackConfig
from infra.naming import Namer
from infra.source_storage import delete_after_days, storage_account_args

__all__ = [
    "DEPLOYMENT_CONTAINER",
    "JOBS_QUEUE",
    "POISON_QUEUE",
    "REPLAY_CONTAINER",
    "REPLAY_RETENTION_DAYS",
    "RuntimeStorage",
    "build_runtime_storage",
]

# Must match the queue trigger in function_app/function_app.py; the host names poison queues `<queue>-poison`.
JOBS_QUEUE = "jobs"
POISON_QUEUE = f"{JOBS_QUEUE}-poison"
DEPLOYMENT_CONTAINER = "deployment-packages"
# Must match the worker's replay store (imgix_worker): markers are created with If-None-Match: *, a 409 is a replay.
REPLAY_CONTAINER = "relay-replays"
REPLAY_RETENTION_DAYS = 1


@dataclass
class RuntimeStorage:
    """The runtime account, its replay-marker container and the URL of its deployment container."""

    account: storage.StorageAccount
    replay_container: storage.BlobContainer
    deployment_container_url: pulumi.Output[str]


def build_runtime_storage(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    parent: pulumi.Resource,
    *,
    public: pulumi.Input[bool],
) -> RuntimeStorage:
    """Declare the runtime account (public network access only where `public`), its queues and its deployment
    container."""
    args = storage_account_args(config, rg, tags, name=namer.storage_account("fn"), shared_key=False)
    public_access = pulumi.Output.from_input(public)
    args["public_network_access"] = public_access.apply(
        lambda p: storage.PublicNetworkAccess.ENABLED if p else storage.PublicNetworkAccess.DISABLED
    )
    # Deny with the trusted-services bypass: Azure services the platform runs on our behalf keep working.
    args["network_rule_set"] = storage.NetworkRuleSetArgs(
        default_action=public_access.apply(lambda p: storage.DefaultAction.ALLOW if p else storage.DefaultAction.DENY),
        bypass=storage.Bypass.AZURE_SERVICES,
    )
    account = storage.StorageAccount("runtime", **args, opts=pulumi.ResourceOptions(parent=parent))
    child = pulumi.ResourceOptions(parent=account)
    storage.BlobServiceProperties(
        "runtime-blob-service",
        account_name=account.name,
        resource_group_name=rg.name,
        blob_services_name="default",
        delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=config.soft_delete_days),
        container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=config.soft_delete_days),
        opts=child,
    )
    for queue in (JOBS_QUEUE, POISON_QUEUE):
        storage.Queue(f"queue-{queue}", account_name=account.name, resource_group_name=rg.name, queue_name=queue,
                      opts=child)  # fmt: skip
    container = storage.BlobContainer(
        "deployment-packages",
        account_name=account.name,
        resource_group_name=rg.name,
        container_name=DEPLOYMENT_CONTAINER,
        public_access=storage.PublicAccess.NONE,
        opts=child,
    )
    replays = storage.BlobContainer(
        "relay-replays",
        account_name=account.name,
        resource_group_name=rg.name,
        container_name=REPLAY_CONTAINER,
        public_access=storage.PublicAccess.NONE,
        opts=child,
    )
    # Only the markers: the host's own blobs and the deployment packages are not touched.
    delete_after_days(
        "runtime-lifecycle",
        account=account,
        rg=rg,
        rule="delete-relay-replays",
        prefix=f"{REPLAY_CONTAINER}/",
        days=REPLAY_RETENTION_DAYS,
        opts=pulumi.ResourceOptions(parent=account, depends_on=[replays]),
    )
    url = pulumi.Output.concat("https://", account.name, ".blob.core.windows.net/", container.name)
    return RuntimeStorage(account=account, replay_container=replays, deployment_container_url=url)
