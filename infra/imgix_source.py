"""The environment's imgix source, created and updated through imgix's Management API (a Pulumi dynamic resource).

JSON:API at `https://api.imgix.com/api/v1/sources`, bearer API key with the Sources permission. There is no
DELETE: deleting the resource disables the source (as imgix's own tooling does). Rate limits are tight (60 source
creates/updates an hour, 4 requests a second), so 429s are retried, honouring Retry-After.

Only used when the stack sets `manageImgixSource`; otherwise the stack outputs list the dashboard steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from infra.http_retry import RetryPolicy, request_with_retry

__all__ = ["AZURE_ATTRIBUTES", "ImgixApiClient", "ImgixSource", "ImgixSourceArgs", "ImgixSourceProvider"]

API_BASE_URL = "https://api.imgix.com"
JSON_API = "application/vnd.api+json"

# Names of the Azure deployment attributes. UNVERIFIED: imgix documents only `azure_bucket` (as a filter key);
# the others follow the documented S3 pattern (`s3_bucket`, `s3_prefix`, ...). Before relying on this resource,
# create one Azure source in the dashboard, `GET /api/v1/sources/<id>` and correct these constants.
AZURE_ATTRIBUTES = {
    "type": "azure",
    "account": "azure_account",
    "container": "azure_bucket",
    "sas": "azure_sas",
    "prefix": "azure_prefix",
}


class ImgixSourceArgs:
    """Inputs: the source's name and subdomain, the Azure container it reads, and the secret SAS and API key."""

    def __init__(
        self,
        *,
        name: pulumi.Input[str],
        subdomain: pulumi.Input[str],
        account_name: pulumi.Input[str],
        container: pulumi.Input[str],
        sas_token: pulumi.Input[str],
        api_key: pulumi.Input[str],
        prefix: pulumi.Input[str] = "",
        api_base_url: str = API_BASE_URL,
    ) -> None:
        self.name = name
        self.subdomain = subdomain
        self.account_name = account_name
        self.container = container
        self.sas_token = sas_token
        self.api_key = api_key
        self.prefix = prefix
        self.api_base_url = api_base_url

    def props(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class ImgixApiClient:
    """The few Management API calls a source needs."""

    base_url: str
    api_key: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 30.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": JSON_API, "Accept": JSON_API}

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        with httpx.Client(timeout=self.timeout) as client:
            response = request_with_retry(
                client, method, f"{self.base_url.rstrip('/')}/api/v1/{path}", policy=self.policy,
                headers=self._headers, json=body,
            )  # fmt: skip
        return response.json()["data"]

    def create_source(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """Create (and deploy) a source; return its JSON:API resource object."""
        return self._send("POST", "sources", {"data": {"type": "sources", "attributes": attributes}})

    def update_source(self, source_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
        """Change a source's attributes; imgix redeploys it when the deployment changes."""
        body = {"data": {"type": "sources", "id": source_id, "attributes": attributes}}
        return self._send("PATCH", f"sources/{source_id}", body)


def source_attributes(props: dict[str, Any], *, enabled: bool = True) -> dict[str, Any]:
    """The source's attributes from the resource's inputs."""
    deployment = {
        "type": AZURE_ATTRIBUTES["type"],
        "imgix_subdomains": [props["subdomain"]],
        AZURE_ATTRIBUTES["account"]: props["account_name"],
        AZURE_ATTRIBUTES["container"]: props["container"],
        AZURE_ATTRIBUTES["sas"]: props["sas_token"],
        AZURE_ATTRIBUTES["prefix"]: props.get("prefix") or "",
        # The worker signs every URL, so unsigned requests are refused.
        "secure_url_enabled": True,
    }
    return {"name": props["name"], "enabled": enabled, "deployment": deployment}


class ImgixSourceProvider(ResourceProvider):
    """Create = POST, update = PATCH, delete = PATCH `enabled: false`."""

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy(attempts=5, base_delay=2.0)

    def _client(self, props: dict[str, Any]) -> ImgixApiClient:
        if not props.get("api_key"):
            raise ValueError("imgixApiKey is empty: set it with `pulumi config set --secret imgixApiKey <key>`")
        return ImgixApiClient(props["api_base_url"], props["api_key"], policy=self.policy)

    @staticmethod
    def _outs(props: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        attributes = data.get("attributes") or {}
        return {
            **props,
            "source_id": str(data["id"]),
            "deployment_status": attributes.get("deployment_status", ""),
            "secure_url_token": attributes.get("secure_url_token") or "",
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        data = self._client(props).create_source(source_attributes(props))
        return CreateResult(id_=str(data["id"]), outs=self._outs(props, data))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = ("name", "subdomain", "account_name", "container", "sas_token", "prefix", "api_base_url", "api_key")
        changed = [k for k in keys if olds.get(k) != news.get(k)]
        # Everything is PATCHable; a new API base URL means another imgix account, hence another source.
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "api_base_url"])

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        data = self._client(news).update_source(id_, source_attributes(news))
        return UpdateResult(outs=self._outs(news, data))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._client(props).update_source(id_, {"enabled": False})


class ImgixSource(pulumi.dynamic.Resource, module="imgix", name="Source"):
    """One imgix source reading an Azure blob container."""

    source_id: pulumi.Output[str]
    deployment_status: pulumi.Output[str]
    secure_url_token: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ImgixSourceArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: ImgixSourceProvider | None = None,
    ) -> None:
        props = {**args.props(), "source_id": None, "deployment_status": None, "secure_url_token": None}
        secret = pulumi.ResourceOptions(additional_secret_outputs=["sas_token", "api_key", "secure_url_token"])
        super().__init__(provider or ImgixSourceProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
