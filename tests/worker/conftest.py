"""Real parts for worker tests: Azurite, the local renderer, Adobe's services stand-in, and a Worker built from
settings exactly as the Functions host builds it. Jobs go through `Intake.handle` and `Worker.process_message`."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from imgix_worker.service import Worker
from imgix_worker.settings import Settings
from local_platform.adobe_services import AdobeServices
from local_platform.asset_compute_storage import AemStorage, TargetOptions
from local_platform.azurite import Azurite
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID, LocalIms
from local_platform.platform import IMGIX_CONTAINER, IMGIX_DOMAIN, _imgix_source_sas
from local_platform.renderer.process import RendererProcess
from local_platform.tls import ensure_tls

SECURE_TOKEN = "fake-imgix-secure-token-for-tests"  # a test fixture, not a real credential


@pytest.fixture(scope="session")
def services() -> Iterator[AdobeServices]:
    with AdobeServices.start(ensure_tls(), LocalIms.load(), org_id=LOCAL_ORG_ID) as running:
        yield running


@pytest.fixture(scope="session")
def renderer(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RendererProcess]:
    log = tmp_path_factory.mktemp("renderer") / "renderer.log"
    with RendererProcess.start(
        container_url=f"{azurite.blob_endpoint}/{IMGIX_CONTAINER}",
        sas=_imgix_source_sas(azurite),
        secure_token=SECURE_TOKEN,
        tls=azurite.tls,
        log_file=log,
    ) as running:
        yield running


@pytest.fixture(scope="session")
def worker_env(azurite: Azurite, services: AdobeServices, renderer: RendererProcess) -> dict[str, str]:
    return {
        "IMGIX_DOMAIN": IMGIX_DOMAIN,
        "IMGIX_SECURE_TOKEN": SECURE_TOKEN,
        "IMGIX_BASE_URL": renderer.url,
        "IMGIX_SOURCE_CONNECTION_STRING": azurite.connection_string,
        "IMGIX_SOURCE_CONTAINER": IMGIX_CONTAINER,
        "STAGING_PREFIX": "tests",
        "ALLOWED_HOSTS": f"localhost:{azurite.blob_port}",
        "IMS_JWKS_URL": services.jwks_url,
        "IMS_ORG_IDS": LOCAL_ORG_ID,
        "IMS_CLIENT_IDS": LOCAL_CLIENT_ID,
        "EVENTS_URL": services.events_url,
        "TLS_CA_BUNDLE": str(azurite.tls.ca_cert),
        "JOB_DEADLINE_SECONDS": "60",
        "AzureWebJobsStorage": azurite.connection_string,  # the host's storage, as the local worker host gets it
    }


def blob_connection_via(azurite: Azurite, port: int) -> str:
    """Azurite's connection string with its blob endpoint moved to `port` (a fault proxy in front of it)."""
    return azurite.connection_string.replace(f"//localhost:{azurite.blob_port}/", f"//localhost:{port}/")


def build_worker(environ: dict[str, str]) -> Worker:
    """A worker as `get_worker` builds it from the app's settings. Never closed: like the Functions host, which
    ends the worker process rather than closing its clients, the test process's end releases its connections."""
    return Worker.from_settings(Settings.from_env(environ))


@pytest.fixture(scope="session")
def worker(worker_env: dict[str, str]) -> Worker:
    return build_worker(worker_env)


@pytest.fixture(scope="session")
def aem(azurite: Azurite) -> Iterator[AemStorage]:
    storage = AemStorage(azurite.connection_string, ca_file=azurite.tls.ca_cert)
    storage.ensure_container()
    yield storage
    storage.close()


@pytest.fixture(scope="session")
def imgix_container(azurite: Azurite):  # type: ignore[no-untyped-def]
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    yield service.get_container_client(IMGIX_CONTAINER)
    service.close()


AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # public
_UNMASKED_SIGNATURE = re.compile(r"[?&;](?:sig|s)=(?!\*{10})[^&\s\"']")


def record_text(record: logging.LogRecord) -> str:
    """What a handler prints of `record` (message, exception text, stack), as the Functions worker's does."""
    return logging.Formatter().format(record)


