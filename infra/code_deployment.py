"""Deploys the worker's code to a Flex Consumption app during `pulumi up`, through the OneDeploy endpoint.

Flex Consumption has no run-from-package and no `/api/zipdeploy`: code goes to
`POST https://<app>.scm.azurewebsites.net/api/publish?RemoteBuild=true` (the platform then builds
`requirements.txt`), and the outcome is read from `GET /api/deployments/latest` (status 4 = success, 3 = failed).
Authentication is an Entra ID bearer token for the management scope from azure-identity's
`DefaultAzureCredential` (the OIDC login in CI, `az login` or a managed identity elsewhere): no `az`/`func` CLI and no
publishing credentials (basic auth stays off).

The dynamic resource's inputs carry the package's content hash, so it redeploys only when the code changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from infra.http_retry import RetryPolicy, request_with_retry
from infra.package import build_package

__all__ = ["DeploymentFailed", "OneDeployClient", "OneDeployProvider", "WorkerCodeDeployment"]

MANAGEMENT_SCOPE = "https://management.azure.com/.default"
_STATUS_FAILED, _STATUS_SUCCESS = 3, 4
_ROOT = Path(__file__).resolve().parent.parent


class TokenCredential(Protocol):
    """The part of azure-core's TokenCredential used here."""

    def get_token(self, *scopes: str) -> Any: ...


class DeploymentFailed(Exception):
    """The platform reported the deployment as failed, or it did not finish in time."""


@dataclass
class OneDeployClient:
    """Publishes a zip to one app's OneDeploy endpoint and waits for the outcome."""

    scm_url: str
    credential: TokenCredential
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    poll_interval: float = 5.0
    poll_attempts: int = 240  # 20 minutes at 5 s: a remote build of the requirements takes a few minutes
    timeout: float = 300.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential.get_token(MANAGEMENT_SCOPE).token}"}

    def publish(self, package: bytes, *, remote_build: bool = True) -> str:
        """Upload `package`, wait until the platform has deployed it, and return the deployment id.

        :raises HttpError: if the upload or a status read fails for good.
        :raises DeploymentFailed: if the deployment fails or does not finish in time.
        """
        base = self.scm_url.rstrip("/")
        with httpx.Client(timeout=self.timeout) as client:
            request_with_retry(
                client,
                "POST",
                f"{base}/api/publish?RemoteBuild={'true' if remote_build else 'false'}",
                policy=self.policy,
                headers=lambda: {**self._headers(), "Content-Type": "application/zip"},
                content=package,
            )
            for _ in range(self.poll_attempts):
                response = request_with_retry(
                    client, "GET", f"{base}/api/deployments/latest", policy=self.policy, headers=self._headers
                )
                status = response.json()
                deployment_id = str(status.get("id", ""))
                if status.get("status") == _STATUS_SUCCESS:
                    return deployment_id
                if status.get("status") == _STATUS_FAILED:
                    # The platform's log may quote settings; point to it instead of copying it here.
                    raise DeploymentFailed(f"deployment {deployment_id} failed; see its log in the Deployment Center")
                self.policy.sleep(self.poll_interval)
        raise DeploymentFailed(f"deployment did not finish after {self.poll_attempts} status checks")


def _default_credential() -> TokenCredential:
    from azure.identity import DefaultAzureCredential  # deploy-time only; not needed to plan or test

    return DefaultAzureCredential()


class OneDeployProvider(ResourceProvider):
    """Dynamic provider: create/update publish the package, delete leaves the app (it goes with its group)."""

    def __init__(
        self,
        credential_factory: Callable[[], TokenCredential] = _default_credential,
        policy: RetryPolicy | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        self.credential_factory = credential_factory
        self.policy = policy or RetryPolicy()
        self.poll_interval = poll_interval

    def _deploy(self, props: dict[str, Any]) -> dict[str, Any]:
        package = build_package(_ROOT / props["package_dir"])
        if package.sha256 != props["content_hash"]:
            raise DeploymentFailed("function_app/ changed between preview and deployment; run `pulumi up` again")
        client = OneDeployClient(
            props["scm_url"], self.credential_factory(), policy=self.policy, poll_interval=self.poll_interval
        )
        deployment_id = client.publish(package.content, remote_build=bool(props.get("remote_build", True)))
        return {**props, "deployment_id": deployment_id}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._deploy(props)
        return CreateResult(id_=f"{props['scm_url']}#{props['content_hash'][:12]}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("scm_url", "package_dir", "content_hash", "remote_build")
        changes = [k for k in keys if olds.get(k) != news.get(k)]
        # A different app is a different deployment; new code for the same app is an in-place redeploy.
        return DiffResult(changes=bool(changes), replaces=[k for k in changes if k == "scm_url"])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._deploy(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        # Nothing to undo: the deployed code is removed together with the function app.
        return None


class WorkerCodeDeployment(pulumi.dynamic.Resource, module="deploy", name="WorkerCodeDeployment"):
    """The worker's code, published to one function app."""

    deployment_id: pulumi.Output[str]
    content_hash: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        scm_url: pulumi.Input[str],
        package_dir: str,
        content_hash: str,
        remote_build: bool = True,
        opts: pulumi.ResourceOptions | None = None,
        provider: OneDeployProvider | None = None,
    ) -> None:
        props = {
            "scm_url": scm_url,
            "package_dir": package_dir,
            "content_hash": content_hash,
            "remote_build": remote_build,
            "deployment_id": None,
        }
        super().__init__(provider or OneDeployProvider(), name, props, opts)
