"""Security policy of every stack, as statements about what the real program declares (each message names the
resource at fault). Runs once per stack, from its real Pulumi.<stack>.yaml, under the Azure mocks."""

from __future__ import annotations

import re

from infra.mock_run import StackRun
from infra.roles import BUILT_IN_ROLES

ACCOUNT = "azure-native:storage:StorageAccount"
WEB_APP = "azure-native:web:WebApp"
TAGGABLE = (
    "azure-native:resources:ResourceGroup",
    ACCOUNT,
    WEB_APP,
    "azure-native:web:AppServicePlan",
    "azure-native:keyvault:Vault",
    "azure-native:applicationinsights:Component",
    "azure-native:operationalinsights:Workspace",
)


def test_every_storage_account_is_hardened(run: StackRun) -> None:
    accounts = run.of_type(ACCOUNT)
    assert len(accounts) == 2, f"{run.stack}: expected the imgix source and the runtime account"
    for account in accounts:
        i, where = account.inputs, f"{run.stack}: storage account {account.physical_name}"
        assert i["kind"] == "StorageV2", where
        assert i["minimumTlsVersion"] == "TLS1_2", f"{where} must require TLS 1.2"
        assert i["enableHttpsTrafficOnly"] is True, f"{where} must be HTTPS only"
        assert i["allowBlobPublicAccess"] is False, f"{where} must not allow anonymous blob access"
        assert i["allowCrossTenantReplication"] is False, f"{where} must not replicate across tenants"
        assert i["encryption"]["requireInfrastructureEncryption"] is True, f"{where} needs infrastructure encryption"
        assert re.fullmatch(r"[a-z0-9]{3,24}", i["accountName"]), f"{where}: invalid storage account name"


def test_imgix_source_keeps_shared_key_only_for_its_sas_and_logs_long_sas(run: StackRun) -> None:
    source = run.one(ACCOUNT, "imgix-source").inputs
    assert source["allowSharedKeyAccess"] is True, f"{run.stack}: imgix's SAS needs the account key"
    expected = {"sasExpirationPeriod": run.config[f"{_p()}:sasExpirationPeriod"], "expirationAction": "Log"}
    assert source["sasPolicy"] == expected, f"{run.stack}: imgix source needs a SAS policy (Log)"


def test_runtime_account_has_no_shared_key(run: StackRun) -> None:
    runtime = run.one(ACCOUNT, "runtime").inputs
    assert runtime["allowSharedKeyAccess"] is False, f"{run.stack}: runtime account must be identity-only"


def test_containers_are_private_and_soft_delete_is_on(run: StackRun) -> None:
    for container in run.of_type("azure-native:storage:BlobContainer"):
        assert container.inputs["publicAccess"] == "None", f"{run.stack}: container {container.name} must be private"
    services = run.of_type("azure-native:storage:BlobServiceProperties")
    assert len(services) == 2
    days = int(run.config[f"{_p()}:softDeleteDays"])
    for service in services:
        container_policy = service.inputs["containerDeleteRetentionPolicy"]
        assert container_policy == {"enabled": True, "days": days}, f"{run.stack}: {service.name} container soft delete"
    runtime = run.one("azure-native:storage:BlobServiceProperties", "runtime-blob-service").inputs
    assert runtime["deleteRetentionPolicy"] == {"enabled": True, "days": days}, f"{run.stack}: runtime blob soft delete"


def test_deleted_staged_sources_are_not_kept_recoverable(run: StackRun) -> None:
    # Staged sources are full-resolution copies of AEM's originals: once the worker deletes one it must be gone,
    # not soft-deleted for days or kept as a version (issue: "deleted in every outcome").
    service = run.one("azure-native:storage:BlobServiceProperties", "imgix-source-blob-service")
    where = f"{run.stack}: {service.name}"
    assert service.inputs["accountName"] == run.one(ACCOUNT, "imgix-source").physical_name, where
    assert service.inputs["deleteRetentionPolicy"] == {"enabled": False}, f"{where}: blob soft delete must be off"
    assert service.inputs.get("isVersioningEnabled") is False, f"{where}: versioning must be off"
    assert "changeFeed" not in service.inputs and "restorePolicy" not in service.inputs, where


