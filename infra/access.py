"""Role assignments of the worker's managed identity: one data-plane role per store it uses, nothing broader."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

from infra.roles import assignment_name, role_definition_id

__all__ = ["grant"]


def grant(
    name: str,
    *,
    role: str,
    scope: pulumi.Input[str],
    principal_id: pulumi.Input[str],
    subscription_id: pulumi.Input[str],
    parent: pulumi.Resource,
) -> authorization.RoleAssignment:
    """Assign built-in `role` on `scope` to the service principal `principal_id`, under a deterministic name."""
    return authorization.RoleAssignment(
        name,
        role_assignment_name=pulumi.Output.all(scope, principal_id).apply(lambda a: assignment_name(a[0], a[1], role)),
        role_definition_id=pulumi.Output.from_input(subscription_id).apply(lambda s: role_definition_id(s, role)),
        principal_id=principal_id,
        # Set explicitly: a just-created identity may not have replicated yet (PrincipalNotFound otherwise).
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        scope=scope,
        description=f"aem-imgix-renditions worker: {role}",
        opts=pulumi.ResourceOptions(parent=parent),
    )
