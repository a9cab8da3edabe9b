"""The function runtime's storage account: the job queues, the host's blobs and the deployment packages.

Shared-key access is off: the host, the queue trigger and the platform's deployment all use the app's managed
identity (`AzureWebJobsStorage__accountName` + role assignments).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources, storage

from infra.config import StackConfig
from infra.naming import Namer
from infra.source_storage import storage_account_args

__all__ = ["DEPLOYMENT_CONTAINER", "JOBS_QUEUE", "POISON_QUEUE", "RuntimeStorage", "build_runtime_storage"]

# Must match the queue trigger in function_app/function_app.py; the host names poison queues `<queue>-poison`.
JOBS_QUEUE = "jobs"
POISON_QUEUE = f"{JOBS_QUEUE}-poison"
DEPLOYMENT_CONTAINER = "deployment-packages"


@dataclass
class RuntimeStorage:
    """The runtime account and the URL of its deployment container."""

    account: storage.StorageAccount
    deployment_container_url: pulumi.Output[str]


def build_runtime_storage(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> RuntimeStorage:
    """Declare the runtime account, its queues and its deployment container."""
    args = storage_account_args(config, rg, tags, name=namer.storage_account("fn"), shared_key=False)
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
    url = pulumi.Output.concat("https://", account.name, ".blob.core.windows.net/", container.name)
    return RuntimeStorage(account=account, deployment_container_url=url)