def leaks(records: list[logging.LogRecord], *secrets: str) -> list[str]:
    """The records (of any logger) that carry a SAS or imgix signature, a JWT, an account key or one of `secrets`."""
    found = []
    for record in records:
        text = record_text(record)
        if (
            _UNMASKED_SIGNATURE.search(text)
            or "eyJ" in text
            or AZURITE_KEY in text
            or "AccountKey=" in text.replace("AccountKey=**********", "")
            or any(secret in text for secret in (SECURE_TOKEN, *secrets) if secret)
        ):
            found.append(f"{record.name}: {text}")
    return found


@pytest.fixture(autouse=True)
def worker_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, as the Functions worker forwards them to Application Insights (root logger at
    INFO, one handler on root); afterwards, none may carry a credential."""
    caplog.set_level(logging.INFO)
    yield caplog
    assert leaks(caplog.records) == []


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (320, 240), mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, (200, 80, 40) if mode == "RGB" else (200, 80, 40, 255))
    for x in range(0, size[0], 20):
        for y in range(0, size[1], 20):
            if (x + y) // 20 % 2:
                image.putpixel((x, y), (0, 0, 0) if mode == "RGB" else (0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@dataclass
class Submitted:
    """A job sent through the intake and processed, with what came of it."""

    status: int
    body: dict[str, object] | None
    request_id: str
    events: list[dict[str, object]]
    blobs: list[str]
    message: str | None


@dataclass
class JobRunner:
    """Builds AEM-like jobs (source in Azurite, pre-signed targets) and runs them through a worker."""

    worker: Worker
    aem: AemStorage
    services: AdobeServices
    ims: LocalIms
    tmp: Path

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.ims.token()}",
            "x-gw-ims-org-id": LOCAL_ORG_ID,
            "x-request-id": str(uuid.uuid4()),
            "Content-Type": "application/json",
            **extra,
        }

    def job(
        self,
        source: bytes,
        renditions: list[dict[str, object]],
        *,
        targets: TargetOptions | None = None,
        name: str = "a.jpg",
    ) -> tuple[dict[str, object], list[str]]:
        key = uuid.uuid4().hex
        path = self.tmp / f"{key}-{name}"
        path.write_bytes(source)
        url = self.aem.upload_source(path, blob_name=f"{key}/{name}", content_type="image/jpeg")
        blobs, sent = [], []
        for i, rendition in enumerate(renditions):
            blob = f"{key}/rendition{i}"
            sent.append(
                {
                    **rendition,
                    "worker": "https://relay.example/worker",
                    "target": self.aem.make_target(
                        blob, targets or TargetOptions(estimated_size=1024 * 1024, min_part_size=1024 * 1024)
                    ),
                }
            )
            blobs.append(blob)
        return {"source": url, "renditions": sent, "userData": {"asset": name}}, blobs

    def run(
        self,
        source: bytes,
        renditions: list[dict[str, object]],
        *,
        worker: Worker | None = None,
        targets: TargetOptions | None = None,
        recipe: str | None = None,
        name: str = "a.jpg",
    ) -> Submitted:
        worker = worker or self.worker
        body, blobs = self.job(source, renditions, targets=targets, name=name)
        headers = self.headers()
        result = worker.intake.handle("POST", headers, json.dumps(body).encode(), recipe=recipe)
        events: list[dict[str, object]] = []
        if result.message is not None:
            worker.process_message(result.message)
            events = self.services.events(headers["x-request-id"])
        return Submitted(result.status, result.body, headers["x-request-id"], events, blobs, result.message)

    def commit_and_read(self, blob: str) -> bytes:
        self.aem.commit_blocks(blob)
        out = self.tmp / (blob.replace("/", "_") + ".out")
        assert self.aem.download(blob, out) is not None
        return out.read_bytes()


@pytest.fixture
def runner(worker: Worker, aem: AemStorage, services: AdobeServices, tmp_path: Path) -> JobRunner:
    return JobRunner(worker, aem, services, LocalIms.load(), tmp_path)
