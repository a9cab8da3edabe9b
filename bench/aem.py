"""AEM's and the Asset Compute service's side of a benchmark job, shared by both sides being measured.

Per job: pre-signed multipart block targets (AEM's Azure targets), the job body, the IMS-style token; after the
events: commit the blocks (as AEM does on `rendition_created`), check each rendition's size against the event's
`repo:size`, hash it, and delete it so Azurite's memory stays flat over a run. The source is uploaded once per
input and shared by every job of that input: AEM keeps one binary per asset, and its upload is not worker work.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from azure.storage.blob import ContainerClient

from local_platform.asset_compute import aem_mimetype
from local_platform.asset_compute_storage import AemStorage, TargetOptions
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID
from local_platform.platform import LocalPlatform

__all__ = ["AemSide", "BenchError", "Job", "Settled"]

TARGETS = TargetOptions()  # AEM's defaults: 10 MiB minimum parts, 100 MiB maximum, ceil(100 MiB / 10 MiB) URLs


class BenchError(RuntimeError):
    """A job did not end as it must (missing or failed events, sizes that disagree); the message has no secret."""


@dataclass(frozen=True)
class Job:
    """One job as the Asset Compute service sends it, and where its renditions land."""

    request_id: str
    body: dict[str, Any]
    blobs: list[str]  # rendition blob names in the `aem` container, in rendition order

    @property
    def names(self) -> list[str]:
        return [str(r["name"]) for r in self.body["renditions"]]


@dataclass(frozen=True)
class Settled:
    """What a job delivered: total rendition bytes and each rendition's SHA-1, in rendition order."""

    rendition_bytes: int
    sha1s: list[str]


class AemSide:
    """AEM storage, the IMS token and the I/O Events journal of one running platform."""

    def __init__(self, platform: LocalPlatform) -> None:
        self._platform = platform
        env = platform.environment()
        self._ca = Path(env["TLS_CA_BUNDLE"])
        self.storage = AemStorage(env["AZURE_STORAGE_CONNECTION_STRING"], ca_file=self._ca)
        self.storage.ensure_container()
        # For deleting committed renditions and staged sources, which AemStorage does not offer.
        self._aem = ContainerClient.from_connection_string(
            env["AZURE_STORAGE_CONNECTION_STRING"], self.storage.container, connection_verify=str(self._ca)
        )
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=str(self._ca)), timeout=60.0)
        self.token = platform.ims.token(client_id=LOCAL_CLIENT_ID, expires_in_seconds=6 * 3600)

    def upload_source(self, path: Path) -> str:
        """Upload an asset's binary once; its pre-signed GET URL."""
        name = f"bench-sources/{uuid.uuid4().hex}/{path.name}"
        return self.storage.upload_source(path, blob_name=name, content_type=aem_mimetype(path))

    def job(self, source_url: str, source: Path, renditions: list[Mapping[str, object]], *, worker: str) -> Job:
        """A job with fresh targets for `renditions` (instructions without `worker`/`target`)."""
        job_id = uuid.uuid4().hex
        sent, blobs = [], []
        for i, instructions in enumerate(renditions):
            blob = f"bench-renditions/{job_id}/{i}/{instructions['name']}"
            sent.append({**instructions, "worker": worker, "target": self.storage.make_target(blob, TARGETS)})
            blobs.append(blob)
        body = {"source": source_url, "renditions": sent, "userData": {"assetName": source.name}}
        return Job(str(uuid.uuid4()), body, blobs)

    def post(self, url: str, job: Job) -> str:
        """POST the job to a worker endpoint as the Asset Compute service does; the activation id."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "x-gw-ims-org-id": LOCAL_ORG_ID,
            "x-gw-ims-org-name": "Local AEM Org",
            "x-app-name": "aem-imgix-renditions-bench",
            "x-request-id": job.request_id,
            "Content-Type": "application/json",
        }
        response = self.http.post(url, content=json.dumps(job.body), headers=headers)
        if response.status_code != 200:
            raise BenchError(f"the worker refused the job: HTTP {response.status_code}")
        return str(response.json()["activationId"])

    def wait(self, job: Job, timeout: float) -> list[dict[str, Any]]:
        """The job's events once there is one per rendition (or what came within `timeout`)."""
        return self._platform.services.wait_for_events(job.request_id, len(job.blobs), timeout)

    def settle(self, job: Job, events: list[dict[str, Any]], *, keep: Path | None = None) -> Settled:
        """Check one `rendition_created` per rendition, commit and measure the renditions, then delete them.

        With `keep`, the renditions are also written there (the last run's outputs, to look at).
        :raises BenchError: a rendition failed, is missing, got two events, or its size is not `repo:size`.
        """
        by_name: dict[str, dict[str, Any]] = {}
        for event in events:
            name = str(event.get("rendition", {}).get("name"))
            if name in by_name:
                raise BenchError(f"two events for rendition {name}")
            by_name[name] = event
        total, sha1s = 0, []
        for name, blob in zip(job.names, job.blobs, strict=True):
            event = by_name.get(name)
            if event is None or event.get("type") != "rendition_created":
                reason = event.get("errorReason") if event else "no event"
                raise BenchError(f"rendition {name} was not created ({reason})")
            metadata = event.get("metadata", {})
            self.storage.commit_blocks(blob, content_type=metadata.get("dc:format"))
            data = self._aem.get_blob_client(blob).download_blob().readall()
            if len(data) != metadata.get("repo:size"):
                raise BenchError(f"rendition {name}: {len(data)} bytes stored, repo:size {metadata.get('repo:size')}")
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                (keep / name).write_bytes(data)
            total += len(data)
            sha1s.append(hashlib.sha1(data).hexdigest())
            self._aem.delete_blob(blob)
        return Settled(total, sha1s)

    def close(self) -> None:
        self.http.close()
        self.storage.close()
        self._aem.close()
