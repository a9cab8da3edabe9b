"""Built-in Azure role definitions the worker is granted, and deterministic role assignment names.

One table, each GUID beside its role name (from Azure's built-in roles list, as used by Azure Verified Modules).
"""

from __future__ import annotations

import uuid

__all__ = ["BUILT_IN_ROLES", "assignment_name", "role_definition_id"]

BUILT_IN_ROLES: dict[str, str] = {
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# Fixed namespace so that the same (scope, principal, role) always gives the same assignment name.
_NAMESPACE = uuid.UUID("5d0f6a52-8d7c-4a1e-9d65-3c0f2f6f1b7e")


def role_definition_id(subscription_id: str, role: str) -> str:
    """The ARM id of built-in `role` in `subscription_id`.

    :raises KeyError: if `role` is not in BUILT_IN_ROLES.
    """
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{BUILT_IN_ROLES[role]}"


def assignment_name(scope: str, principal_id: str, role: str) -> str:
    """A GUID derived from (scope, principal, role): re-running never creates a duplicate assignment."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{principal_id}|{BUILT_IN_ROLES[role]}"))
