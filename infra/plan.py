"""`python -m infra.plan <stack>`: what `pulumi up` would declare for a stack, without Azure or the Pulumi CLI.

Runs the real program under the Azure mocks with the stack's real `Pulumi.<stack>.yaml` and prints one row per
resource with its key security settings, then the stack outputs. Secret outputs are masked; mock-computed values
(ids, host names) stand in for what Azure assigns.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from infra.config import ENVIRONMENTS, ConfigError
from infra.mock_run import StackRun, run_stack
from infra.mocks import MockedResource
from infra.roles import BUILT_IN_ROLES

__all__ = ["MASK", "format_plan", "main", "security_summary"]

MASK = "[secret]"


def _storage(i: dict[str, Any]) -> str:
    sas = i.get("sasPolicy") or {}
    enc = i.get("encryption") or {}
    return (
        f"sku={(i.get('sku') or {}).get('name')} tls={i.get('minimumTlsVersion')} "
        f"httpsOnly={i.get('enableHttpsTrafficOnly')} publicBlob={i.get('allowBlobPublicAccess')} "
        f"sharedKey={i.get('allowSharedKeyAccess')} crossTenant={i.get('allowCrossTenantReplication')} "
        f"infraEncryption={enc.get('requireInfrastructureEncryption')} "
        f"sasPolicy={sas.get('sasExpirationPeriod', '-')}/{sas.get('expirationAction', '-')} "
        f"public={i.get('publicNetworkAccess')}/{(i.get('networkRuleSet') or {}).get('defaultAction')}"
    )


def _web_app(i: dict[str, Any]) -> str:
    site = i.get("siteConfig") or {}
    fac = i.get("functionAppConfig") or {}
    scale = fac.get("scaleAndConcurrency") or {}
    runtime = fac.get("runtime") or {}
    return (
        f"kind={i.get('kind')} httpsOnly={i.get('httpsOnly')} tls={site.get('minTlsVersion')} "
        f"vnet={_last(i.get('virtualNetworkSubnetId')) or '-'} identity={(i.get('identity') or {}).get('type')} "
        f"runtime={runtime.get('name')}{runtime.get('version')} maxInstances={scale.get('maximumInstanceCount')} "
        f"memoryMb={scale.get('instanceMemoryMB')}"
    )


def _vault(i: dict[str, Any]) -> str:
    p = i.get("properties") or {}
    return (
        f"rbac={p.get('enableRbacAuthorization')} softDelete={p.get('enableSoftDelete')}/"
        f"{p.get('softDeleteRetentionInDays')}d purgeProtection={p.get('enablePurgeProtection', False)} "
        f"public={p.get('publicNetworkAccess')}/{(p.get('networkAcls') or {}).get('defaultAction')}"
    )


def _last(arm_id: object) -> str:
    """The last segment of an ARM id (a resource's name), or empty."""
    return str(arm_id).rsplit("/", 1)[-1] if arm_id else ""


def _subnet(i: dict[str, Any]) -> str:
    delegations = [d.get("serviceName") for d in i.get("delegations") or []]
    return (
        f"prefix={i.get('addressPrefix')} delegation={','.join(delegations) or '-'} "
        f"nat={_last((i.get('natGateway') or {}).get('id')) or '-'}"
    )


def _private_endpoint(i: dict[str, Any]) -> str:
    connections = i.get("privateLinkServiceConnections") or []
    return " ".join(
        f"{','.join(c.get('groupIds') or [])} of {_last(c.get('privateLinkServiceId'))}" for c in connections
    )


def _role(i: dict[str, Any]) -> str:
    guid = str(i.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
    name = next((n for n, g in BUILT_IN_ROLES.items() if g == guid), guid)
    scope = str(i.get("scope", ""))
    # A container scope reads as account/container, anything else by its last segment.
    account, _, container = scope.partition("/blobServices/default/containers/")
    scope = f"{account.rsplit('/', 1)[-1]}/{container}" if container else scope.rsplit("/", 1)[-1]
    return f"role='{name}' on {scope} principalType={i.get('principalType')}"


def _lifecycle(i: dict[str, Any]) -> str:
    rules = ((i.get("policy") or {}).get("rules")) or []
    parts = []
    for rule in rules:
        d = rule.get("definition") or {}
        days = (((d.get("actions") or {}).get("baseBlob") or {}).get("delete") or {}).get(
            "daysAfterModificationGreaterThan"
        )
        parts.append(f"{rule.get('name')}: delete {(d.get('filters') or {}).get('prefixMatch')} after {days}d")
    return "; ".join(parts)


def _retention(policy: dict[str, Any] | None) -> str:
    policy = policy or {}
    return f"{policy.get('days')}d" if policy.get("enabled") else "off"


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "azure-native:storage:StorageAccount": _storage,
    "azure-native:web:WebApp": _web_app,
    "azure-native:keyvault:Vault": _vault,
    "azure-native:authorization:RoleAssignment": _role,
    "azure-native:storage:ManagementPolicy": _lifecycle,
    "azure-native:storage:BlobContainer": lambda i: f"publicAccess={i.get('publicAccess')}",
    "azure-native:storage:BlobServiceProperties": lambda i: (
        f"blobSoftDelete={_retention(i.get('deleteRetentionPolicy'))} "
        f"containerSoftDelete={_retention(i.get('containerDeleteRetentionPolicy'))}"
    ),
    "azure-native:web:AppServicePlan": lambda i: f"sku={(i.get('sku') or {}).get('name')} linux={i.get('reserved')}",
    "azure-native:applicationinsights:Component": lambda i: f"localAuthDisabled={i.get('disableLocalAuth')}",
    "azure-native:web:WebAppApplicationSettings": lambda i: (
        f"settings={len(i.get('properties') or {})} keyVaultReferences="
        f"{sum(str(v).startswith('@Microsoft.KeyVault(') for v in (i.get('properties') or {}).values())}"
    ),
    "azure-native:web:WebAppFtpAllowed": lambda i: f"basicAuth={i.get('allow')}",
    "azure-native:web:WebAppScmAllowed": lambda i: f"basicAuth={i.get('allow')}",
    "pulumi-python:dynamic/storage:ContainerAccessPolicy": lambda i: (
        f"policy={i.get('policy_id')} permission={i.get('permission')} expiry={i.get('expiry')}"
    ),
    "pulumi-python:dynamic/deploy:WorkerCodeDeployment": lambda i: f"sha256={str(i.get('content_hash'))[:12]}",
    "azure-native:network:VirtualNetwork": lambda i: (
        f"addressSpace={(i.get('addressSpace') or {}).get('addressPrefixes')}"
    ),
    "azure-native:network:Subnet": _subnet,
    "azure-native:network:PrivateEndpoint": _private_endpoint,
    "azure-native:network:PrivateDnsZoneGroup": lambda i: (
        "zones=" + ",".join(_last(c.get("privateDnsZoneId")) for c in i.get("privateDnsZoneConfigs") or [])
    ),
    "azure-native:privatedns:VirtualNetworkLink": lambda i: (
        f"vnet={_last((i.get('virtualNetwork') or {}).get('id'))} resolution={i.get('resolutionPolicy', 'Default')} "
        f"autoRegistration={i.get('registrationEnabled')}"
    ),
    "azure-native:network:PublicIPAddress": lambda i: (
        f"sku={(i.get('sku') or {}).get('name')} allocation={i.get('publicIPAllocationMethod')}"
    ),
    "azure-native:network:NatGateway": lambda i: f"sku={(i.get('sku') or {}).get('name')}",
    "pulumi:pulumi:StackReference": lambda i: "this stack's last outputs (network isolation stage)",
}


def security_summary(resource: MockedResource) -> str:
    """The settings worth reviewing for `resource`, on one line."""
    summary = _SUMMARIES.get(resource.typ)
    return summary(resource.inputs) if summary else ""


def _masked(value: Any, secret: bool) -> Any:
    return MASK if secret else value


def format_plan(run: StackRun) -> str:
    """The plan as text: a resource table, then the outputs (secrets masked)."""
    rows = [(r.typ.split(":")[-1], r.name, r.physical_name, security_summary(r)) for r in run.resources]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"Stack {run.stack}: {len(rows)} resources (under mocks: ids and host names are stand-ins)", ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    lines += ["", "Outputs:"]
    for key, output in run.outputs.items():
        lines.append(f"  {key}: {json.dumps(_masked(output.value, output.secret), indent=2, default=str)}")
    text = "\n".join(lines)
    for secret in run.secret_values:
        text = text.replace(secret, MASK)  # belt and braces: a secret config value never reaches the screen
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=ENVIRONMENTS)
    args = parser.parse_args(argv)
    try:
        run = run_stack(args.stack)
    except ConfigError as exc:
        print(f"{args.stack}: {exc}", file=sys.stderr)
        return 2
    print(format_plan(run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
