"""Translate the resources the mocks recorded into an ARM deployment template, for Checkov.

azure-native inputs are flat and a few names differ from ARM (`enableHttpsTrafficOnly` is
`supportsHttpsTrafficOnly`, `networkRuleSet` is `networkAcls`); everything that is not a top-level ARM field goes
under `properties`. Values that stand for secrets are dropped: the template is written to disk.
"""

from __future__ import annotations

from typing import Any

from infra.mocks import ARM_TYPES, NAME_INPUTS, MockedResource

__all__ = ["API_VERSIONS", "to_arm_template"]

# API versions of azure-native 3.29's defaults for these types (its docstrings: "Uses Azure REST API version ...").
API_VERSIONS = {
    "Microsoft.Resources/resourceGroups": "2024-03-01",
    "Microsoft.Storage": "2024-01-01",
    "Microsoft.Web": "2025-05-01",
    "Microsoft.KeyVault": "2024-11-01",
    "Microsoft.Authorization": "2022-04-01",
    "Microsoft.Insights": "2020-02-02",
    "Microsoft.OperationalInsights": "2023-09-01",
    "Microsoft.Network": "2024-05-01",
    # azure-native's privatedns module: same ARM namespace, its own API version.
    "Microsoft.Network/privateDnsZones": "2024-06-01",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "2024-06-01",
}

_TOP_LEVEL = ("location", "kind", "sku", "identity", "tags")
# Inputs that only address the resource (its group, parent or own name) are no ARM properties.
_ADDRESSING = NAME_INPUTS
_RENAMES = {
    "azure-native:storage:StorageAccount": {
        "enableHttpsTrafficOnly": "supportsHttpsTrafficOnly",
        "networkRuleSet": "networkAcls",
    },
}


def _api_version(arm_type: str) -> str:
    return API_VERSIONS.get(arm_type) or API_VERSIONS[arm_type.split("/", 1)[0]]


def _resource(resource: MockedResource) -> dict[str, Any] | None:
    arm_type = ARM_TYPES.get(resource.typ)
    if arm_type is None:
        return None
    inputs = {k: v for k, v in resource.inputs.items() if k not in resource.secret_inputs or k == "properties"}
    renames = _RENAMES.get(resource.typ, {})
    properties: dict[str, Any] = {}
    document: dict[str, Any] = {
        "type": arm_type,
        "apiVersion": _api_version(arm_type),
        "name": resource.physical_name,
    }
    for key, value in inputs.items():
        if key in _ADDRESSING or key.startswith("__"):
            continue
        if key in _TOP_LEVEL:
            document[key] = value
        elif key == "properties" and isinstance(value, dict):
            properties.update({k: v for k, v in value.items() if k != "value"})  # a Key Vault secret's value
        else:
            properties[renames.get(key, key)] = value
    document["properties"] = properties
    return document


def to_arm_template(resources: list[MockedResource]) -> dict[str, Any]:
    """An ARM deployment template holding every Azure resource in `resources`."""
    documents = [doc for doc in map(_resource, resources) if doc is not None]
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": documents,
    }
