"""A blob container's stored access policy, set through the data plane (ARM cannot: no `signedIdentifiers` on
`BlobContainer`), as a Pulumi dynamic resource.

A service SAS bound to the policy by its id gets its permissions and expiry from the policy, so deleting or
changing the policy revokes or shortens the SAS without rotating the account key. The provider reads the container's
current identifiers and changes only its own (a container holds at most five), so a rotation (new policy id) adds
the new policy first and removes the old one last, when Pulumi deletes the replaced resource.

The account key arrives as a secret input and is kept only in secret outputs.
"""

from __future__ import annotations

from typing import Any

import pulumi
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import AccessPolicy, ContainerClient
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

__all__ = ["MAX_POLICIES", "ContainerAccessPolicy", "ContainerAccessPolicyArgs", "ContainerAccessPolicyProvider"]

MAX_POLICIES = 5  # Azure's limit of stored access policies per container
_REPLACE_ON = ("blob_endpoint", "account_name", "container", "policy_id")
_UPDATE_ON = ("permission", "start", "expiry")


class ContainerAccessPolicyArgs:
    """Inputs: where the container is, the key to reach it, and the policy (id, permission, start, expiry)."""

    def __init__(
        self,
        *,
        blob_endpoint: pulumi.Input[str],
        account_name: pulumi.Input[str],
        account_key: pulumi.Input[str],
        container: pulumi.Input[str],
        policy_id: pulumi.Input[str],
        permission: pulumi.Input[str],
        expiry: pulumi.Input[str],
        start: pulumi.Input[str] | None = None,
    ) -> None:
        self.blob_endpoint = blob_endpoint
        self.account_name = account_name
        self.account_key = account_key
        self.container = container
        self.policy_id = policy_id
        self.permission = permission
        self.expiry = expiry
        self.start = start

    def props(self) -> dict[str, Any]:
        return dict(vars(self))


class ContainerAccessPolicyProvider(ResourceProvider):
    """Create/update/delete one stored access policy with azure-storage-blob's `set_container_access_policy`."""

    def __init__(self, client_options: dict[str, Any] | None = None) -> None:
        # Options for the SDK client (e.g. `connection_verify`); none are needed against Azure.
        self.client_options = dict(client_options or {})

    def _client(self, props: dict[str, Any]) -> ContainerClient:
        return ContainerClient(
            account_url=props["blob_endpoint"],
            container_name=props["container"],
            credential={"account_name": props["account_name"], "account_key": props["account_key"]},
            **self.client_options,
        )

    def _write(self, props: dict[str, Any], *, remove: str | None = None, add: bool = True) -> None:
        with self._client(props) as client:
            current = {
                identifier.id: identifier.access_policy
                for identifier in client.get_container_access_policy()["signed_identifiers"]
            }
            if remove is not None:
                current.pop(remove, None)
            if add:
                current[props["policy_id"]] = AccessPolicy(
                    permission=props["permission"], expiry=props["expiry"], start=props.get("start") or None
                )
            if len(current) > MAX_POLICIES:
                raise ValueError(
                    f"container {props['container']} would hold {len(current)} stored access policies; "
                    f"Azure allows {MAX_POLICIES}: remove unused ones first"
                )
            client.set_container_access_policy(signed_identifiers=current)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._write(props)
        return CreateResult(id_=f"{props['account_name']}/{props['container']}/{props['policy_id']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in (*_REPLACE_ON, *_UPDATE_ON, "account_key") if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(changed),
            replaces=[k for k in changed if k in _REPLACE_ON],
            delete_before_replace=False,
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._write(news)
        return UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        try:
            self._write(props, remove=props["policy_id"], add=False)
        except ResourceNotFoundError:
            pass  # the container (or its account) is already gone, and the policy with it


class ContainerAccessPolicy(pulumi.dynamic.Resource, module="storage", name="ContainerAccessPolicy"):
    """One stored access policy on a blob container."""

    policy_id: pulumi.Output[str]
    permission: pulumi.Output[str]
    expiry: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ContainerAccessPolicyArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: ContainerAccessPolicyProvider | None = None,
    ) -> None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["account_key"]))
        super().__init__(provider or ContainerAccessPolicyProvider(), name, args.props(), opts)
