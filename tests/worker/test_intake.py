"""The intake authenticates before anything else, validates the job's shape, and answers at once."""

from __future__ import annotations

import json
import time

import pytest

from imgix_worker.auth import CLOCK_SKEW_SECONDS, ImsAuthenticator
from imgix_worker.errors import RequestRejected
from imgix_worker.redaction import Secret
from imgix_worker.relay_auth import relay_signature
from imgix_worker.service import Worker
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID, LocalIms

from .conftest import JobRunner, build_worker, image_bytes

RELAY_KEY = "fake-relay-key-for-tests-0123456789abcdef"  # a test fixture, not a real credential


def test_accepted_job_answers_with_an_activation_id_and_a_message(runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(body).encode(), recipe="circle")
    assert result.status == 200 and result.message is not None
    assert set(result.body or {}) == {"activationId"}
    assert runner.worker.intake.handle("OPTIONS", {}, b"").status == 204


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(runner: JobRunner, method: str) -> None:
    result = runner.worker.intake.handle(method, runner.headers(), b"{}")
    assert result.status == 405 and result.message is None


def bad_token_headers(runner: JobRunner, case: str) -> dict[str, str]:
    headers = runner.headers()
    if case == "missing":
        del headers["Authorization"]
    elif case == "not bearer":
        headers["Authorization"] = "Basic dXNlcjpwdw=="
    elif case == "garbage":
        headers["Authorization"] = "Bearer not-a-jwt"
    elif case == "foreign key":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        headers["Authorization"] = "Bearer " + LocalIms(pem).token()
    elif case == "expired":
        headers["Authorization"] = "Bearer " + runner.ims.token(created_at=time.time() - 7200, expires_in_seconds=3600)
    elif case == "other client":
        headers["Authorization"] = "Bearer " + runner.ims.token(client_id="someone-else")
    elif case == "other org":
        headers["x-gw-ims-org-id"] = "OTHER@AdobeOrg"
    elif case == "no org":
        del headers["x-gw-ims-org-id"]
    return headers


@pytest.mark.parametrize(
    "case", ["missing", "not bearer", "garbage", "foreign key", "expired", "other client", "other org", "no org"]
)
def test_bad_credentials_are_401_with_a_json_message(runner: JobRunner, case: str) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    headers = bad_token_headers(runner, case)
    result = runner.worker.intake.handle("POST", headers, json.dumps(body).encode())
    assert result.status == 401 and result.message is None
    assert isinstance(result.body, dict) and result.body["message"]
    assert "eyJ" not in json.dumps(result.body)


def test_bad_jobs_are_400_naming_the_field_and_nothing_is_queued(runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    for mutate, field in [
        (lambda b: b.update(source="https://169.254.169.254/latest/meta-data"), "source"),
        (lambda b: b["renditions"][0].update(target="http://localhost/x"), "renditions[0].target"),
        (lambda b: b.update(renditions=[]), "renditions"),
    ]:
        copy = json.loads(json.dumps(body))
        mutate(copy)
        result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(copy).encode())
        assert result.status == 400 and result.message is None
        assert field in str(result.body["message"])  # type: ignore[index]
    for body in (b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe\x00"):
        result = runner.worker.intake.handle("POST", runner.headers(), body)
        assert result.status == 400 and result.message is None


def test_oversized_bodies_are_413(runner: JobRunner) -> None:
    result = runner.worker.intake.handle("POST", runner.headers(), b" " * (1024 * 1024 + 1))
    assert result.status == 413


def test_the_size_is_checked_before_the_token_and_the_signature(runner: JobRunner, relayed: Worker) -> None:
    # Neither a token nor a signature: the 413 still comes first, before anything reads or hashes the body.
    big = b" " * (1024 * 1024 + 1)
    forged = {
        "x-request-id": "r",
        "x-relay-timestamp": str(int(time.time())),
        "x-relay-signature": "sha256=" + "0" * 64,
    }
    for worker in (runner.worker, relayed):
        assert worker.intake.handle("POST", forged, big).status == 413
        # The declared length counts too (a host that buffers less than it was promised).
        assert worker.intake.handle("POST", {**forged, "Content-Length": str(len(big))}, b"{}").status == 413


def test_unknown_recipe_on_the_path_is_404(runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    result = runner.worker.intake.handle("POST", runner.headers(), json.dumps(body).encode(), recipe="hexagon")
    assert result.status == 404


@pytest.fixture(scope="module")
def relayed(worker_env: dict[str, str]) -> Worker:
    return build_worker({**worker_env, "RELAY_HMAC_KEY": RELAY_KEY})


def signed(headers: dict[str, str], body: bytes, *, ts: float | None = None, key: str = RELAY_KEY) -> dict[str, str]:
    stamp = str(int(ts if ts is not None else time.time()))
    signature = relay_signature(Secret(key), stamp, headers["x-request-id"], body)
    return {**headers, "x-relay-timestamp": stamp, "x-relay-signature": signature, "x-relay-activation-id": "relay-1"}


def test_relayed_calls_must_be_signed(runner: JobRunner, relayed: Worker) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png"}])
    data = json.dumps(body).encode()
    good = signed(runner.headers(), data)
    accepted = relayed.intake.handle("POST", good, data)
    assert accepted.status == 200 and accepted.message is not None
    assert json.loads(accepted.message)["activationIds"][0] == "relay-1"
    for headers in [
        runner.headers(),  # unsigned
        signed(runner.headers(), data, key="another-key-of-enough-length-000000000"),
        signed(runner.headers(), data, ts=time.time() - 301),  # stale
        good,  # replayed
        signed(runner.headers(), data + b" "),  # body changed after signing
    ]:
        rejected = relayed.intake.handle("POST", headers, data)
        assert rejected.status == 401 and rejected.message is None


def test_a_relayed_call_with_a_bad_signature_is_refused_before_the_token_is_checked(
    runner: JobRunner, relayed: Worker
) -> None:
    headers = {**runner.headers(), "Authorization": "Bearer garbage", "x-gw-ims-org-id": LOCAL_ORG_ID}
    result = relayed.intake.handle("POST", headers, b"{}")
    assert result.status == 401 and result.body == {"message": "unauthorized"}


def test_a_remembered_token_is_still_refused_once_it_expires(runner: JobRunner) -> None:
    # The Asset Compute service sends one token with many jobs: its signature is verified once, its lifetime always.
    now = [time.time()]
    authenticator = ImsAuthenticator(
        runner.services.jwks_url,
        org_ids=(LOCAL_ORG_ID,),
        client_ids=(LOCAL_CLIENT_ID,),
        ca_bundle=runner.worker.settings.tls_ca_bundle,
        clock=lambda: now[0],
    )
    headers = {"authorization": "Bearer " + runner.ims.token(expires_in_seconds=600), "x-gw-ims-org-id": LOCAL_ORG_ID}
    assert authenticator.authenticate(headers).client_id == LOCAL_CLIENT_ID
    assert authenticator.authenticate(headers).client_id == LOCAL_CLIENT_ID  # remembered
    now[0] += 600 + CLOCK_SKEW_SECONDS + 1
    with pytest.raises(RequestRejected, match="Token expired"):
        authenticator.authenticate(headers)
    other_org = {**headers, "x-gw-ims-org-id": "OTHER@AdobeOrg"}
    now[0] = time.time()
    with pytest.raises(RequestRejected, match="Organization"):
        authenticator.authenticate(other_org)  # the org is checked on every request, remembered token or not
