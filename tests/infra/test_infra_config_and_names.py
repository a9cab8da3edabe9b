"""Stack config validation, the Pulumi.yaml schema, names and roles."""

from __future__ import annotations

import re

import pytest
import yaml

from infra.config import ConfigError
from infra.mock_run import run_stack
from infra.naming import Namer
from infra.roles import BUILT_IN_ROLES, assignment_name, role_definition_id
from infra.worker_limits import SHUTDOWN_RESERVE_SECONDS, host_limits


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"imgixDomain": ""}, "imgixDomain"),
        ({"imgixDomain": "not a host"}, "imgixDomain"),
        ({"appBuilderNamespace": ""}, "appBuilderNamespace"),
        ({"imsOrgIds": ""}, "imsOrgIds"),
        ({"sasExpiry": "next year"}, "sasExpiry"),
        ({"sasPolicyId": "has space"}, "sasPolicyId"),
        ({"storageSku": "Premium_LRS"}, "storageSku"),
        ({"instanceMemoryMb": 512}, "instanceMemoryMb"),
        ({"workerLimits": {"IMGIX_DOMAIN": "x"}}, "workerLimits"),
        ({"workerLimits": {"MAX_RENDITIONS": "many"}}, "workerLimits"),
        ({"imsJwksUrl": "http://insecure.example/keys"}, "imsJwksUrl"),
        ({"imgixOverlayHosts": "assets.example.com"}, "imgixOverlayHosts"),
        ({"imgixOverlayHosts": ["https://assets.example.com"]}, "imgixOverlayHosts"),
        ({"imgixOverlayHosts": ["*.example.com"]}, "imgixOverlayHosts"),
        ({"imgixOverlayHosts": ["assets.example.com:8443"]}, "imgixOverlayHosts"),
        ({"imgixOverlayHosts": ["assets.example.com/x"]}, "imgixOverlayHosts"),
        ({"imgixOverlayHosts": [1]}, "imgixOverlayHosts"),
        ({"imgixAllowBillable": "maybe"}, "imgixAllowBillable"),
        ({"networkIsolation": "maybe"}, "networkIsolation"),
        ({"networkIsolation": True, "networkIsolationStage": "later"}, "networkIsolationStage"),
        ({"natGateway": True}, "natGateway"),  # dev has no VNet for it
        ({"vnetAddressSpace": "10.60.0.0/27"}, "vnetAddressSpace"),  # halves of /28: below Flex's /27
        ({"vnetAddressSpace": "10.60.0.1/24"}, "vnetAddressSpace"),  # host bits set
        ({"vnetAddressSpace": "8.8.8.0/24"}, "vnetAddressSpace"),  # not a private range
        ({"vnetAddressSpace": "fd00::/64"}, "vnetAddressSpace"),
        ({"vnetAddressSpace": "a network"}, "vnetAddressSpace"),
    ],
)
def test_bad_config_is_refused_naming_the_key(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", overrides)
    assert caught.value.keys == (key,)


def test_config_errors_never_echo_a_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {"imgixDomain": ""}, secret_overrides={"imgixSecureToken": "very-secret-token-value"})
    assert "very-secret-token-value" not in str(caught.value)


def test_a_job_deadline_the_host_would_cut_short_is_refused_at_preview() -> None:
    # The worker's own rule (host_limits): at most host.json's functionTimeout minus the shutdown reserve.
    limit = int(host_limits().function_timeout_seconds - SHUTDOWN_RESERVE_SECONDS)
    with pytest.raises(ConfigError) as caught:
        run_stack("dev", {"workerLimits": {"JOB_DEADLINE_SECONDS": str(limit + 1)}})
    assert caught.value.keys == ("workerLimits",)
    assert "JOB_DEADLINE_SECONDS" in caught.value.message and "functionTimeout" in caught.value.message
    run = run_stack("dev", {"workerLimits": {"JOB_DEADLINE_SECONDS": str(limit)}})
    settings = run.one("azure-native:web:WebAppApplicationSettings", "worker-app-settings").inputs["properties"]
    assert settings["JOB_DEADLINE_SECONDS"] == str(limit)


def test_worker_limits_reach_the_app_settings() -> None:
    run = run_stack("stage", {"workerLimits": {"RENDER_CONCURRENCY": "8"}})
    settings = run.one("azure-native:web:WebAppApplicationSettings", "worker-app-settings").inputs["properties"]
    assert settings["RENDER_CONCURRENCY"] == "8"


def test_every_config_key_is_documented_with_a_default() -> None:
    config = yaml.safe_load(open("Pulumi.yaml", encoding="utf-8"))["config"]
    for key, schema in config.items():
        assert schema.get("description"), f"Pulumi.yaml: {key} needs a description"
        # Secret keys cannot carry a default (pulumi/pulumi#21865): they are required instead.
        assert "default" in schema or schema.get("secret") is True, f"Pulumi.yaml: {key} needs a default"
    used = set(re.findall(r'config\.\w+\("(\w+)"', open("infra/config.py", encoding="utf-8").read()))
    declared = {k.split(":", 1)[1] for k in config}
    assert used <= declared, f"config keys read but not declared in Pulumi.yaml: {sorted(used - declared)}"


def test_stack_files_hold_no_secret() -> None:
    for stack in ("dev", "stage", "prod"):
        text = open(f"Pulumi.{stack}.yaml", encoding="utf-8").read()
        assert "imgixSecureToken:" not in text.replace("--secret imgixSecureToken", "")
        assert "imgixApiKey:" not in text


@pytest.mark.parametrize("env", ["dev", "stage", "prod"])
def test_names_fit_azure_rules_and_are_stable(env: str) -> None:
    namer = Namer("aem-imgix-renditions", env)
    for role in ("src", "fn"):
        assert re.fullmatch(r"[a-z0-9]{3,24}", namer.storage_account(role))
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", namer.key_vault()) and "--" not in namer.key_vault()
    assert namer.name("function_app") == Namer("aem-imgix-renditions", env).name("function_app")
    assert env in namer.name("resource_group") and env in namer.storage_account("src")


def test_names_differ_between_environments_and_seeds() -> None:
    names = {Namer("aem-imgix-renditions", e, s).storage_account("src") for e in ("dev", "stage", "prod") for s in "ab"}
    assert len(names) == 6


def test_role_assignment_names_are_deterministic_and_distinct() -> None:
    scope, principal = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a", "p"
    first = assignment_name(scope, principal, "Storage Blob Data Owner")
    assert first == assignment_name(scope, principal, "Storage Blob Data Owner")
    assert first != assignment_name(scope, principal, "Storage Queue Data Contributor")
    assert role_definition_id("sub", "Key Vault Secrets User").endswith(BUILT_IN_ROLES["Key Vault Secrets User"])
    with pytest.raises(KeyError):
        role_definition_id("sub", "Contributor")
