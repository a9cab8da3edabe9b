"""Fixtures for the Asset Compute side of the local platform: the Adobe services, a fake worker, a client."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_worker import SMALL_PARTS, FakeWorker

from local_platform.adobe_services import AdobeServices
from local_platform.asset_compute import AssetComputeClient
from local_platform.azurite import Azurite
from local_platform.ims import LOCAL_ORG_ID, LocalIms


@pytest.fixture(scope="session")
def ims() -> LocalIms:
    return LocalIms.load()


@pytest.fixture(scope="session")
def adobe_services(azurite: Azurite, ims: LocalIms) -> Iterator[AdobeServices]:
    with AdobeServices.start(azurite.tls, ims) as services:
        yield services


@pytest.fixture
def fake_worker(azurite: Azurite, ims: LocalIms, adobe_services: AdobeServices) -> Iterator[FakeWorker]:
    worker = FakeWorker(azurite.tls, ims, adobe_services.events_url)
    try:
        yield worker
    finally:
        worker.stop()
    assert worker.violations == []
    assert adobe_services.rejected_calls() == []


@pytest.fixture
def client(
    azurite: Azurite, ims: LocalIms, adobe_services: AdobeServices, fake_worker: FakeWorker
) -> Iterator[AssetComputeClient]:
    with AssetComputeClient(
        connection_string=azurite.connection_string,
        ca_file=azurite.tls.ca_cert,
        worker_url=fake_worker.url,
        journal_url=adobe_services.journal_url,
        ims=ims,
        org_id=LOCAL_ORG_ID,
        targets=SMALL_PARTS,
        event_timeout=30.0,
    ) as c:
        yield c


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """10 000 bytes that are not one repeated block, named like a JPEG so AEM calls it image/jpeg."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(313))[:10_000])
    return path
