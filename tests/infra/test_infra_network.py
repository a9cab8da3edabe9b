"""Network isolation (`networkIsolation`), as policy statements about what the real program declares per stack, and
its staged rollout on a stack that is already deployed with public access."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from infra.arm_export import to_arm_template
from infra.config import ConfigError
from infra.mock_run import PROJECT, StackRun, run_stack
from infra.mocks import STACK_REFERENCE, MockedResource

ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
WEB_APP = "azure-native:web:WebApp"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
NETWORK_TYPES = (
    VNET, SUBNET, ENDPOINT, ZONE_GROUP, ZONE, LINK,
    "azure-native:network:NatGateway", "azure-native:network:PublicIPAddress", STACK_REFERENCE,
)  # fmt: skip
# Group id -> the privatelink zone its records belong in, and the resource it fronts.
EXPECTED_ENDPOINTS = {
    "blob": ("privatelink.blob.core.windows.net", (ACCOUNT, "runtime")),
    "queue": ("privatelink.queue.core.windows.net", (ACCOUNT, "runtime")),
    "vault": ("privatelink.vaultcore.azure.net", (VAULT, "vault")),
}
# Learn's list of site settings Flex Consumption does not use (networking ones included).
NOT_ON_FLEX_SITE_CONFIG = (
    "ftpsState", "vnetRouteAllEnabled", "vnetContentShareEnabled", "vnetImagePullEnabled", "vnetBackupRestoreEnabled",
)  # fmt: skip
NOT_ON_FLEX_APP_SETTINGS = ("WEBSITE_VNET_ROUTE_ALL", "WEBSITE_CONTENTOVERVNET", "WEBSITE_DNS_SERVER")
EXPECTED_ARM_TYPES = {
    "Microsoft.Network/virtualNetworks": 1,
    "Microsoft.Network/virtualNetworks/subnets": 2,
    "Microsoft.Network/privateEndpoints": 3,
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": 3,
    "Microsoft.Network/privateDnsZones": 3,
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": 3,
}
# What a stack deployed before network isolation existed reports as its last outputs.
DEPLOYED_PUBLIC = {"resourceGroup": "rg-aemimgix-prod-f7fd18"}


def _isolated(run: StackRun) -> bool:
    return run.config[f"{PROJECT}:networkIsolation"] == "true"


def _private_access(resource: MockedResource, *, vault: bool) -> tuple[object, object, object]:
    i = resource.inputs["properties"] if vault else resource.inputs
    rules = i["networkAcls"] if vault else i["networkRuleSet"]
    return i["publicNetworkAccess"], rules["defaultAction"], rules["bypass"]


def test_prod_is_isolated_and_dev_and_stage_are_not(stack_runs: dict[str, StackRun]) -> None:
    assert {stack for stack, run in stack_runs.items() if _isolated(run)} == {"prod"}


def test_isolated_stacks_give_the_runtime_account_and_the_vault_no_public_network_access(run: StackRun) -> None:
    runtime, vault = run.one(ACCOUNT, "runtime"), run.one(VAULT, "vault")
    expected = ("Disabled", "Deny", "AzureServices") if _isolated(run) else ("Enabled", "Allow", "AzureServices")
    assert _private_access(runtime, vault=False) == expected, f"{run.stack}: runtime account {runtime.physical_name}"
    assert _private_access(vault, vault=True) == expected, f"{run.stack}: key vault {vault.physical_name}"
    assert run.outputs["networkIsolation"].value == ("private" if _isolated(run) else "off")


def test_the_intake_and_the_imgix_source_stay_reachable_from_the_internet(run: StackRun) -> None:
    # Adobe's App Builder relay calls the intake from I/O Runtime; imgix's fetchers have no fixed address range.
    app = run.one(WEB_APP, "worker")
    assert app.inputs["publicNetworkAccess"] == "Enabled", f"{run.stack}: intake {app.physical_name} must stay public"
    source = run.one(ACCOUNT, "imgix-source")
    where = f"{run.stack}: imgix source account {source.physical_name}"
    assert _private_access(source, vault=False) == ("Enabled", "Allow", "AzureServices"), where
    assert not [e for e in run.of_type(ENDPOINT) if _target(run, e) == source], f"{where} needs no private endpoint"


def test_every_private_endpoint_has_its_zone_group_and_the_zone_is_linked_to_the_vnet(run: StackRun) -> None:
    if not _isolated(run):
        pytest.skip("no network isolation in this stack")
    (vnet,) = run.of_type(VNET)
    endpoint_subnet = run.one(SUBNET, "endpoint-subnet")
    endpoints = run.of_type(ENDPOINT)
    groups = {e.inputs["privateLinkServiceConnections"][0]["groupIds"][0]: e for e in endpoints}
    assert len(endpoints) == len(groups) and set(groups) == set(EXPECTED_ENDPOINTS), f"{run.stack}: endpoints"
    for group, endpoint in groups.items():
        zone_name, target = EXPECTED_ENDPOINTS[group]
        where = f"{run.stack}: private endpoint {endpoint.physical_name}"
        assert _target(run, endpoint) == run.one(*target), f"{where} must front {target[1]}"
        assert endpoint.inputs["subnet"]["id"] == endpoint_subnet.id, f"{where} belongs in the private-endpoint subnet"
        (zone_group,) = [
            g for g in run.of_type(ZONE_GROUP) if g.inputs["privateEndpointName"] == endpoint.physical_name
        ]
        (config,) = zone_group.inputs["privateDnsZoneConfigs"]
        (zone,) = [z for z in run.of_type(ZONE) if z.id == config["privateDnsZoneId"]]
        assert zone.physical_name == zone_name and zone.inputs["location"] == "Global", f"{where}: zone {zone_name}"
        (link,) = [lk for lk in run.of_type(LINK) if lk.inputs["privateZoneName"] == zone_name]
        assert link.inputs["virtualNetwork"]["id"] == vnet.id, f"{run.stack}: {zone_name} must be linked to the VNet"
        assert link.inputs["registrationEnabled"] is False, f"{run.stack}: {link.name} must not auto-register"
        # Other accounts' blob names (AEM's storage) must still resolve publicly from this VNet.
        policy = link.inputs.get("resolutionPolicy", "Default")
        assert policy == ("NxDomainRedirect" if group == "blob" else "Default"), f"{run.stack}: {link.name} {policy}"


def test_the_integration_subnet_is_delegated_and_big_enough_and_the_app_is_integrated(run: StackRun) -> None:
    if not _isolated(run):
        pytest.skip("no network isolation in this stack")
    (vnet,) = run.of_type(VNET)
    space = ipaddress.ip_network(vnet.inputs["addressSpace"]["addressPrefixes"][0])
    assert str(space) == run.config[f"{PROJECT}:vnetAddressSpace"], f"{run.stack}: VNet address space"
    integration, endpoint_subnet = run.one(SUBNET, "integration-subnet"), run.one(SUBNET, "endpoint-subnet")
    for subnet in (integration, endpoint_subnet):
        where = f"{run.stack}: subnet {subnet.physical_name}"
        assert subnet.inputs["virtualNetworkName"] == vnet.physical_name, where
        assert ipaddress.ip_network(subnet.inputs["addressPrefix"]).subnet_of(space), f"{where} outside the VNet"
        assert "_" not in subnet.physical_name, f"{where}: Flex refuses '_' in a subnet name"
    prefix = ipaddress.ip_network(integration.inputs["addressPrefix"])
    where = f"{run.stack}: integration subnet {integration.physical_name}"
    assert prefix.prefixlen <= 27, f"{where} must be /27 or larger"
    assert not prefix.overlaps(ipaddress.ip_network(endpoint_subnet.inputs["addressPrefix"])), where
    assert [d["serviceName"] for d in integration.inputs["delegations"]] == ["Microsoft.App/environments"], where
    app = run.one(WEB_APP, "worker")
    assert app.inputs["virtualNetworkSubnetId"] == integration.id, f"{run.stack}: {app.physical_name} not integrated"
    # Created or updated only once it can resolve the runtime account and the vault to their private addresses.
    waits_for = {r.name for r in run.resources if r.typ in (ENDPOINT, ZONE_GROUP, LINK)}
    assert len(waits_for) == 9 and waits_for <= app.depends_on, f"{run.stack}: {sorted(waits_for - app.depends_on)}"


def test_without_isolation_nothing_of_the_network_exists(run: StackRun) -> None:
    if _isolated(run):
        pytest.skip("network isolation in this stack")
    present = sorted({r.typ for r in run.resources if r.typ in NETWORK_TYPES})
    assert present == [], f"{run.stack}: {present}"
    assert "virtualNetworkSubnetId" not in run.one(WEB_APP, "worker").inputs, f"{run.stack}: app is VNet-integrated"


def test_the_site_config_holds_nothing_flex_does_not_use_and_basic_auth_stays_off(run: StackRun) -> None:
    app = run.one(WEB_APP, "worker")
    site = app.inputs["siteConfig"]
    for key in NOT_ON_FLEX_SITE_CONFIG:
        assert key not in site, f"{run.stack}: {app.physical_name} sends {key}, which Flex Consumption does not use"
    settings = run.one("azure-native:web:WebAppApplicationSettings", "worker-app-settings").inputs["properties"]
    for key in NOT_ON_FLEX_APP_SETTINGS:
        assert key not in settings, f"{run.stack}: app setting {key} is not used on Flex Consumption"
    for basic_auth in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        (policy,) = run.of_type(basic_auth)
        assert policy.inputs["allow"] is False, f"{run.stack}: {basic_auth} basic-auth publishing must be off"


@pytest.mark.parametrize("last", [DEPLOYED_PUBLIC, {**DEPLOYED_PUBLIC, "networkIsolation": "off"}])
def test_turning_public_access_off_on_a_deployed_public_stack_in_one_update_is_refused(last: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("prod", last_outputs=last)
    assert caught.value.keys == ("networkIsolation", "networkIsolationStage")
    assert "networkIsolationStage: endpoints first" in caught.value.message


def test_the_endpoints_stage_builds_the_network_and_keeps_public_access() -> None:
    run = run_stack("prod", {"networkIsolationStage": "endpoints"}, last_outputs=DEPLOYED_PUBLIC)
    assert len(run.of_type(ENDPOINT)) == 3 and len(run.of_type(ZONE_GROUP)) == 3 and len(run.of_type(LINK)) == 3
    assert run.one(WEB_APP, "worker").inputs["virtualNetworkSubnetId"] == run.one(SUBNET, "integration-subnet").id
    assert _private_access(run.one(ACCOUNT, "runtime"), vault=False) == ("Enabled", "Allow", "AzureServices")
    assert _private_access(run.one(VAULT, "vault"), vault=True) == ("Enabled", "Allow", "AzureServices")
    assert run.outputs["networkIsolation"].value == "endpoints"


@pytest.mark.parametrize("stage", ["endpoints", "private"])
def test_after_the_endpoints_stage_public_access_goes_off(stage: str) -> None:
    run = run_stack("prod", last_outputs={**DEPLOYED_PUBLIC, "networkIsolation": stage})
    assert _private_access(run.one(ACCOUNT, "runtime"), vault=False) == ("Disabled", "Deny", "AzureServices")
    assert _private_access(run.one(VAULT, "vault"), vault=True) == ("Disabled", "Deny", "AzureServices")
    assert run.outputs["networkIsolation"].value == "private"


def test_the_nat_gateway_gives_the_integration_subnet_a_static_egress_ip() -> None:
    run = run_stack("prod", {"natGateway": True})
    (ip,) = run.of_type("azure-native:network:PublicIPAddress")
    (nat,) = run.of_type("azure-native:network:NatGateway")
    assert ip.inputs["sku"] == {"name": "Standard"} and ip.inputs["publicIPAllocationMethod"] == "Static"
    assert nat.inputs["sku"] == {"name": "Standard"} and nat.inputs["publicIpAddresses"] == [{"id": ip.id}]
    assert run.one(SUBNET, "integration-subnet").inputs["natGateway"] == {"id": nat.id}
    assert "natGateway" not in run.one(SUBNET, "endpoint-subnet").inputs


def test_the_subnets_follow_the_configured_address_space() -> None:
    run = run_stack("prod", {"vnetAddressSpace": "172.16.4.0/26"})
    prefixes = [run.one(SUBNET, name).inputs["addressPrefix"] for name in ("integration-subnet", "endpoint-subnet")]
    assert prefixes == ["172.16.4.0/27", "172.16.4.32/27"]


def _target(run: StackRun, endpoint: MockedResource) -> MockedResource:
    (connection,) = endpoint.inputs["privateLinkServiceConnections"]
    (target,) = [r for r in run.resources if r.id == connection["privateLinkServiceId"]]
    return target


def test_the_arm_export_holds_the_network_for_checkov(stack_runs: dict[str, StackRun]) -> None:
    template = to_arm_template(stack_runs["prod"].resources)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in template["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
    counts = {arm_type: len(by_type.get(arm_type, [])) for arm_type in EXPECTED_ARM_TYPES}
    assert counts == EXPECTED_ARM_TYPES
    versions = {r["type"]: r["apiVersion"] for r in template["resources"] if r["type"].startswith("Microsoft.Network")}
    assert versions["Microsoft.Network/privateEndpoints"] == "2024-05-01"
    assert versions["Microsoft.Network/privateDnsZones"] == "2024-06-01"
    (vnet,) = by_type["Microsoft.Network/virtualNetworks"]
    assert vnet["properties"]["addressSpace"] == {"addressPrefixes": ["10.60.0.0/24"]} and vnet["location"]
    (account,) = [a for a in by_type["Microsoft.Storage/storageAccounts"] if a["name"].startswith("stfn")]
    assert account["properties"]["publicNetworkAccess"] == "Disabled"
    assert account["properties"]["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    (site,) = by_type["Microsoft.Web/sites"]
    assert site["properties"]["virtualNetworkSubnetId"].endswith(
        "/subnets/" + stack_runs["prod"].one(SUBNET, "integration-subnet").physical_name
    )