def test_lifecycle_rule_deletes_everything_under_the_staging_prefix(run: StackRun) -> None:
    policy = run.one("azure-native:storage:ManagementPolicy", "imgix-source-lifecycle").inputs
    assert policy["accountName"] == run.one(ACCOUNT, "imgix-source").physical_name
    (rule,) = policy["policy"]["rules"]
    container = run.config[f"{_p()}:sourceContainer"]
    prefix = run.config[f"{_p()}:stagingPrefix"]
    assert rule["enabled"] is True
    assert rule["definition"]["filters"]["prefixMatch"] == [f"{container}/{prefix}/"], f"{run.stack}: {rule['name']}"
    days = rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"]
    assert days == int(run.config[f"{_p()}:stagingRetentionDays"]), f"{run.stack}: lifecycle days"


def test_imgix_sas_is_read_list_https_and_bound_to_the_stored_policy(run: StackRun) -> None:
    policy = run.one("pulumi-python:dynamic/storage:ContainerAccessPolicy", "imgix-sas-policy")
    assert policy.inputs["permission"] == "rl", f"{run.stack}: stored access policy must grant read+list only"
    assert policy.inputs["expiry"] == run.config[f"{_p()}:sasExpiry"]
    assert "account_key" in policy.secret_inputs, f"{run.stack}: the account key must reach the provider as a secret"
    (sas,) = [c.args for c in run.calls if c.token == "azure-native:storage:listStorageAccountServiceSAS"]
    assert sas["identifier"] == policy.inputs["policy_id"] == run.config[f"{_p()}:sasPolicyId"]
    assert sas["protocols"] == "https", f"{run.stack}: SAS must be HTTPS only"
    assert sas["resource"] == "c" and sas["canonicalizedResource"].endswith("/" + policy.inputs["container"])
    # Permission and expiry come from the policy: Azure refuses a SAS that repeats them.
    assert "permissions" not in sas and "sharedAccessExpiryTime" not in sas
    output = run.outputs["imgixSourceSas"]
    assert output.secret, f"{run.stack}: the imgix SAS output must be a secret"
    assert f"si={sas['identifier']}" in output.value


