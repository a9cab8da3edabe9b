"""The hot path's blob calls: authorised as the SDK client they come from (the REST calls themselves run in every
pipeline and fault test, against Azurite)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from imgix_worker.blob_calls import RENEW_BEFORE_SECONDS, STORAGE_SCOPE, BlobCalls
from imgix_worker.transport import http_client


@dataclass
class TokenCredential:
    """An Entra credential as azure-identity's: `get_token(scope)` -> (token, expires_on)."""

    lifetime: float
    scopes: list[str] = field(default_factory=list)

    def get_token(self, scope: str) -> SimpleNamespace:
        self.scopes.append(scope)
        return SimpleNamespace(token=f"token-{len(self.scopes)}", expires_on=time.time() + self.lifetime)


def container(credential: object) -> SimpleNamespace:
    return SimpleNamespace(
        url="https://acct.blob.core.windows.net/imgix", credential=credential, account_name="acct",
        container_name="imgix",
    )  # fmt: skip


def test_a_managed_identity_token_is_fetched_once_and_sent_as_bearer() -> None:
    credential = TokenCredential(lifetime=3600)
    auth = BlobCalls(container(credential), http_client(timeout=10))._auth  # type: ignore[arg-type]
    first: dict[str, str] = {}
    second: dict[str, str] = {}
    assert auth.apply(first) == "" and auth.apply(second) == ""  # no SAS in the URL
    assert first["Authorization"] == second["Authorization"] == "Bearer token-1"
    assert credential.scopes == [STORAGE_SCOPE]


def test_a_token_close_to_expiry_is_renewed_before_use() -> None:
    credential = TokenCredential(lifetime=RENEW_BEFORE_SECONDS - 1)
    auth = BlobCalls(container(credential), http_client(timeout=10))._auth  # type: ignore[arg-type]
    headers: dict[str, str] = {}
    auth.apply(headers)
    auth.apply(headers)
    assert headers["Authorization"] == "Bearer token-2" and len(credential.scopes) == 2


def test_an_account_key_gives_a_container_sas_not_a_header() -> None:
    key = SimpleNamespace(account_name="acct", account_key="a2V5a2V5a2V5a2V5")
    auth = BlobCalls(container(key), http_client(timeout=10))._auth  # type: ignore[arg-type]
    headers: dict[str, str] = {}
    query = auth.apply(headers)
    assert "Authorization" not in headers
    assert "sig=" in query and "sr=c" in query and "spr=https" in query
