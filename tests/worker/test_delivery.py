"""Delivery to AEM targets: AEM's part-size rule, and real uploads to Azurite (single PUT and block parts)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from imgix_worker.delivery import PREFERRED_PART_SIZE, deliver, plan_parts
from imgix_worker.errors import GenericError, RenditionTooLarge
from imgix_worker.pooled_http import HttpClient
from imgix_worker.rendering import Rendition
from imgix_worker.transport import Deadline, http_client
from local_platform.azurite import ACCOUNT, ACCOUNT_KEY, Azurite

MiB = 1024 * 1024


def multipart(n: int, *, low: int, high: int) -> dict[str, object]:
    return {"urls": [f"https://h.blob.core.windows.net/c/b?comp=block&blockid={i}" for i in range(n)],
            "minPartSize": low, "maxPartSize": high}  # fmt: skip


def test_single_target_is_one_put() -> None:
    assert [(p.offset, p.length) for p in plan_parts(1234, "https://h/x")] == [(0, 1234)]


def test_parts_just_under_at_and_over_capacity() -> None:
    target = multipart(3, low=10, high=100)
    under = plan_parts(299, target)
    assert [p.length for p in under] == [100, 100, 99]
    at = plan_parts(300, target)
    assert [p.length for p in at] == [100, 100, 100]
    assert [p.url for p in at] == target["urls"]  # type: ignore[comparison-overlap]
    with pytest.raises(RenditionTooLarge, match="301 bytes"):
        plan_parts(301, target)


def test_preferred_part_size_means_fewer_parts_than_urls() -> None:
    target = multipart(50, low=10 * MiB, high=200 * MiB)
    parts = plan_parts(250 * MiB, target)
    assert [p.length for p in parts] == [PREFERRED_PART_SIZE, PREFERRED_PART_SIZE, 50 * MiB]


def test_min_part_size_wins_for_small_files() -> None:
    parts = plan_parts(25, multipart(5, low=10, high=100))
    assert [p.length for p in parts] == [25]


def spool(data: bytes, mimetype: str = "image/png") -> Rendition:
    return Rendition(file=io.BytesIO(data), size=len(data), sha1=hashlib.sha1(data).hexdigest(), mimetype=mimetype,
                     width=None, height=None)  # fmt: skip


@pytest.fixture
def container(azurite: Azurite) -> Iterator[object]:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    client = service.get_container_client(f"deliver-{dt.datetime.now().strftime('%H%M%S%f')}")
    client.create_container()
    yield client
    client.delete_container()


def sas_url(container: object, blob: str) -> str:
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    name = container.container_name  # type: ignore[attr-defined]
    sas = generate_blob_sas(ACCOUNT, name, blob, account_key=ACCOUNT_KEY,
                            permission=BlobSasPermissions(write=True, create=True),
                            expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))  # fmt: skip
    return f"{container.url}/{blob}?{sas}"  # type: ignore[attr-defined]


@pytest.fixture
def http(azurite: Azurite) -> Iterator[HttpClient]:
    with http_client(timeout=30, ca_bundle=str(azurite.tls.ca_cert)) as client:
        yield client


def test_single_put_lands_as_a_block_blob(container: object, http: HttpClient) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 100
    puts = deliver(http, spool(data), sas_url(container, "single.png"), deadline=Deadline.after(30), timeout=10)
    assert puts == 1
    blob = container.get_blob_client("single.png")  # type: ignore[attr-defined]
    assert blob.download_blob().readall() == data
    assert blob.get_blob_properties().content_settings.content_type == "image/png"


def test_multipart_uploads_blocks_that_the_client_commits(container: object, http: HttpClient) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes over 3 URLs of at most 4000 bytes: parts of 4000, 4000, 2240
    base = sas_url(container, "parts.bin")
    raw_ids = [f"{i:06d}" for i in range(3)]  # the SDK base64-encodes block ids on the wire; AEM's URLs carry them so
    target = {"urls": [f"{base}&comp=block&blockid={quote(base64.b64encode(r.encode()).decode(), safe='')}"
                       for r in raw_ids], "minPartSize": 100, "maxPartSize": 4000}  # fmt: skip
    assert deliver(http, spool(data, "application/octet-stream"), target, deadline=Deadline.after(30), timeout=10) == 3
    blob = container.get_blob_client("parts.bin")  # type: ignore[attr-defined]
    uncommitted = blob.get_block_list("uncommitted")[1]
    assert sorted(b.size for b in uncommitted) == [2240, 4000, 4000]
    blob.commit_block_list(raw_ids)
    assert blob.download_blob().readall() == data


def test_an_expired_target_is_a_generic_error(container: object, http: HttpClient) -> None:
    url = sas_url(container, "x.png").replace("sig=", "sig=broken")
    with pytest.raises(GenericError, match="HTTP 403"):
        deliver(http, spool(b"abc"), url, deadline=Deadline.after(30), timeout=10)