def test_function_app_is_flex_consumption_python_and_locked_down(run: StackRun) -> None:
    plan = run.one("azure-native:web:AppServicePlan", "plan").inputs
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"} and plan["reserved"] is True
    app = run.one(WEB_APP, "worker")
    i, where = app.inputs, f"{run.stack}: function app {app.physical_name}"
    assert i["kind"] == "functionapp,linux", where
    assert i["httpsOnly"] is True, f"{where} must be HTTPS only"
    assert i["identity"]["type"] == "SystemAssigned", f"{where} needs a system-assigned identity"
    site = i["siteConfig"]
    assert site["minTlsVersion"] == "1.2" and site["scmMinTlsVersion"] == "1.2", f"{where}: TLS 1.2"
    # No ftpsState: Flex has no FTPS (test_infra_network); FTP publishing is off through the basic-auth policy below.
    assert site["remoteDebuggingEnabled"] is False, where
    for invalid_on_flex in ("netFrameworkVersion", "linuxFxVersion", "use32BitWorkerProcess", "alwaysOn"):
        assert invalid_on_flex not in site, f"{where}: {invalid_on_flex} is rejected on Flex Consumption"
    config = i["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}, where
    scale = config["scaleAndConcurrency"]
    assert scale["maximumInstanceCount"] == int(run.config[f"{_p()}:maxInstanceCount"]), where
    assert scale["instanceMemoryMB"] == int(run.config[f"{_p()}:instanceMemoryMb"]), where
    storage = config["deployment"]["storage"]
    runtime_account = run.one(ACCOUNT, "runtime").physical_name
    assert storage["authentication"] == {"type": "SystemAssignedIdentity"}, f"{where}: deployment storage by identity"
    assert storage["value"].startswith(f"https://{runtime_account}.blob.core.windows.net/"), where
    for basic_auth in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        (policy,) = run.of_type(basic_auth)
        assert policy.inputs["allow"] is False, f"{run.stack}: {basic_auth} basic-auth publishing must be off"


def test_key_vault_uses_rbac_soft_delete_and_purge_protection_only_in_prod(run: StackRun) -> None:
    vault = run.one("azure-native:keyvault:Vault", "vault")
    p, where = vault.inputs["properties"], f"{run.stack}: key vault {vault.physical_name}"
    assert p["enableRbacAuthorization"] is True, f"{where} must use RBAC"
    assert p["enableSoftDelete"] is True, f"{where} needs soft delete"
    assert p.get("enablePurgeProtection", False) is (run.stack == "prod"), f"{where}: purge protection in prod only"
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", vault.physical_name), f"{where}: invalid name"
    secrets = run.of_type("azure-native:keyvault:Secret")
    assert sorted(s.physical_name for s in secrets) == ["imgix-secure-token", "relay-hmac-key"]
    for secret in secrets:
        assert "properties" in secret.secret_inputs, f"{run.stack}: secret {secret.name}'s value must be a secret"


def test_role_assignments_are_exactly_what_the_worker_needs(run: StackRun) -> None:
    app = run.one(WEB_APP, "worker")
    principal = app.state["identity"]["principalId"]
    ids = {r.name: r.id for r in run.resources}
    names = {guid: name for name, guid in BUILT_IN_ROLES.items()}
    granted = set()
    for assignment in run.of_type("azure-native:authorization:RoleAssignment"):
        i = assignment.inputs
        role = names[i["roleDefinitionId"].rsplit("/", 1)[-1]]
        scope = next(name for name, rid in ids.items() if rid == i["scope"])
        granted.add((role, scope))
        where = f"{run.stack}: role assignment {assignment.name}"
        assert i["principalId"] == principal, f"{where} must be for the worker's identity"
        assert i["principalType"] == "ServicePrincipal", f"{where} needs principal_type (replication delay)"
        assert re.fullmatch(r"[0-9a-f-]{36}", i["roleAssignmentName"]), f"{where}: deterministic GUID name"
    assert granted == {
        # The staging container only: the account holds nothing else the worker may touch.
        ("Storage Blob Data Contributor", "imgix-source-container"),
        ("Storage Blob Data Owner", "runtime"),
        ("Storage Queue Data Contributor", "runtime"),
        ("Key Vault Secrets User", "vault"),
        ("Monitoring Metrics Publisher", "app-insights"),
    }


def test_replay_markers_have_a_private_container_a_lifecycle_rule_and_the_hosts_blob_role(run: StackRun) -> None:
    from imgix_worker.replay_markers import REPLAY_CONTAINER as WORKERS_CONTAINER
    from infra.runtime_storage import REPLAY_CONTAINER

    runtime = run.one(ACCOUNT, "runtime")
    container = run.one("azure-native:storage:BlobContainer", "relay-replays")
    assert container.inputs["containerName"] == REPLAY_CONTAINER == WORKERS_CONTAINER, (
        f"{run.stack}: the container must be the one the worker writes replay markers to"
    )
    assert container.inputs["accountName"] == runtime.physical_name, f"{run.stack}: markers go to the runtime account"
    assert container.inputs["publicAccess"] == "None", f"{run.stack}: {container.name} must be private"
    policy = run.one("azure-native:storage:ManagementPolicy", "runtime-lifecycle").inputs
    assert policy["accountName"] == runtime.physical_name
    (rule,) = policy["policy"]["rules"]
    assert rule["enabled"] is True and rule["definition"]["filters"]["prefixMatch"] == ["relay-replays/"]
    assert rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == 1
    # The worker reaches the markers with the AzureWebJobsStorage identity: a blob data role on that account.
    blob_roles = {BUILT_IN_ROLES["Storage Blob Data Owner"], BUILT_IN_ROLES["Storage Blob Data Contributor"]}
    granted = {
        (a.inputs["scope"], a.inputs["roleDefinitionId"].rsplit("/", 1)[-1])
        for a in run.of_type("azure-native:authorization:RoleAssignment")
    }
    reaches = any(scope in (runtime.id, container.id) and role in blob_roles for scope, role in granted)
    assert reaches, f"{run.stack}: the worker needs blob data access to {REPLAY_CONTAINER}"


def test_monitoring_is_workspace_based_with_entra_auth(run: StackRun) -> None:
    component = run.one("azure-native:applicationinsights:Component", "app-insights").inputs
    workspace = run.one("azure-native:operationalinsights:Workspace", "logs")
    assert component["workspaceResourceId"] == workspace.id
    assert component["disableLocalAuth"] is True, f"{run.stack}: telemetry must need an Entra token"


def test_everything_taggable_carries_the_environment_tags(run: StackRun) -> None:
    for resource in run.resources:
        if resource.typ in TAGGABLE:
            tags = resource.inputs.get("tags") or {}
            assert tags.get("environment") == run.stack, f"{run.stack}: {resource.typ} {resource.name} lacks tags"
            assert tags.get("project") == "aem-imgix-renditions" and tags.get("managed-by") == "pulumi"


def test_queues_match_the_worker(run: StackRun) -> None:
    from imgix_worker.service import JOBS_QUEUE, POISON_QUEUE

    queues = sorted(q.physical_name for q in run.of_type("azure-native:storage:Queue"))
    assert queues == sorted([JOBS_QUEUE, POISON_QUEUE]), f"{run.stack}: queues must match function_app's bindings"


def _p() -> str:
    return "aem-imgix-renditions"
