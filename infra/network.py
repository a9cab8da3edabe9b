"""The environment's private network, declared only where the stack sets `networkIsolation: true`.

A VNet whose address space is split in two halves: the Flex integration subnet (delegated to
`Microsoft.App/environments`, optionally behind a NAT gateway for a static egress IP) and the private-endpoint
subnet. Private endpoints for the runtime account's blob and queue services and for the Key Vault, each with a DNS
zone group writing its A record into the `privatelink.*` zone, and each zone linked to the VNet.

Order. The app waits for every endpoint, zone group and VNet link (`Network.ready`), so it never resolves the
runtime account or the vault before their private addresses exist. The runtime account and the vault cannot wait
for their own endpoints (an endpoint needs its target's id), so on a stack that is already deployed with public
access, one `pulumi up` would turn public access off before the endpoints exist and cut the app off. Hence two
stages (`networkIsolationStage`): `endpoints` builds all of this while both stay public, `private` then turns their
public access off. `keeps_public_access` refuses `private` on a stack whose last deployment did not reach the
`endpoints` stage, reading that from the stack's own last outputs (`ISOLATION_OUTPUT`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault, network, privatedns, resources, storage

from infra.config import ConfigError, StackConfig
from infra.naming import Namer

__all__ = [
    "INTEGRATION_DELEGATION",
    "ISOLATION_OUTPUT",
    "PRIVATE_DNS_ZONES",
    "Network",
    "build_network",
    "keeps_public_access",
    "subnet_prefixes",
]

# Flex Consumption integrates through a subnet delegated to Container Apps environments, not Microsoft.Web.
INTEGRATION_DELEGATION = "Microsoft.App/environments"
# Private endpoint group id -> its privatelink zone. Blob: host state, keys, the deployment container and the relay's
# replay markers; queue: the jobs trigger; vault: the Key Vault references. Table and file are not used on Flex here.
PRIVATE_DNS_ZONES = {
    "blob": "privatelink.blob.core.windows.net",
    "queue": "privatelink.queue.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}
# The stack output recording the isolation stage a deployment completed; read back by `keeps_public_access`.
ISOLATION_OUTPUT = "networkIsolation"
# Stages after which the endpoints, zone groups, links and the app's integration are in place.
_ENDPOINTS_IN_PLACE = ("endpoints", "private")


@dataclass
class Network:
    """The VNet, its subnets, and what the app must wait for before it starts inside the VNet."""

    vnet: network.VirtualNetwork
    integration_subnet: network.Subnet
    endpoint_subnet: network.Subnet
    endpoints: dict[str, network.PrivateEndpoint]
    ready: list[pulumi.Resource]


def subnet_prefixes(address_space: str) -> tuple[str, str]:
    """The integration subnet (first half of `address_space`) and the private-endpoint subnet (second half)."""
    integration, endpoints = ipaddress.ip_network(address_space).subnets(prefixlen_diff=1)
    return str(integration), str(endpoints)


def keeps_public_access(config: StackConfig, *, parent: pulumi.Resource) -> pulumi.Output[bool]:
    """Whether the runtime account and the vault keep their public endpoints in this deployment.

    Only `networkIsolation: true` with stage `private` turns them off, and only on a new stack or one whose last
    deployment completed the `endpoints` stage (the stack's own `networkIsolation` output).

    :raises ConfigError: (when the value resolves, failing the preview or update) on the unsafe one-step switch.
    """
    if config.isolation != "private":
        return pulumi.Output.from_input(True)
    # The stack's own last outputs: empty for a stack never deployed.
    previous = pulumi.StackReference(
        "last-deployment",
        f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}",
        opts=pulumi.ResourceOptions(parent=parent),
    )

    def check(values: list[object]) -> bool:
        deployed, stage = values
        if deployed and stage not in _ENDPOINTS_IN_PLACE:
            raise ConfigError(
                ("networkIsolation", "networkIsolationStage"),
                "this stack is deployed with public access; deploy networkIsolationStage: endpoints first, then "
                "private (one update would turn public access off before the private endpoints exist)",
            )
        return False

    return pulumi.Output.all(previous.get_output("resourceGroup"), previous.get_output(ISOLATION_OUTPUT)).apply(check)


def build_network(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    *,
    runtime_account: storage.StorageAccount,
    vault: keyvault.Vault,
    parent: pulumi.Resource,
) -> Network:
    """Declare the VNet, both subnets, the optional NAT gateway, the private endpoints and their DNS."""
    opts = pulumi.ResourceOptions(parent=parent)
    vnet = network.VirtualNetwork(
        "vnet",
        virtual_network_name=namer.name("virtual_network"),
        resource_group_name=rg.name,
        location=config.location,
        address_space=network.AddressSpaceArgs(address_prefixes=[config.vnet_address_space]),
        tags=tags,
        opts=opts,
    )
    integration_prefix, endpoint_prefix = subnet_prefixes(config.vnet_address_space)
    nat = _nat_gateway(namer, config, rg, tags, opts) if config.nat_gateway else None
    integration = network.Subnet(
        "integration-subnet",
        subnet_name=namer.name("subnet", "integration"),
        virtual_network_name=vnet.name,
        resource_group_name=rg.name,
        address_prefix=integration_prefix,
        delegations=[network.DelegationArgs(name="flex-consumption", service_name=INTEGRATION_DELEGATION)],
        nat_gateway=network.SubResourceArgs(id=nat.id) if nat else None,
        opts=pulumi.ResourceOptions(parent=vnet),
    )
    endpoint_subnet = network.Subnet(
        "endpoint-subnet",
        subnet_name=namer.name("subnet", "endpoints"),
        virtual_network_name=vnet.name,
        resource_group_name=rg.name,
        address_prefix=endpoint_prefix,
        private_endpoint_network_policies=network.VirtualNetworkPrivateEndpointNetworkPolicies.DISABLED,
        # Private endpoints only receive: no outbound internet from this subnet.
        default_outbound_access=False,
        # One subnet operation per VNet at a time: ARM refuses concurrent ones (AnotherOperationInProgress).
        opts=pulumi.ResourceOptions(parent=vnet, depends_on=[integration]),
    )

    zones = {}
    links = []
    for group, zone_name in PRIVATE_DNS_ZONES.items():
        zone = privatedns.PrivateZone(
            f"dns-{group}", private_zone_name=zone_name, resource_group_name=rg.name, location="Global", tags=tags,
            opts=opts,
        )  # fmt: skip
        zones[group] = zone
        links.append(
            privatedns.VirtualNetworkLink(
                f"dns-{group}-link",
                virtual_network_link_name=vnet.name,
                private_zone_name=zone.name,
                resource_group_name=rg.name,
                location="Global",
                virtual_network=privatedns.SubResourceArgs(id=vnet.id),
                registration_enabled=False,
                # The blob zone answers for every *.blob.core.windows.net name: without the fallback, AEM's own
                # storage (or any account with private endpoints elsewhere) would get NXDOMAIN from this VNet.
                resolution_policy=privatedns.ResolutionPolicy.NX_DOMAIN_REDIRECT if group == "blob" else None,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=zone),
            )
        )

    targets = {"blob": runtime_account.id, "queue": runtime_account.id, "vault": vault.id}
    endpoints = {}
    zone_groups = []
    for group, target in targets.items():
        endpoint = network.PrivateEndpoint(
            f"endpoint-{group}",
            private_endpoint_name=namer.name("private_endpoint", group),
            resource_group_name=rg.name,
            location=config.location,
            subnet=network.SubnetArgs(id=endpoint_subnet.id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(name=group, private_link_service_id=target, group_ids=[group])
            ],
            tags=tags,
            opts=opts,
        )
        endpoints[group] = endpoint
        zone_groups.append(
            network.PrivateDnsZoneGroup(
                f"endpoint-{group}-dns",
                private_dns_zone_group_name="default",
                private_endpoint_name=endpoint.name,
                resource_group_name=rg.name,
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(name=group, private_dns_zone_id=zones[group].id)
                ],
                opts=pulumi.ResourceOptions(parent=endpoint),
            )
        )
    return Network(
        vnet=vnet,
        integration_subnet=integration,
        endpoint_subnet=endpoint_subnet,
        endpoints=endpoints,
        ready=[*endpoints.values(), *zone_groups, *links],
    )


def _nat_gateway(
    namer: Namer, config: StackConfig, rg: resources.ResourceGroup, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> network.NatGateway:
    """A Standard NAT gateway with one static public IP: the app's egress address, for allow-lists."""
    ip = network.PublicIPAddress(
        "egress-ip",
        public_ip_address_name=namer.name("public_ip", "egress"),
        resource_group_name=rg.name,
        location=config.location,
        sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
        public_ip_allocation_method=network.IPAllocationMethod.STATIC,
        tags=tags,
        opts=opts,
    )
    return network.NatGateway(
        "egress-nat",
        nat_gateway_name=namer.name("nat_gateway"),
        resource_group_name=rg.name,
        location=config.location,
        sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
        public_ip_addresses=[network.SubResourceArgs(id=ip.id)],
        tags=tags,
        opts=opts,
    )
