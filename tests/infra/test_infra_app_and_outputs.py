"""App settings against the worker's SETTINGS, stack outputs, isolation between stacks and idempotence."""

from __future__ import annotations

import json

import pytest

from imgix_worker.errors import RenditionInstructionsError
from imgix_worker.instructions import imgix_params
from imgix_worker.metadata_rendition import is_metadata_rendition
from imgix_worker.param_policy import ParamPolicy
from imgix_worker.settings import SETTINGS, Settings
from infra.app_settings import LOCAL_ONLY_SETTINGS, PLATFORM_SETTING_PREFIXES
from infra.mock_run import ROOT, StackRun, run_stack
from profiles import load_profiles

PROJECT = "aem-imgix-renditions"


def _app_settings(run: StackRun) -> dict[str, str]:
    return run.one("azure-native:web:WebAppApplicationSettings", "worker-app-settings").inputs["properties"]


def _resolved_settings(run: StackRun) -> Settings:
    """The worker's settings from the stack's app settings, Key Vault references resolved to stand-in secrets."""
    resolved = {k: ("x" * 40 if v.startswith("@Microsoft.KeyVault(") else v) for k, v in _app_settings(run).items()}
    return Settings.from_env(resolved)


def test_app_settings_are_the_workers_settings_plus_platform_ones(run: StackRun) -> None:
    settings = _app_settings(run)
    known = {s.name for s in SETTINGS}
    for name in settings:
        if not name.startswith(PLATFORM_SETTING_PREFIXES):
            assert name in known, f"{run.stack}: app setting {name} is not a worker setting (imgix_worker/settings.py)"
    for setting in SETTINGS:
        if setting.default is None:
            assert settings.get(setting.name), f"{run.stack}: required worker setting {setting.name} is not set"
    for local_only in LOCAL_ONLY_SETTINGS:
        assert local_only not in settings, f"{run.stack}: {local_only} is for local runs only"
    assert "AzureWebJobsStorage" not in settings, f"{run.stack}: host storage must use identity, not a string"
    assert (
        settings["AzureWebJobsStorage__accountName"]
        == run.one("azure-native:storage:StorageAccount", "runtime").physical_name
    )
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert not any(k.startswith(("FUNCTIONS_WORKER_RUNTIME", "WEBSITE_RUN_FROM_PACKAGE")) for k in settings)


def test_app_settings_are_set_only_after_every_role_of_the_app_exists(run: StackRun) -> None:
    # Key Vault references resolve with the app's identity, which exists only with the app: were the references in
    # the app itself, the platform would hand the worker their literal text until the role arrived.
    app = run.one("azure-native:web:WebApp", "worker")
    assert "appSettings" not in app.inputs.get("siteConfig", {}), f"{run.stack}: app settings belong to one resource"
    assert "@Microsoft.KeyVault(" not in json.dumps(app.inputs), f"{run.stack}: the app must not hold a reference"
    settings = run.one("azure-native:web:WebAppApplicationSettings", "worker-app-settings")
    assert settings.inputs["name"] == app.physical_name
    roles = {r.name for r in run.of_type("azure-native:authorization:RoleAssignment")}
    assert "worker-vault-secrets" in roles
    missing = sorted(roles - settings.depends_on)
    assert not missing, f"{run.stack}: the app settings must wait for {missing}"
    order = [r.name for r in run.resources]
    assert all(order.index(role) < order.index(settings.name) for role in roles)
    deployment = run.one("pulumi-python:dynamic/deploy:WorkerCodeDeployment", "worker-code")
    assert {settings.name, *roles} <= deployment.depends_on, f"{run.stack}: code is published after settings and roles"


def test_overlay_hosts_and_billable_parameters_come_from_the_stack_config(run: StackRun) -> None:
    settings = _app_settings(run)
    named = json.loads(run.config[f"{PROJECT}:imgixOverlayHosts"])
    assert settings["IMGIX_OVERLAY_HOSTS"] == ",".join(named), f"{run.stack}: only the hosts the stack names"
    assert settings["IMGIX_ALLOW_BILLABLE"] == "false", f"{run.stack}: billable imgix parameters off by default"
    configured = run_stack(
        run.stack, {"imgixOverlayHosts": ["Assets.Example.com", "cdn.example.org"], "imgixAllowBillable": True}
    )
    settings = _app_settings(configured)
    assert settings["IMGIX_OVERLAY_HOSTS"] == "assets.example.com,cdn.example.org"
    assert settings["IMGIX_ALLOW_BILLABLE"] == "true"
    defaults = run_stack(run.stack, {"imgixOverlayHosts": []})
    assert _app_settings(defaults)["IMGIX_OVERLAY_HOSTS"] == "", f"{run.stack}: no overlay hosts unless named"


