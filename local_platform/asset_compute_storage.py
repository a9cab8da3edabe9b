"""AEM's side of storage in the local platform: the `aem` container, pre-signed URLs, block commits, downloads.

AEM hands Asset Compute a pre-signed GET URL for the source and pre-signed upload targets for each rendition.
Its Azure multipart targets are Put Block URLs made like `node-cloud-blobstore-wrapper.multiPartPresignPut`:
`<blob SAS URL>&comp=block&blockid=<urlencoded base64 of the zero-padded 6-digit index>`, with
`minPartSize` 10 MiB, `maxPartSize` 100 MiB and `ceil(estimated size / minPartSize)` URLs, capped. The worker
only uploads blocks; the client commits the block list once it sees `rendition_created`.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas

__all__ = ["MIB", "AemStorage", "Target", "TargetOptions", "block_id"]

MIB = 1024 * 1024
SAS_LIFETIME = dt.timedelta(hours=1)

# A target as it goes into the rendition object: one PUT URL, or {urls, minPartSize, maxPartSize}.
Target = str | dict[str, object]


@dataclass(frozen=True)
class TargetOptions:
    """How rendition targets are made: AEM's multipart block URLs by default, or one PUT URL (`single`)."""

    kind: Literal["multipart", "single"] = "multipart"
    estimated_size: int = 100 * MIB
    min_part_size: int = 10 * MIB
    max_part_size: int = 100 * MIB
    max_urls: int = 50

    def url_count(self) -> int:
        """Number of block URLs: ceil(estimate / minPartSize), capped at `max_urls`, at least 1."""
        return max(1, min(self.max_urls, math.ceil(self.estimated_size / self.min_part_size)))


def block_id(index: int) -> str:
    """The block id AEM uses for part `index` (base64 of the zero-padded 6-digit index), not yet URL-encoded."""
    return base64.b64encode(f"{index:06d}".encode()).decode()


class AemStorage:
    """The storage account AEM keeps binaries in (Azurite locally), with SAS signing by the account key."""

    def __init__(self, connection_string: str, *, ca_file: Path, container: str = "aem") -> None:
        self._service = BlobServiceClient.from_connection_string(connection_string, connection_verify=str(ca_file))
        credential = self._service.credential
        self._account_name: str = credential.account_name
        self._account_key: str = credential.account_key
        self._signatures: set[str] = set()
        self.container = container
        self._container = self._service.get_container_client(container)

    @property
    def account_key(self) -> str:
        return self._account_key

    @property
    def issued_signatures(self) -> frozenset[str]:
        """The `sig` of every SAS this storage has signed, as it stands in the URL."""
        return frozenset(self._signatures)

    def ensure_container(self) -> None:
        """Create the container unless it exists."""
        try:
            self._container.create_container()
        except ResourceExistsError:
            pass

    def _sas_url(self, blob_name: str, permission: BlobSasPermissions) -> str:
        sas = generate_blob_sas(
            self._account_name,
            self.container,
            blob_name,
            account_key=self._account_key,
            permission=permission,
            expiry=dt.datetime.now(dt.UTC) + SAS_LIFETIME,
        )
        # As it stands in the URL (the SDK leaves `/` unencoded); consumers also look for other encodings.
        self._signatures.update(v for k, _, v in (f.partition("=") for f in sas.split("&")) if k == "sig")
        return f"{self._container.get_blob_client(blob_name).url}?{sas}"

    def upload_source(self, path: Path, *, blob_name: str, content_type: str) -> str:
        """Upload the asset's binary; return its pre-signed GET URL (read, 1 h), as AEM gives it."""
        with path.open("rb") as data:
            self._container.upload_blob(
                blob_name, data, overwrite=True, content_settings=ContentSettings(content_type=content_type)
            )
        return self._sas_url(blob_name, BlobSasPermissions(read=True))

    def make_target(self, blob_name: str, options: TargetOptions) -> Target:
        """A pre-signed upload target for a rendition blob (write + create, 1 h)."""
        url = self._sas_url(blob_name, BlobSasPermissions(write=True, create=True))
        if options.kind == "single":
            return url
        return {
            "urls": [f"{url}&comp=block&blockid={quote(block_id(i), safe='')}" for i in range(options.url_count())],
            "minPartSize": options.min_part_size,
            "maxPartSize": options.max_part_size,
        }

    def commit_blocks(self, blob_name: str, *, content_type: str | None = None) -> int:
        """Commit the uploaded (uncommitted) blocks in index order; return how many there were."""
        blob = self._container.get_blob_client(blob_name)
        try:
            _, uncommitted = blob.get_block_list("uncommitted")
        except ResourceNotFoundError:
            return 0
        # The SDK decodes ids to text ("000000"); sorting the zero-padded index gives upload order.
        ids = sorted(b.id for b in uncommitted)
        if ids:
            settings = ContentSettings(content_type=content_type) if content_type else None
            blob.commit_block_list(ids, content_settings=settings)
        return len(ids)

    def download(self, blob_name: str, destination: Path) -> int | None:
        """Download a committed blob to `destination`; return its size, or None if the blob does not exist."""
        try:
            stream = self._container.get_blob_client(blob_name).download_blob()
        except ResourceNotFoundError:
            return None
        destination.parent.mkdir(parents=True, exist_ok=True)
        with destination.open("wb") as out:
            return stream.readinto(out)

    def close(self) -> None:
        self._service.close()
