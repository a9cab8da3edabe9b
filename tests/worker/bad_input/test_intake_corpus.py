"""Malformed requests at the intake: each gets its HTTP status and a clear JSON message, never a 500 or a stack
trace, and no job is enqueued. Every case runs twice: in-process (`Intake.handle`, logs checked for secrets) and
through the real local host over HTTPS (what AEM's relay would see on the wire)."""

from __future__ import annotations

import json
import random
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from imgix_worker.service import Worker
from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls
from local_platform.worker_host import WorkerHostProcess

from ..conftest import SECURE_TOKEN, JobRunner
from ..faults.support import STACK_TRACE_MARKERS

MAX_REQUEST_BYTES = 1048576  # the default
MAX_RENDITIONS = 50  # the default

Body = Callable[[int], bytes]  # the Azurite blob port -> request body


def url(port: int, blob: str = "k/a.jpg", host: str = "localhost", scheme: str = "https") -> str:
    return f"{scheme}://{host}:{port}/devstoreaccount1/aem/{blob}?sv=2024-01-01&sp=r&sig=c2lnbmF0dXJl"


def target(port: int, i: int = 0, **kw: str) -> str:
    return url(port, f"k/rendition{i}", **kw)


def job(port: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": url(port),
        "renditions": [{"name": "r.png", "fmt": "png", "target": target(port)}],
        "userData": {"asset": "a.jpg"},
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def as_json(make: Callable[[int], object]) -> Body:
    return lambda port: json.dumps(make(port)).encode()


def with_target(value: Callable[[int], object]) -> Body:
    return as_json(lambda p: job(p, renditions=[{"name": "r.png", "fmt": "png", "target": value(p)}]))


def multipart(p: int, **fields: object) -> dict[str, object]:
    return {"urls": [target(p, 0), target(p, 1)], "minPartSize": 10, "maxPartSize": 1024, **fields}


def incompressible_job(port: int) -> bytes:
    """Within the body limit, but more than one queue message holds even compressed (random SAS signatures)."""
    rng = random.Random(5)
    renditions = [
        {
            "name": f"r{i}.png",
            "target": {
                "urls": [target(port, i) + "&n=" + rng.randbytes(60).hex() for _ in range(20)],
                "maxPartSize": 104857600,
            },
        }
        for i in range(MAX_RENDITIONS)
    ]
    body = json.dumps(job(port, renditions=renditions)).encode()
    assert len(body) < MAX_REQUEST_BYTES
    return body


@dataclass(frozen=True)
class Case:
    body: Body
    status: int
    says: str  # a fragment of the message that names the problem
    method: str = "POST"
    recipe: str | None = None
    headers: Callable[[dict[str, str]], dict[str, str]] = field(default=lambda h: h)


def without(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda h: {k: v for k, v in h.items() if k.lower() != name}


def replacing(name: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda h: {**without(name.lower())(h), name: value}


OK_BODY = as_json(job)

CASES: dict[str, Case] = {
    # the body as a whole
    "not-json": Case(lambda p: b"{not json", 400, "must be JSON"),
    "empty-body": Case(lambda p: b"", 400, "must be JSON"),
    "not-utf8": Case(lambda p: b'\xff\xfe{"source": 1}', 400, "must be JSON"),
    "json-array": Case(as_json(lambda p: [job(p)]), 400, "JSON object"),
    "json-string": Case(as_json(lambda p: "source"), 400, "JSON object"),
    "json-null": Case(lambda p: b"null", 400, "JSON object"),
    "json-number": Case(lambda p: b"42", 400, "JSON object"),
    "deeply-nested-array": Case(lambda p: b"[" * 200_000, 400, "must be JSON"),
    "deeply-nested-user-data": Case(
        lambda p: json.dumps(job(p)).encode()[:-1] + b', "x": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_001,
        400,
        "must be JSON",
    ),
    "over-max-request-bytes": Case(
        lambda p: json.dumps(job(p, userData={"pad": "x" * MAX_REQUEST_BYTES})).encode(), 413, "larger than"
    ),
    "too-large-for-a-queue-message": Case(incompressible_job, 413, "queue message"),
    # source
    "no-source": Case(as_json(lambda p: job(p, source=...)), 400, "source is required"),
    "source-empty": Case(as_json(lambda p: job(p, source="")), 400, "source is required"),
    "source-number": Case(as_json(lambda p: job(p, source=42)), 400, "source is required"),
    "source-NaN": Case(
        lambda p: json.dumps(job(p)).replace('"source": "', '"source": NaN, "x": "').encode(), 400, "source"
    ),
    "source-object-without-url": Case(as_json(lambda p: job(p, source={"name": "a.jpg"})), 400, "source.url"),
    "source-name-not-a-string": Case(
        as_json(lambda p: job(p, source={"url": url(p), "name": ["a.jpg"]})), 400, "source.name"
    ),
    "source-http": Case(as_json(lambda p: job(p, source=url(p, scheme="http"))), 400, "https"),
    "source-file-scheme": Case(as_json(lambda p: job(p, source="file:///etc/passwd")), 400, "https"),
    "source-ftp": Case(as_json(lambda p: job(p, source=f"ftp://localhost:{p}/a.jpg")), 400, "https"),
    "source-javascript": Case(as_json(lambda p: job(p, source="javascript:alert(1)")), 400, "https"),
    "source-with-credentials": Case(
        as_json(lambda p: job(p, source=url(p, host="user:secret@localhost"))), 400, "credentials"
    ),
    "source-ip-literal": Case(as_json(lambda p: job(p, source=url(p, host="127.0.0.1"))), 400, "IP address"),
    "source-ipv6-literal": Case(as_json(lambda p: job(p, source=url(p, host="[::1]"))), 400, "IP address"),
    "source-metadata-endpoint": Case(
        as_json(lambda p: job(p, source="https://169.254.169.254/metadata/instance")), 400, "IP address"
    ),
    "source-foreign-host": Case(as_json(lambda p: job(p, source=url(443, host="evil.example"))), 400, "allow-list"),
    "source-allowed-host-other-port": Case(as_json(lambda p: job(p, source=url(1))), 400, "allow-list"),
    "source-lookalike-host": Case(
        as_json(lambda p: job(p, source=url(p, host="localhost.evil.example"))), 400, "allow-list"
    ),
    "source-header-injection": Case(
        as_json(lambda p: job(p, source=url(p) + "\r\nHost: evil.example")), 400, "not a valid URL"
    ),
    "source-port-out-of-range": Case(
        as_json(lambda p: job(p, source="https://localhost:99999/a.jpg")), 400, "not a valid URL"
    ),
    # renditions
    "renditions-missing": Case(as_json(lambda p: job(p, renditions=...)), 400, "renditions must be an array"),
    "renditions-an-object": Case(
        as_json(lambda p: job(p, renditions={"name": "r.png", "target": target(p)})), 400, "must be an array"
    ),
    "renditions-NaN": Case(
        lambda p: json.dumps(job(p)).replace('"renditions": [', '"renditions": NaN, "x": [').encode(),
        400,
        "must be an array",
    ),
    "renditions-empty": Case(as_json(lambda p: job(p, renditions=[])), 400, "must not be empty"),
    "renditions-only-nulls": Case(as_json(lambda p: job(p, renditions=[None, None])), 400, "must not be empty"),
    "rendition-a-string": Case(as_json(lambda p: job(p, renditions=["r.png"])), 400, "renditions[0]"),
    "rendition-without-target": Case(as_json(lambda p: job(p, renditions=[{"name": "r.png"}])), 400, "target"),
    f"{MAX_RENDITIONS + 1}-renditions": Case(
        as_json(lambda p: job(p, renditions=[{"name": f"{i}", "target": target(p, i)} for i in range(51)])),
        400,
        f"at most {MAX_RENDITIONS}",
    ),
    "1000-renditions": Case(
        as_json(lambda p: job(p, renditions=[{"name": f"{i}", "target": target(p, i)} for i in range(1000)])),
        400,
        f"at most {MAX_RENDITIONS}",
    ),
    # targets
    "target-http": Case(with_target(lambda p: target(p, scheme="http")), 400, "https"),
    "target-ip-literal": Case(with_target(lambda p: target(p, host="127.0.0.1")), 400, "IP address"),
    "target-foreign-host": Case(with_target(lambda p: target(443, host="evil.example")), 400, "allow-list"),
    "target-with-credentials": Case(with_target(lambda p: target(p, host="u:p@localhost")), 400, "credentials"),
    "target-a-number": Case(with_target(lambda p: 7), 400, "must be a URL or an object"),
    "target-urls-empty": Case(with_target(lambda p: multipart(p, urls=[])), 400, "non-empty list"),
    "target-urls-one-http": Case(
        with_target(lambda p: multipart(p, urls=[target(p), target(p, 1, scheme="http")])), 400, "urls[1]"
    ),
    "target-no-max-part-size": Case(with_target(lambda p: multipart(p, maxPartSize=None)), 400, "maxPartSize"),
    "target-negative-max-part-size": Case(with_target(lambda p: multipart(p, maxPartSize=-1)), 400, "maxPartSize"),
    "target-NaN-max-part-size": Case(with_target(lambda p: multipart(p, maxPartSize="NaN")), 400, "maxPartSize"),
    "target-boolean-max-part-size": Case(with_target(lambda p: multipart(p, maxPartSize=True)), 400, "maxPartSize"),
    "target-min-over-max-part-size": Case(
        with_target(lambda p: multipart(p, minPartSize=2048, maxPartSize=1024)), 400, "minPartSize"
    ),
    # the request around the body
    "unknown-recipe": Case(OK_BODY, 404, "unknown recipe", recipe="square"),
    "recipe-path-traversal": Case(OK_BODY, 404, "unknown recipe", recipe="../../etc/passwd"),
    "method-get": Case(OK_BODY, 405, "POST", method="GET"),
    "no-token": Case(OK_BODY, 401, "", headers=without("authorization")),
    "not-a-token": Case(OK_BODY, 401, "", headers=replacing("Authorization", "Bearer not.a.token")),
    "basic-auth": Case(OK_BODY, 401, "", headers=replacing("Authorization", "Basic dXNlcjpwYXNz")),
    "foreign-org": Case(OK_BODY, 401, "", headers=replacing("x-gw-ims-org-id", "EVIL@AdobeOrg")),
}


def check_answer(status: int, body: object, case: Case) -> None:
    assert status == case.status, body
    assert isinstance(body, dict) and isinstance(body.get("message"), str), body
    message = body["message"]
    assert case.says in message, message
    assert not any(marker in message for marker in STACK_TRACE_MARKERS), message
    assert "eyJ" not in message and SECURE_TOKEN not in message and "c2lnbmF0dXJl" not in message, message


@pytest.fixture(scope="module")
def host(
    worker_env: dict[str, str], azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerHostProcess]:
    log = tmp_path_factory.mktemp("intake-host") / "host.log"
    environ = worker_env | {"AzureWebJobsStorage": azurite.connection_string}
    with WorkerHostProcess.start(environ=environ, tls=ensure_tls(), log_file=log) as running:
        yield running
    text = log.read_text(errors="replace")
    assert SECURE_TOKEN not in text and "eyJ" not in text and "sig=c2ln" not in text
    assert not any(marker in text for marker in STACK_TRACE_MARKERS), text[-3000:]


@pytest.fixture(scope="module")
def https() -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ensure_tls().ca_cert)), timeout=60) as client:
        yield client


@pytest.mark.parametrize("name", list(CASES))
def test_bad_request(
    name: str,
    worker: Worker,
    runner: JobRunner,
    azurite: Azurite,
    host: WorkerHostProcess,
    https: httpx.Client,
    worker_logs,  # type: ignore[no-untyped-def]
) -> None:
    case = CASES[name]
    body = case.body(azurite.blob_port)
    headers = case.headers(runner.headers())

    result = worker.intake.handle(case.method, headers, body, recipe=case.recipe)
    assert result.message is None  # nothing is enqueued
    check_answer(result.status, result.body, case)

    endpoint = host.url + (f"/{quote(case.recipe, safe='')}" if case.recipe else "")
    answer = https.request(case.method, endpoint, content=body, headers=headers)
    check_answer(answer.status_code, answer.json(), case)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
