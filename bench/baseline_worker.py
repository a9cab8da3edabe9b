"""The seed tutorial's worker, ported to Python: the baseline the benchmark measures ours against.

`reference/asset-compute-contract.md` section 6, with the Asset Compute SDK's own steps around it, one job at a
time, one rendition after the other:
1. the SDK downloads the source from its pre-signed URL to `<work>/<activationId>/in/source.<ext>`;
2. the worker uploads that file to the imgix source container with the account key (here the connection
   string), under the same path without its leading `/`, and never deletes it (the benchmark does, between runs);
3. per rendition: the worker signs the imgix URL with the `imgix` library (library parameter included, as
   imgix-core-js does) from the `imgix` service parameter and downloads it to `<work>/out/`; the SDK hashes the
   file (`repo:sha1`), uploads it to the target (one PUT, or AEM's multipart part-size rule) and posts the event;
4. the SDK removes the work directory.

Runs as a long-lived child (`python -m bench.baseline_worker`), like an action container kept warm: one job
per stdin line (JSON), one result line on stdout. Settings come from the environment, never the command line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import mimetypes
import os
import re
import shutil
import ssl
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from azure.storage.blob import BlobServiceClient, ContentSettings
from imgix import UrlBuilder

CHUNK = 1024 * 1024
PREFERRED_PART_SIZE = 100 * 1024 * 1024  # @adobe/httptransfer's default
RETRIES = 3
_SIGNED = re.compile(r"([?&](?:s|sig)=)[^&\s]+")


class Config:
    """The tutorial's action parameters, from the environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.connection_string = env["IMGIX_SOURCE_CONNECTION_STRING"]
        self.container = env["IMGIX_SOURCE_CONTAINER"]
        self.secure_token = env["IMGIX_SECURE_TOKEN"]
        self.domain = env["IMGIX_DOMAIN"]
        self.base_url = env["IMGIX_BASE_URL"].rstrip("/")
        self.ca_bundle = env["TLS_CA_BUNDLE"]
        self.events_url = env["EVENTS_URL"]
        self.work_dir = Path(env["BASELINE_WORK_DIR"])


def download(http: httpx.Client, url: str, path: Path) -> int:
    """GET `url` into `path`, streamed, retrying 5xx and network errors (httptransfer's downloadFile)."""
    for attempt in range(RETRIES):
        try:
            with http.stream("GET", url) as response:
                if response.status_code >= 500 and attempt < RETRIES - 1:
                    continue
                if response.status_code != 200:
                    raise RuntimeError(f"GET failed with status {response.status_code}")
                size = 0
                with path.open("wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        size += len(chunk)
                return size
        except httpx.TransportError:
            if attempt == RETRIES - 1:
                raise
    raise RuntimeError("GET failed")


def content_type(path: Path) -> str:
    """The rendition's type from its bytes, as the SDK detects it (`file --mime`)."""
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return "application/octet-stream"


def _file_part(path: Path, offset: int, length: int):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        f.seek(offset)
        left = length
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            left -= len(chunk)
            yield chunk


def upload(http: httpx.Client, path: Path, target: str | dict[str, Any], mime: str) -> None:
    """Upload the rendition file: one PUT, or the parts of AEM's multipart rule (the SDK's httptransfer)."""
    size = path.stat().st_size
    if isinstance(target, str):
        parts = [(target, 0, size)]
    else:
        urls = target["urls"]
        part = max(math.ceil(size / len(urls)), int(target.get("minPartSize") or 10))
        if part > int(target["maxPartSize"]):
            raise RuntimeError(f"File is too large to upload: {size}")
        part = min(max(PREFERRED_PART_SIZE, part), int(target["maxPartSize"]))
        parts = [(urls[k], k * part, min(part, size - k * part)) for k in range(max(1, math.ceil(size / part)))]
    for url, offset, length in parts:
        headers = {"Content-Length": str(length), "Content-Type": mime}
        if "comp=block" not in url:
            headers["x-ms-blob-type"] = "BlockBlob"
        response = http.put(url, content=_file_part(path, offset, length), headers=headers)
        if response.status_code >= 300:
            raise RuntimeError(f"PUT failed with status {response.status_code}")


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def post_event(http: httpx.Client, config: Config, job: dict[str, Any], event: dict[str, Any]) -> None:
    """One event to the I/O Events ingress with the request's token, as the SDK sends it."""
    event = {
        **event,
        "date": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestId": job["requestId"],
        "source": job["source"].split("?", 1)[0],
        "activationIds": [job["activationId"]],
    }
    body = {
        "user_guid": job["orgId"],
        "provider_id": f"asset_compute_{job['orgId']}_{job['clientId']}",
        "event_code": "asset_compute",
        "event": base64.b64encode(json.dumps(event).encode()).decode(),
    }
    headers = {"x-ims-org-id": job["orgId"], "x-api-key": job["clientId"], "Authorization": f"Bearer {job['token']}"}
    http.post(config.events_url, json=body, headers=headers).raise_for_status()


def run_job(job: dict[str, Any], config: Config, http: httpx.Client, service: BlobServiceClient) -> str:
    """Process one job the tutorial's way; the staged blob's name (left behind, as the tutorial does)."""
    work = config.work_dir / job["activationId"]
    (work / "in").mkdir(parents=True)
    (work / "out").mkdir()
    try:
        source = work / "in" / f"source{Path(job['sourceName']).suffix}"
        download(http, job["source"], source)
        blob_name = str(source).lstrip("/")  # aio-lib-files: the local path, leading slash removed
        with source.open("rb") as data:
            service.get_blob_client(config.container, blob_name).upload_blob(
                data,
                overwrite=True,
                content_settings=ContentSettings(content_type=mimetypes.guess_type(source.name)[0]),
            )
        imgix = UrlBuilder(config.domain, sign_key=config.secure_token)
        for index, rendition in enumerate(job["renditions"]):
            public = {k: v for k, v in rendition.items() if k != "target"}
            try:
                url = imgix.create_url(blob_name, json.loads(rendition["imgix"]))
                url = config.base_url + url[len(f"https://{config.domain}") :]
                out = work / "out" / f"rendition{index}{Path(rendition['name']).suffix}"
                size = download(http, url, out)
                mime = content_type(out)
                upload(http, out, rendition["target"], mime)
                metadata = {"repo:size": size, "repo:sha1": sha1_of(out), "dc:format": mime}
                post_event(http, config, job, {"type": "rendition_created", "rendition": public, "metadata": metadata})
            except Exception as exc:  # the tutorial has no error handling: every failure is a GenericError
                failed = {"type": "rendition_failed", "rendition": public, "errorReason": "GenericError",
                          "errorMessage": type(exc).__name__}  # fmt: skip
                post_event(http, config, job, failed)
        return blob_name
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    config = Config(dict(os.environ))
    config.work_dir.mkdir(parents=True, exist_ok=True)
    http = httpx.Client(verify=ssl.create_default_context(cafile=config.ca_bundle), timeout=600.0)
    service = BlobServiceClient.from_connection_string(config.connection_string, connection_verify=config.ca_bundle)
    for line in sys.stdin:
        job = json.loads(line)
        started = time.monotonic()
        try:
            result: dict[str, Any] = {"ok": True, "stagedBlob": run_job(job, config, http, service)}
        except Exception as exc:
            # Masked: a URL in the message would carry a SAS `sig` or an imgix `s`.
            result = {"ok": False, "error": _SIGNED.sub(r"\1***", f"{type(exc).__name__}: {str(exc)[:200]}")}
        result["seconds"] = time.monotonic() - started
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
