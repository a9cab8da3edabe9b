"""The dynamic providers against real parts: the stored access policy against Azurite, OneDeploy and the imgix
Management API against local HTTP fakes (including failures and retries). Waits go through a recording clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import AccessPolicy, BlobServiceClient, ContainerClient

from infra.code_deployment import DeploymentFailed, OneDeployClient, OneDeployProvider
from infra.http_retry import HttpError, RetryPolicy
from infra.imgix_source import AZURE_ATTRIBUTES, ImgixSourceProvider
from infra.package import FUNCTION_APP_DIR, build_package
from infra.stored_access_policy import ContainerAccessPolicyProvider
from local_platform.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from tests.infra.fake_http import Canned, FakeServer


class FakeCredential:
    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("fake-entra-token", 4102444800)


def _policy(waits: list[float], attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=1.0, max_delay=30.0, sleep=waits.append)


# --- stored access policy (Azurite) ---------------------------------------------------------------------------


@pytest.fixture
def container(azurite: Azurite, request: pytest.FixtureRequest) -> ContainerClient:
    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    name = f"sap-{abs(hash(request.node.name)) % 10**8}"
    client = service.create_container(name)
    yield client
    client.delete_container()


def _props(azurite: Azurite, container: ContainerClient, policy_id: str, expiry: str) -> dict[str, str]:
    return {
        "blob_endpoint": azurite.blob_endpoint,
        "account_name": ACCOUNT,
        "account_key": ACCOUNT_KEY,
        "container": container.container_name,
        "policy_id": policy_id,
        "permission": "rl",
        "expiry": expiry,
        "start": None,
    }


def _identifiers(container: ContainerClient) -> dict[str, AccessPolicy]:
    return {i.id: i.access_policy for i in container.get_container_access_policy()["signed_identifiers"]}


@pytest.mark.azurite
def test_stored_access_policy_create_update_rotate_delete(azurite: Azurite, container: ContainerClient) -> None:
    provider = ContainerAccessPolicyProvider({"connection_verify": str(azurite.tls.ca_cert)})
    container.set_container_access_policy({"someone-else": AccessPolicy(permission="r", expiry="2030-01-01T00:00:00Z")})
    v1 = _props(azurite, container, "imgix-v1", "2027-01-01T00:00:00Z")

    created = provider.create(v1)
    assert created.id.endswith("/imgix-v1")
    policies = _identifiers(container)
    assert set(policies) == {"someone-else", "imgix-v1"}, "the provider must keep policies it does not own"
    assert policies["imgix-v1"].permission == "rl"

    later = {**v1, "expiry": "2028-01-01T00:00:00Z"}
    diff = provider.diff(created.id, v1, later)
    assert diff.changes and not diff.replaces
    provider.update(created.id, v1, later)
    assert _identifiers(container)["imgix-v1"].expiry.startswith("2028-01-01")

    v2 = {**later, "policy_id": "imgix-v2"}
    assert provider.diff(created.id, later, v2).replaces == ["policy_id"]
    provider.create(v2)  # rotation: the new policy exists before the old one goes
    assert {"imgix-v1", "imgix-v2"} <= set(_identifiers(container))
    provider.delete(created.id, later)
    assert set(_identifiers(container)) == {"someone-else", "imgix-v2"}, "deleting must revoke only its policy"
    assert "account_key" not in str(provider.diff(created.id, v2, v2))


@pytest.mark.azurite
def test_stored_access_policy_refuses_a_sixth_policy(azurite: Azurite, container: ContainerClient) -> None:
    container.set_container_access_policy(
        {f"p{i}": AccessPolicy(permission="r", expiry="2030-01-01T00:00:00Z") for i in range(5)}
    )
    provider = ContainerAccessPolicyProvider({"connection_verify": str(azurite.tls.ca_cert)})
    with pytest.raises(ValueError, match="allows 5"):
        provider.create(_props(azurite, container, "imgix-v1", "2027-01-01T00:00:00Z"))


@pytest.mark.azurite
def test_stored_access_policy_delete_tolerates_a_missing_container(azurite: Azurite) -> None:
    provider = ContainerAccessPolicyProvider({"connection_verify": str(azurite.tls.ca_cert)})
    props = {
        "blob_endpoint": azurite.blob_endpoint, "account_name": ACCOUNT, "account_key": ACCOUNT_KEY,
        "container": "never-created", "policy_id": "imgix-v1", "permission": "rl", "expiry": "2027-01-01T00:00:00Z",
    }  # fmt: skip
    provider.delete("x", props)


# --- OneDeploy --------------------------------------------------------------------------------------------------


def test_one_deploy_publishes_the_zip_with_a_bearer_token_and_waits(fake_server: FakeServer) -> None:
    fake_server.on("POST", "/api/publish", Canned(202))
    fake_server.on(
        "GET", "/api/deployments/latest", Canned(200, {"id": "d1", "status": 1}), Canned(200, {"id": "d1", "status": 4})
    )
    waits: list[float] = []
    credential = FakeCredential()
    client = OneDeployClient(fake_server.url, credential, policy=_policy(waits), poll_interval=5.0)
    assert client.publish(b"PK-zip", remote_build=True) == "d1"
    post = fake_server.requests[0]
    assert post.path == "/api/publish?RemoteBuild=true" and post.body == b"PK-zip"
    assert post.headers["Authorization"] == "Bearer fake-entra-token"
    assert post.headers["Content-Type"] == "application/zip"
    assert credential.scopes[0] == ("https://management.azure.com/.default",)
    assert waits == [5.0], "one status poll interval between 'building' and 'success'"


def test_one_deploy_retries_5xx_and_honours_retry_after(fake_server: FakeServer) -> None:
    fake_server.on(
        "POST", "/api/publish", Canned(500), Canned(429, headers={"Retry-After": "7"}), Canned(409), Canned(202)
    )
    fake_server.on("GET", "/api/deployments/latest", Canned(200, {"id": "d2", "status": 4}))
    waits: list[float] = []
    client = OneDeployClient(fake_server.url, FakeCredential(), policy=_policy(waits, attempts=5))
    assert client.publish(b"zip") == "d2"
    assert waits == [1.0, 7.0, 4.0], "backoff, then Retry-After, then backoff"
    assert [r.method for r in fake_server.requests] == ["POST"] * 4 + ["GET"]


def test_one_deploy_gives_up_and_reports_failures_without_secrets(fake_server: FakeServer) -> None:
    fake_server.on("POST", "/api/publish", Canned(503))
    client = OneDeployClient(fake_server.url, FakeCredential(), policy=_policy([], attempts=3))
    with pytest.raises(HttpError) as caught:
        client.publish(b"zip")
    assert caught.value.status == 503 and "gave up after 3" in str(caught.value)
    assert "fake-entra-token" not in str(caught.value)

    fake_server.on("POST", "/api/publish", Canned(401))
    with pytest.raises(HttpError) as caught:
        OneDeployClient(fake_server.url, FakeCredential(), policy=_policy([])).publish(b"zip")
    assert caught.value.status == 401

    fake_server.on("POST", "/api/publish", Canned(202))
    fake_server.on(
        "GET", "/api/deployments/latest", Canned(200, {"id": "d3", "status": 3, "status_text": "pip said KEY=v"})
    )
    with pytest.raises(DeploymentFailed) as failed:
        OneDeployClient(fake_server.url, FakeCredential(), policy=_policy([])).publish(b"zip")
    assert "d3" in str(failed.value) and "KEY=v" not in str(failed.value)


def test_one_deploy_provider_redeploys_only_when_the_hash_changes(fake_server: FakeServer) -> None:
    fake_server.on("POST", "/api/publish", Canned(202))
    fake_server.on("GET", "/api/deployments/latest", Canned(200, {"id": "d4", "status": 4}))
    provider = OneDeployProvider(FakeCredential, policy=_policy([]), poll_interval=0.0)
    package = build_package(FUNCTION_APP_DIR)
    props = {
        "scm_url": fake_server.url,
        "package_dir": "function_app",
        "content_hash": package.sha256,
        "remote_build": True,
    }
    created = provider.create(props)
    assert created.outs["deployment_id"] == "d4"
    assert fake_server.requests[0].body == package.content
    assert not provider.diff(created.id, created.outs, props).changes
    changed = provider.diff(created.id, created.outs, {**props, "content_hash": "0" * 64})
    assert changed.changes and not changed.replaces
    assert provider.diff(created.id, created.outs, {**props, "scm_url": "https://other"}).replaces == ["scm_url"]
    with pytest.raises(DeploymentFailed, match="changed between preview and deployment"):
        provider.update(created.id, created.outs, {**props, "content_hash": "0" * 64})
    provider.delete(created.id, created.outs)  # leaves the app alone: no request
    assert len(fake_server.requests) == 2


# --- imgix Management API ------------------------------------------------------------------------------------------


def _source_props(base_url: str) -> dict[str, str]:
    return {
        "name": "aem-imgix-renditions-dev", "subdomain": "aem-renditions-dev", "account_name": "stsrc",
        "container": "imgix-source", "sas_token": "sv=x&sig=SECRETSIG", "api_key": "imgix-api-key",
        "prefix": "", "api_base_url": base_url,
    }  # fmt: skip


def test_imgix_source_create_update_and_disable(fake_server: FakeServer) -> None:
    created_body = {
        "data": {
            "id": "src-1",
            "type": "sources",
            "attributes": {"deployment_status": "deploying", "secure_url_token": "tok"},
        }
    }
    fake_server.on("POST", "/api/v1/sources", Canned(201, created_body))
    fake_server.on("PATCH", "/api/v1/sources/src-1", Canned(200, {"data": {"id": "src-1", "attributes": {}}}))
    provider = ImgixSourceProvider(_policy([]))
    props = _source_props(fake_server.url)
    created = provider.create(props)
    assert created.id == "src-1" and created.outs["secure_url_token"] == "tok"
    post = fake_server.requests[0]
    assert post.headers["Authorization"] == "Bearer imgix-api-key"
    assert post.headers["Content-Type"] == "application/vnd.api+json"
    import json

    deployment = json.loads(post.body)["data"]["attributes"]["deployment"]
    assert deployment["type"] == "azure" and deployment[AZURE_ATTRIBUTES["container"]] == "imgix-source"
    assert deployment[AZURE_ATTRIBUTES["sas"]] == props["sas_token"] and deployment["secure_url_enabled"] is True

    rotated = {**props, "sas_token": "sv=y&sig=NEWSIG"}
    assert provider.diff("src-1", created.outs, rotated).changes
    provider.update("src-1", created.outs, rotated)
    assert json.loads(fake_server.requests[1].body)["data"]["id"] == "src-1"
    provider.delete("src-1", rotated)
    assert json.loads(fake_server.requests[2].body)["data"]["attributes"] == {"enabled": False}


def test_imgix_api_rate_limit_is_retried_and_errors_hold_no_secret(fake_server: FakeServer) -> None:
    fake_server.on(
        "POST", "/api/v1/sources",
        Canned(429, headers={"Retry-After": "2"}), Canned(201, {"data": {"id": "src-2", "attributes": {}}}),
    )  # fmt: skip
    waits: list[float] = []
    assert ImgixSourceProvider(_policy(waits)).create(_source_props(fake_server.url)).id == "src-2"
    assert waits == [2.0]

    fake_server.on("POST", "/api/v1/sources", Canned(422, {"errors": [{"detail": "sas sv=x&sig=SECRETSIG bad"}]}))
    with pytest.raises(HttpError) as caught:
        ImgixSourceProvider(_policy([])).create(_source_props(fake_server.url))
    assert caught.value.status == 422 and len(fake_server.requests) == 3, "a 4xx other than 408/409/429 is final"
    assert "SECRETSIG" not in str(caught.value) and "imgix-api-key" not in str(caught.value)


def test_retry_policy_reads_http_dates_and_caps_waits() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0)
    assert policy.delay(1, None) == 1.0 and policy.delay(4, None) == 8.0 and policy.delay(10, None) == 30.0
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert policy.delay(1, soon) == 30.0
    assert policy.delay(2, "garbage") == 2.0