def test_every_profile_a_stack_prints_passes_that_stacks_parameter_policy(run: StackRun) -> None:
    """A profile the stack outputs for AEM must not fail in that stack's worker (overlay hosts, billable features)."""
    policy = ParamPolicy.from_settings(_resolved_settings(run))
    for profile in run.outputs["processingProfiles"].value:
        for row in profile["renditions"]:
            # What AEM sends for the row (profiles.RenditionSpec.instructions), checked as the processor does:
            # metadata renditions fetch imgix's JSON answers only, every other one the imgix parameters it signs.
            ext = row["extension"]
            rendition = {"name": f"{row['renditionName']}.{ext}", "fmt": ext, **row["serviceParameters"]}
            if is_metadata_rendition(rendition):
                continue
            try:
                policy.check(imgix_params(rendition))
            except RenditionInstructionsError as exc:
                pytest.fail(f"{run.stack}: profile {profile['name']!r}, rendition {row['renditionName']!r}: {exc}")


def test_the_python_workers_threads_leave_room_for_the_intake_behind_every_queue_invocation(run: StackRun) -> None:
    # host.json lets each queue trigger (jobs, jobs-poison) run batchSize + newBatchThreshold messages at once per
    # instance; the worker's default pool (min(32, cores + 4)) is 5-6 threads on a 1-2 core Flex instance.
    queues = json.loads((ROOT / "function_app" / "host.json").read_text())["extensions"]["queues"]
    queue_invocations = 2 * (queues["batchSize"] + queues["newBatchThreshold"])
    threads = int(_app_settings(run)["PYTHON_THREADPOOL_THREAD_COUNT"])
    assert threads >= queue_invocations + 4, f"{run.stack}: the intake would wait for a thread behind queue jobs"


def test_secret_settings_are_key_vault_references(run: StackRun) -> None:
    settings = _app_settings(run)
    vault = run.one("azure-native:keyvault:Vault", "vault").physical_name
    for name, secret in (("IMGIX_SECURE_TOKEN", "imgix-secure-token"), ("RELAY_HMAC_KEY", "relay-hmac-key")):
        expected = f"@Microsoft.KeyVault(SecretUri=https://{vault}.vault.azure.net/secrets/{secret})"
        assert settings[name] == expected, f"{run.stack}: {name} must be a versionless Key Vault reference"
    for value in run.secret_values:
        assert value not in json.dumps(settings), f"{run.stack}: a secret config value reached the app settings"


def test_the_worker_accepts_the_settings_once_references_resolve(run: StackRun) -> None:
    parsed = _resolved_settings(run)
    account = run.one("azure-native:storage:StorageAccount", "imgix-source").physical_name
    assert parsed.imgix_source_account_url == f"https://{account}.blob.core.windows.net"
    assert parsed.imgix_domain == run.config[f"{PROJECT}:imgixDomain"]


def test_outputs_carry_the_environments_endpoints(run: StackRun) -> None:
    host = run.one("azure-native:web:WebApp", "worker").state["defaultHostName"]
    outputs = {k: v.value for k, v in run.outputs.items()}
    assert outputs["workerEndpoint"] == f"https://{host}/api/worker"
    assert outputs["recipeEndpoints"] == {"circle": f"https://{host}/api/worker/circle"}
    namespace = run.config[f"{PROJECT}:appBuilderNamespace"]
    relay = f"https://{namespace}.adobeioruntime.net/api/v1/web/dx-asset-compute-worker-1/relay"
    assert outputs["relayEndpoint"] == relay
    assert outputs["resourceGroup"] == run.one("azure-native:resources:ResourceGroup", "resource-group").physical_name
    profiles = load_profiles()
    assert [p["name"] for p in outputs["processingProfiles"]] == [p.name for p in profiles]
    for output, profile in zip(outputs["processingProfiles"], profiles, strict=True):
        for row, spec in zip(output["renditions"], profile.renditions, strict=True):
            assert row == {
                "renditionName": spec.name,
                "extension": spec.extension,
                "createMetadataRendition": spec.metadata_rendition,
                "endpoint": relay,
                "serviceParameters": spec.service_parameters(),
                "mimeTypes": {"include": list(spec.include), "exclude": list(spec.exclude)},
            }
    circle = outputs["processingProfiles"][[p.slug for p in profiles].index("wknd")]["renditions"][0]
    assert circle["serviceParameters"]["recipe"] == "circle" and circle["createMetadataRendition"] is False
    metadata = outputs["processingProfiles"][[p.slug for p in profiles].index("imgix-metadata")]["renditions"][0]
    assert metadata["createMetadataRendition"] is True and metadata["extension"] == "xml"
    source = outputs["imgixSource"]
    assert source["storageAccount"] == run.one("azure-native:storage:StorageAccount", "imgix-source").physical_name
    assert source["container"] == run.config[f"{PROJECT}:sourceContainer"]
    assert source["managedByPulumi"] is False and source["dashboardSteps"]


