"""Pulumi mocks of Azure Resource Manager: what `infra.plan`, `infra.audit` and the tests run the program against.

`new_resource` echoes the inputs and fills in what Azure would compute (names, ARM ids, host names, identities,
secret URIs, connection strings), deterministically per stack; `call` answers the invokes the program makes; a
StackReference to the stack itself reads `last_outputs` (none by default: a stack never deployed).
Every registration and call is recorded, in order, with the dependencies each registration carried (what the
engine orders creation by), so callers can inspect what the program declared.
Values that stand for secrets are derived from the stack name, so two stacks never share one.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockMonitor

__all__ = [
    "ARM_TYPES",
    "NAME_INPUTS",
    "STACK_REFERENCE",
    "AzureMocks",
    "MockedCall",
    "MockedResource",
    "RecordingMonitor",
    "plain",
]

# azure-native type token -> ARM resource type (also used by the ARM export for Checkov).
ARM_TYPES = {
    "azure-native:resources:ResourceGroup": "Microsoft.Resources/resourceGroups",
    "azure-native:storage:StorageAccount": "Microsoft.Storage/storageAccounts",
    "azure-native:storage:BlobServiceProperties": "Microsoft.Storage/storageAccounts/blobServices",
    "azure-native:storage:BlobContainer": "Microsoft.Storage/storageAccounts/blobServices/containers",
    "azure-native:storage:Queue": "Microsoft.Storage/storageAccounts/queueServices/queues",
    "azure-native:storage:ManagementPolicy": "Microsoft.Storage/storageAccounts/managementPolicies",
    "azure-native:web:AppServicePlan": "Microsoft.Web/serverfarms",
    "azure-native:web:WebApp": "Microsoft.Web/sites",
    "azure-native:web:WebAppFtpAllowed": "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    "azure-native:web:WebAppScmAllowed": "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    "azure-native:keyvault:Vault": "Microsoft.KeyVault/vaults",
    "azure-native:keyvault:Secret": "Microsoft.KeyVault/vaults/secrets",
    "azure-native:authorization:RoleAssignment": "Microsoft.Authorization/roleAssignments",
    "azure-native:applicationinsights:Component": "Microsoft.Insights/components",
    "azure-native:operationalinsights:Workspace": "Microsoft.OperationalInsights/workspaces",
    "azure-native:network:VirtualNetwork": "Microsoft.Network/virtualNetworks",
    "azure-native:network:Subnet": "Microsoft.Network/virtualNetworks/subnets",
    "azure-native:network:PrivateEndpoint": "Microsoft.Network/privateEndpoints",
    "azure-native:network:PrivateDnsZoneGroup": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "azure-native:network:NatGateway": "Microsoft.Network/natGateways",
    "azure-native:network:PublicIPAddress": "Microsoft.Network/publicIPAddresses",
    "azure-native:privatedns:PrivateZone": "Microsoft.Network/privateDnsZones",
    "azure-native:privatedns:VirtualNetworkLink": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
}

# The inputs that hold a resource's physical name or address it (group, parent, own name).
NAME_INPUTS = (
    "resourceGroupName",
    "accountName",
    "containerName",
    "queueName",
    "vaultName",
    "secretName",
    "workspaceName",
    "resourceName",
    "roleAssignmentName",
    "managementPolicyName",
    "blobServicesName",
    "virtualNetworkName",
    "subnetName",
    "privateEndpointName",
    "privateDnsZoneGroupName",
    "privateZoneName",
    "virtualNetworkLinkName",
    "natGatewayName",
    "publicIpAddressName",
    "name",
)
_OWN_NAME = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:storage:Queue": "queueName",
    "azure-native:keyvault:Vault": "vaultName",
    "azure-native:keyvault:Secret": "secretName",
    "azure-native:operationalinsights:Workspace": "workspaceName",
    "azure-native:applicationinsights:Component": "resourceName",
    "azure-native:authorization:RoleAssignment": "roleAssignmentName",
    "azure-native:storage:ManagementPolicy": "managementPolicyName",
    "azure-native:storage:BlobServiceProperties": "blobServicesName",
    "azure-native:network:VirtualNetwork": "virtualNetworkName",
    "azure-native:network:Subnet": "subnetName",
    "azure-native:network:PrivateEndpoint": "privateEndpointName",
    "azure-native:network:PrivateDnsZoneGroup": "privateDnsZoneGroupName",
    "azure-native:network:NatGateway": "natGatewayName",
    "azure-native:network:PublicIPAddress": "publicIpAddressName",
    "azure-native:privatedns:PrivateZone": "privateZoneName",
    "azure-native:privatedns:VirtualNetworkLink": "virtualNetworkLinkName",
}
# Inputs naming a child resource's parent.
_PARENT_NAMES = ("accountName", "vaultName", "virtualNetworkName", "privateEndpointName", "privateZoneName", "name")
STACK_REFERENCE = "pulumi:pulumi:StackReference"

# Marks a secret value inside mock inputs (pulumi.runtime.rpc's `_special_sig_key` / `_special_secret_sig`).
_SIG_KEY, _SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def holds_secret(value: Any) -> bool:
    """Whether `value` is, or contains, a secret."""
    if isinstance(value, dict):
        return value.get(_SIG_KEY) == _SECRET_SIG or any(holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secret(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """`value` with Pulumi's secret wrappers removed, so its fields can be read."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_CHILD_NAMES = {"azure-native:web:WebAppFtpAllowed": "ftp", "azure-native:web:WebAppScmAllowed": "scm"}


