"""The CI workflow (actionlint and its deployment policy), `infra.plan`, `infra.audit` and `infra.relay_env`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from infra.arm_export import to_arm_template
from infra.audit import Finding, Suppression, load_suppressions, triage
from infra.lint_workflows import WORKFLOWS_DIR, lint_workflows
from infra.mock_run import StackRun
from infra.plan import MASK, format_plan
from infra.relay_env import render_env, write_env_file


def test_workflows_pass_actionlint() -> None:
    findings = lint_workflows(sorted(WORKFLOWS_DIR.glob("*.yml")))
    assert findings == [], "\n".join(map(str, findings))


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope( }}\n"
    )
    assert lint_workflows([broken]), "actionlint must report the broken expression"


def _workflow(name: str) -> dict:
    # PyYAML reads the key `on` as True.
    return yaml.safe_load((WORKFLOWS_DIR / name).read_text(encoding="utf-8"))


def test_pipeline_previews_prs_and_deploys_stage_before_gated_prod() -> None:
    main = _workflow("infra.yml")
    assert set(main[True]) >= {"pull_request", "push"}
    jobs = main["jobs"]
    assert jobs["preview"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["preview"]["with"]["stack"] == "dev"
    assert jobs["preview-protected"]["strategy"]["matrix"]["stack"] == ["stage", "prod"]
    assert jobs["deploy-dev"]["if"].endswith("github.ref == 'refs/heads/main'")
    assert jobs["deploy-stage"]["needs"] == "deploy-dev" and jobs["deploy-prod"]["needs"] == "deploy-stage"
    assert jobs["deploy-prod"]["with"]["stack"] == "prod"
    deploy = _workflow("infra-deploy.yml")["jobs"]["up"]
    assert deploy["environment"] == "${{ inputs.stack }}", "prod's approval comes from its GitHub environment"
    preview = _workflow("infra-preview.yml")["jobs"]["preview"]
    assert preview["environment"] == "${{ inputs.stack }}-preview"


# A job runs on pull requests unless its `if` (or that of a job it needs) rules them out.
_PROTECTED_ONLY = ("github.event_name == 'push'", "github.ref == 'refs/heads/main'")


def _runs_on_pull_requests(jobs: dict, name: str) -> bool:
    job = jobs[name]
    condition = str(job.get("if", ""))
    if condition == "github.event_name == 'pull_request'":
        return True
    if any(part in condition for part in _PROTECTED_ONLY) and "pull_request" not in condition:
        return False
    needs = job.get("needs") or []
    needs = [needs] if isinstance(needs, str) else needs
    return all(_runs_on_pull_requests(jobs, need) for need in needs)


def _reaches_secrets(job: dict) -> bool:
    """Whether a job gets an environment's secrets: it names them or hands them to a reusable workflow."""
    text = yaml.safe_dump(job)
    return "secrets." in text or job.get("secrets") == "inherit" or "environment" in job


def test_no_pull_request_job_reaches_stage_or_prod_secrets() -> None:
    # A PR runs its own infra/ code: with prod's OIDC identity and passphrase it could do anything prod can.
    for name in sorted(WORKFLOWS_DIR.glob("*.yml")):
        workflow = _workflow(name.name)
        if "pull_request" not in workflow[True] and "pull_request_target" not in workflow[True]:
            continue
        assert "pull_request_target" not in workflow[True], f"{name.name}: pull_request_target runs with secrets"
        jobs = workflow["jobs"]
        for job_name, job in jobs.items():
            if not _runs_on_pull_requests(jobs, job_name) or not _reaches_secrets(job):
                continue
            text = yaml.safe_dump(job)
            stacks = set((job.get("strategy") or {}).get("matrix", {}).get("stack", []))
            stacks |= {str((job.get("with") or {}).get("stack", ""))} - {""}
            assert stacks == {"dev"}, f"{name.name}: job {job_name} runs on pull requests for {sorted(stacks)}"
            assert "prod" not in text and "stage" not in text, f"{name.name}: job {job_name} names stage/prod"


def test_the_policy_test_catches_a_prod_preview_on_pull_requests(tmp_path: Path) -> None:
    jobs = {
        "checks": {"runs-on": "ubuntu-latest"},
        "preview": {"if": "github.event_name == 'pull_request'", "needs": "checks", "environment": "prod-preview"},
        "deploy": {"if": "github.event_name == 'push' && github.ref == 'refs/heads/main'", "environment": "prod"},
        "after": {"needs": "deploy", "secrets": "inherit"},
    }
    assert _runs_on_pull_requests(jobs, "preview") and _reaches_secrets(jobs["preview"])
    assert not _runs_on_pull_requests(jobs, "deploy") and not _runs_on_pull_requests(jobs, "after")
    assert _runs_on_pull_requests(jobs, "checks") and not _reaches_secrets(jobs["checks"])


def test_azure_login_is_oidc_with_no_stored_credential() -> None:
    for name in ("infra.yml", "infra-deploy.yml"):
        text = (WORKFLOWS_DIR / name).read_text(encoding="utf-8")
        assert "client-secret" not in text and "AZURE_CREDENTIALS" not in text and "creds:" not in text, name
        for job in _workflow(name)["jobs"].values():
            logins = [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith("azure/login@")]
            for login in logins:
                assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, name
                assert job["permissions"]["id-token"] == "write", f"{name}: OIDC needs id-token: write"


def test_plan_masks_secrets(stack_runs: dict[str, StackRun]) -> None:
    run = stack_runs["dev"]
    text = format_plan(run)
    assert "func-aemimgix-dev" in text and "sharedKey=False" in text and "purgeProtection=False" in text
    assert MASK in text
    for secret in (*run.secret_values, run.outputs["imgixSourceSas"].value):
        assert secret not in text
    assert run.outputs["relayDeployEnv"].value["RELAY_HMAC_KEY"] not in text