def test_secret_outputs_are_secret_and_plain_ones_hold_no_secret(run: StackRun) -> None:
    relay = run.outputs["relayDeployEnv"]
    assert relay.secret, f"{run.stack}: relayDeployEnv must be a secret output"
    assert set(relay.value) == {"WORKER_URL", "ORG_ID", "RELAY_HMAC_KEY"}
    assert relay.value["WORKER_URL"] == run.outputs["workerEndpoint"].value
    assert len(relay.value["RELAY_HMAC_KEY"]) >= 32
    secrets = [*run.secret_values, relay.value["RELAY_HMAC_KEY"], run.outputs["imgixSourceSas"].value]
    for key, output in run.outputs.items():
        if not output.secret:
            text = json.dumps(output.value)
            assert not any(s in text for s in secrets), f"{run.stack}: plain output {key} holds a secret"
            assert "sig=" not in text, f"{run.stack}: plain output {key} holds a SAS"


def test_no_name_secret_or_output_is_shared_between_stacks(stack_runs: dict[str, StackRun]) -> None:
    def global_names(run: StackRun) -> set[str]:
        types = ("ResourceGroup", "StorageAccount", "WebApp", "AppServicePlan", "Vault", "Component", "Workspace")
        return {r.physical_name for r in run.resources if r.typ.rsplit(":", 1)[-1] in types}

    def secret_values(run: StackRun) -> set[str]:
        values = {*run.secret_values, run.outputs["imgixSourceSas"].value}
        values.add(run.outputs["relayDeployEnv"].value["RELAY_HMAC_KEY"])
        return values

    def output_values(run: StackRun) -> set[str]:
        keep = ("resourceGroup", "workerEndpoint", "relayEndpoint", "imgixSourceSas")
        return {json.dumps(run.outputs[k].value) for k in keep}

    runs = list(stack_runs.values())
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            for what, get in (("names", global_names), ("secrets", secret_values), ("outputs", output_values)):
                shared = get(a) & get(b)
                assert not shared, f"{a.stack} and {b.stack} share {what}: {sorted(shared)[:3]}"


def test_stack_files_differ_only_in_values() -> None:
    import yaml

    keys = {
        stack: set(yaml.safe_load(open(f"Pulumi.{stack}.yaml", encoding="utf-8"))["config"])
        for stack in ("dev", "stage", "prod")
    }
    assert keys["dev"] == keys["stage"] == keys["prod"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_running_twice_declares_the_same_resources(stack: str, stack_runs: dict[str, StackRun]) -> None:
    def shape(run: StackRun) -> list[tuple[str, str, str, str]]:
        return sorted((r.typ, r.name, r.physical_name, json.dumps(r.inputs, sort_keys=True)) for r in run.resources)

    assert shape(run_stack(stack)) == shape(stack_runs[stack])


def test_managed_imgix_source_gets_the_sas_and_key_as_secrets() -> None:
    run = run_stack("dev", {"manageImgixSource": True}, secret_overrides={"imgixApiKey": "test-imgix-api-key-dev"})
    (source,) = run.of_type("pulumi-python:dynamic/imgix:Source")
    assert {"sas_token", "api_key"} <= source.secret_inputs
    assert source.inputs["subdomain"] == "aem-renditions-dev"
    assert source.inputs["container"] == run.config[f"{PROJECT}:sourceContainer"]
    assert run.outputs["imgixSource"].value["managedByPulumi"] is True
    assert "test-imgix-api-key-dev" not in json.dumps({k: v.value for k, v in run.outputs.items() if not v.secret})