@dataclass
class MockedResource:
    """One registered resource: its type token, logical name, inputs and the state the mock returned."""

    typ: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    id: str
    secret_inputs: frozenset[str] = frozenset()
    # Logical names of the resources this one waits for: explicit depends_on and the inputs' own dependencies.
    depends_on: frozenset[str] = frozenset()

    @property
    def physical_name(self) -> str:
        return str(self.state.get("name") or self.name)


@dataclass
class MockedCall:
    """One invoke: its token and arguments."""

    token: str
    args: dict[str, Any]


@dataclass
class AzureMocks(pulumi.runtime.Mocks):
    """Deterministic Azure stand-in for one stack."""

    stack: str
    # The outputs of the stack's last deployment, as a StackReference to the stack itself reads them; none: a new stack.
    last_outputs: dict[str, Any] = field(default_factory=dict)
    resources: list[MockedResource] = field(default_factory=list)
    calls: list[MockedCall] = field(default_factory=list)
    # Set by RecordingMonitor just before each new_resource call, on the registering thread (registrations run
    # in parallel threads; new_resource runs inside the register call, on the same thread).
    pending: threading.local = field(default_factory=threading.local)

    def _uuid(self, *parts: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join((self.stack, *parts))))

    def _fake_secret(self, *parts: str) -> str:
        return hashlib.sha256("/".join(("mock-secret", self.stack, *parts)).encode()).hexdigest()

    @property
    def subscription_id(self) -> str:
        return self._uuid("subscription")

    @property
    def tenant_id(self) -> str:
        return self._uuid("tenant")

    def _arm_id(self, typ: str, name: str, inputs: dict[str, Any]) -> str:
        sub = f"/subscriptions/{self.subscription_id}"
        if typ == "azure-native:resources:ResourceGroup":
            return f"{sub}/resourceGroups/{name}"
        if typ == "azure-native:authorization:RoleAssignment":
            return f"{inputs.get('scope', sub)}/providers/Microsoft.Authorization/roleAssignments/{name}"
        arm_type = ARM_TYPES.get(typ)
        if arm_type is None:
            return f"{self.stack}/{typ}/{name}"
        provider, *kinds = arm_type.split("/")
        if len(kinds) == 1:
            names = [name]
        else:
            # Child resource: parent's name, then "default" for the blob/queue service level, then its own.
            parent = next((inputs[k] for k in _PARENT_NAMES if inputs.get(k)), None)
            names = [parent, *(["default"] * (len(kinds) - 2)), _CHILD_NAMES.get(typ, name)]
        path = "/".join(f"{kind}/{n}" for kind, n in zip(kinds, names, strict=True))
        return f"{sub}/resourceGroups/{inputs.get('resourceGroupName')}/providers/{provider}/{path}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        secret_inputs = frozenset(k for k, v in args.inputs.items() if holds_secret(v))
        inputs = plain(dict(args.inputs))
        state = {k: v for k, v in inputs.items() if k != "__provider"}
        own = _OWN_NAME.get(args.typ)
        name = str(inputs.get(own) if own and inputs.get(own) else inputs.get("name") or args.name)
        state["name"] = name
        if args.typ == STACK_REFERENCE:
            state.update(outputs=dict(self.last_outputs), secretOutputNames=[])
        elif args.typ == "azure-native:web:WebApp":
            state["defaultHostName"] = f"{name}.azurewebsites.net"
            state["identity"] = {
                **(inputs.get("identity") or {}),
                "principalId": self._uuid("principal", name),
                "tenantId": self.tenant_id,
            }
        elif args.typ == "azure-native:keyvault:Secret":
            uri = f"https://{inputs['vaultName']}.vault.azure.net/secrets/{name}"
            state["properties"] = {**(inputs.get("properties") or {}), "secretUri": uri}
            state["properties"].pop("value", None)  # ARM never returns a secret's value
        elif args.typ == "azure-native:applicationinsights:Component":
            key = self._uuid("instrumentation-key", name)
            state["connectionString"] = (
                f"InstrumentationKey={key};IngestionEndpoint=https://{inputs.get('location')}.in.applicationinsights.azure.com/"
            )
        elif args.typ == "azure-native:storage:StorageAccount":
            state["primaryEndpoints"] = {"blob": f"https://{name}.blob.core.windows.net/"}
        elif args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = self._fake_secret("random", args.name)[: int(inputs.get("length", 32))]
        resource_id = self._arm_id(args.typ, name, inputs)
        if args.typ.startswith("pulumi-python:dynamic") or args.typ == STACK_REFERENCE:
            resource_id = args.resource_id or f"{self.stack}/{args.name}"
        depends_on = getattr(self.pending, "dependencies", frozenset())
        self.resources.append(
            MockedResource(args.typ, args.name, inputs, state, resource_id, secret_inputs, depends_on=depends_on)
        )
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        call_args, function = plain(dict(args.args)), args.token
        self.calls.append(MockedCall(function, call_args))
        if function == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": self.subscription_id,
                "tenantId": self.tenant_id,
                "clientId": self._uuid("client"),
                "objectId": self._uuid("object"),
            }
        if function == "azure-native:storage:listStorageAccountKeys":
            account = str(call_args.get("accountName"))
            return {"keys": [{"keyName": "key1", "value": self._fake_secret("key1", account), "permissions": "FULL"}]}
        if function == "azure-native:storage:listStorageAccountServiceSAS":
            signature = self._fake_secret("sas", str(call_args.get("canonicalizedResource")))
            return {
                "serviceSasToken": f"sv=2022-11-02&si={call_args.get('identifier')}&sr={call_args.get('resource')}"
                f"&spr={call_args.get('protocols')}&sig={signature}"
            }
        raise NotImplementedError(f"the Azure mocks do not answer {function}")


def _logical_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also handing each registration's dependencies to the mocks.

    `MockResourceArgs` carries no dependencies, but the register request does: `dependencies` (explicit
    `depends_on`, expanded from components to their resources) and `propertyDependencies` (per input).
    """

    mocks: AzureMocks

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        urns = set(request.dependencies)
        for deps in request.propertyDependencies.values():
            urns.update(deps.urns)
        self.mocks.pending.dependencies = frozenset(_logical_name(u) for u in urns)
        try:
            return super().RegisterResource(request)
        finally:
            self.mocks.pending.dependencies = frozenset()