def test_arm_export_uses_arm_names_and_drops_secret_values(stack_runs: dict[str, StackRun]) -> None:
    template = to_arm_template(stack_runs["prod"].resources)
    by_type = {}
    for resource in template["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
    account = by_type["Microsoft.Storage/storageAccounts"][0]
    assert account["properties"]["supportsHttpsTrafficOnly"] is True and "networkAcls" in account["properties"]
    assert account["sku"]["name"] and account["kind"] == "StorageV2"
    site = by_type["Microsoft.Web/sites"][0]
    assert site["identity"]["type"] == "SystemAssigned" and site["properties"]["httpsOnly"] is True
    for secret in by_type["Microsoft.KeyVault/vaults/secrets"]:
        assert "value" not in secret["properties"]
    assert stack_runs["prod"].secret_values[0] not in str(template)


def test_every_suppression_has_a_reason_and_only_covers_what_it_names() -> None:
    suppressions = load_suppressions()
    assert suppressions and all(len(s.reason) >= 20 for s in suppressions)
    prod_vault = Finding("prod", "CKV_AZURE_110", "Microsoft.KeyVault/vaults.kv-aemimgix-prod-f7fd18", "purge")
    dev_vault = Finding("dev", "CKV_AZURE_110", "Microsoft.KeyVault/vaults.kv-aemimgix-dev-bc2c91", "purge")
    open_findings, accepted, _ = triage([prod_vault, dev_vault], suppressions)
    assert open_findings == [prod_vault], "purge protection may be waived for dev/stage only"
    assert [f for f, _ in accepted] == [dev_vault]
    other = Suppression("CKV_X", ("Microsoft.Web/sites.*",), "a reason long enough to count")
    assert triage([], [other])[2] == [other]


def test_relay_env_file_is_private_and_complete(tmp_path: Path) -> None:
    values = {
        "WORKER_URL": "https://func-x.azurewebsites.net/api/worker",
        "ORG_ID": "O@AdobeOrg",
        "RELAY_HMAC_KEY": "k" * 64,
    }
    path = tmp_path / "relay" / ".env"
    path.parent.mkdir()
    path.write_text("old")
    os.chmod(path, 0o644)
    write_env_file(path, render_env(values))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().splitlines() == [f"{k}={v}" for k, v in values.items()]
    with pytest.raises(ValueError, match="RELAY_HMAC_KEY"):
        render_env({**values, "RELAY_HMAC_KEY": ""})
    with pytest.raises(ValueError, match="ORG_ID"):
        render_env({**values, "ORG_ID": "has space"})


def test_relay_env_keeps_what_aio_app_use_wrote(tmp_path: Path) -> None:
    existing = "AIO_RUNTIME_NAMESPACE=12345-aemimgix-dev\nAIO_RUNTIME_AUTH=fake-runtime-auth\nWORKER_URL=https://old\n"
    values = {
        "WORKER_URL": "https://func-x.azurewebsites.net/api/worker",
        "ORG_ID": "O@AdobeOrg",
        "RELAY_HMAC_KEY": "k" * 64,
    }
    lines = render_env(values, existing).splitlines()
    assert lines[:2] == ["AIO_RUNTIME_NAMESPACE=12345-aemimgix-dev", "AIO_RUNTIME_AUTH=fake-runtime-auth"]
    assert lines[2:] == [f"{k}={v}" for k, v in values.items()]


def test_callers_grant_what_their_reusable_workflows_request() -> None:
    # GitHub refuses a called job asking for more than its caller job has (here: id-token for the OIDC login).
    for name in sorted(WORKFLOWS_DIR.glob("*.yml")):
        for job_name, job in _workflow(name.name)["jobs"].items():
            called = str(job.get("uses", ""))
            if not called.startswith("./.github/workflows/"):
                continue
            granted = job.get("permissions") or {}
            for called_job in _workflow(Path(called).name)["jobs"].values():
                for scope, level in (called_job.get("permissions") or {}).items():
                    assert granted.get(scope) in (level, "write"), f"{name.name}: {job_name} must grant {scope}"


def test_public_access_of_the_runtime_account_and_vault_is_accepted_only_without_network_isolation() -> None:
    suppressions = load_suppressions()
    resources = {
        "runtime": "Microsoft.Storage/storageAccounts.stfnaemimgix{env}",
        "vault": "Microsoft.KeyVault/vaults.kv-aemimgix-{env}-abc123",
        "source": "Microsoft.Storage/storageAccounts.stsrcaemimgix{env}",
    }
    checks = {"runtime": ("CKV_AZURE_59", "CKV_AZURE_35"), "vault": ("CKV_AZURE_109", "CKV_AZURE_189")}
    checks["source"] = checks["runtime"]
    for stack in ("dev", "stage", "prod"):
        for what, pattern in resources.items():
            for check in checks[what]:
                finding = Finding(stack, check, pattern.format(env=stack), "public network access")
                open_findings, _, _ = triage([finding], suppressions)
                # prod has networkIsolation: its runtime account and vault must pass; imgix's source stays public.
                expected_open = stack == "prod" and what != "source"
                assert bool(open_findings) is expected_open, f"{stack} {check} on {what}"


def test_a_suppression_naming_an_unknown_stack_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.yaml"
    path.write_text("- id: CKV_X\n  stacks: [production]\n  reason: a reason long enough to count\n", encoding="utf-8")
    with pytest.raises(ValueError, match="production"):
        load_suppressions(path)
