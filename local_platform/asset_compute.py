"""The local stand-in for AEM + the Asset Compute service, as seen by a custom worker.

For one asset, `AssetComputeClient.process()` does what AEM and Asset Compute do together: upload the binary to
the `aem` container and pre-sign it, pre-sign a target per rendition (multipart block URLs by default), POST the
job to the worker with an IMS-style token and the gateway's headers, long-poll the I/O Events journal for one
event per rendition, commit the blocks of each `rendition_created` and download it. `process_profile()` first
applies the Processing Profile's MIME include/exclude rule, as AEM does before dispatch.

CLI: `python -m local_platform.asset_compute process <file-or-folder> --profile profiles/wknd.yaml --out out/`
(see `local_platform.asset_compute_cli`).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx

from imgix_worker.redaction import redact
from local_platform.asset_compute_storage import AemStorage, Target, TargetOptions
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID, LocalIms
from profiles import Profile

__all__ = [
    "AssetComputeClient",
    "AssetComputeError",
    "JobResult",
    "RenditionResult",
    "TargetOptions",
    "aem_mimetype",
]

CREATED = "rendition_created"
FAILED = "rendition_failed"
SKIPPED = "skipped"
TIMED_OUT = "timeout"
# One journal long poll; the overall wait is `event_timeout`.
POLL_SECONDS = 20.0


class AssetComputeError(Exception):
    """The job could not be handed to the worker (refused or unreachable); the message is redacted."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(redact(message))
        self.status = status


@dataclass(frozen=True)
class RenditionResult:
    """What became of one rendition, as AEM would see it."""

    name: str
    event_type: str  # rendition_created | rendition_failed | skipped | timeout
    target_kind: str
    seconds: float = 0.0
    error_reason: str | None = None
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None
    # A client-side finding about the worker's behaviour (no blocks uploaded, secret in the event, ...).
    problem: str | None = None
    event: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return self.event_type in (FAILED, TIMED_OUT) or self.problem is not None


@dataclass(frozen=True)
class JobResult:
    """One asset's job: its request id, the worker's activation id and a result per rendition, in request order."""

    source: Path
    mimetype: str
    request_id: str | None
    activation_id: str | None
    renditions: list[RenditionResult]

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.renditions)


def aem_mimetype(path: Path) -> str:
    """The MIME type AEM gives an uploaded asset: from its file name's extension."""
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _output_name(instructions: Mapping[str, object], index: int) -> str:
    name = instructions.get("name")
    if isinstance(name, str) and Path(name).name:
        return Path(name).name  # a file name only: never write outside the out dir
    fmt = instructions.get("fmt")
    return f"rendition{index}.{fmt}" if isinstance(fmt, str) and fmt else f"rendition{index}"


def _carries_secret(event: Mapping[str, Any], issued: Iterable[str]) -> bool:
    """Whether the event quotes a credential this stand-in issued (as is, percent-encoded or -decoded).

    Compared with the credentials themselves, not with patterns: an instruction value of the caller's own such as
    `w=100&s=deadbeef`, echoed in the event's `rendition`, is no leak.
    """
    text = json.dumps(event)
    forms = {f for secret in issued for f in (secret, unquote(secret), quote(unquote(secret), safe=""))}
    return any(form in text for form in forms)


class AssetComputeClient:
    """Sends assets to a custom worker the way AEM and the Asset Compute service do, and collects the results."""

    def __init__(
        self,
        *,
        connection_string: str,
        ca_file: Path,
        worker_url: str,
        journal_url: str,
        ims: LocalIms,
        org_id: str = LOCAL_ORG_ID,
        org_name: str = "Local AEM Org",
        app_name: str = "aem-imgix-renditions-local",
        client_id: str = LOCAL_CLIENT_ID,
        targets: TargetOptions | None = None,
        event_timeout: float = 120.0,
    ) -> None:
        self.worker_url = worker_url
        self.journal_url = journal_url.rstrip("/")
        self.org_id = org_id
        self.targets = targets or TargetOptions()
        self.event_timeout = event_timeout
        self._ims = ims
        self._org_name = org_name
        self._app_name = app_name
        self._client_id = client_id
        self._storage = AemStorage(connection_string, ca_file=ca_file)
        # Every credential handed to a worker (SAS signatures, IMS tokens): an event quoting one is a leak.
        self._issued: set[str] = {self._storage.account_key}
        self._storage.ensure_container()
        self._http = httpx.Client(verify=ssl.create_default_context(cafile=str(ca_file)), timeout=30.0)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, ims: LocalIms, **options: Any) -> AssetComputeClient:
        """A client for a running platform, from the keys `make up` writes to `.local/env`.

        :raises KeyError: naming the missing key.
        """
        missing = [
            k for k in ("AZURE_STORAGE_CONNECTION_STRING", "TLS_CA_BUNDLE", "WORKER_URL", "JOURNAL_URL") if k not in env
        ]
        if missing:
            raise KeyError(f"missing in the platform env: {', '.join(missing)}")
        return cls(
            connection_string=env["AZURE_STORAGE_CONNECTION_STRING"],
            ca_file=Path(env["TLS_CA_BUNDLE"]),
            worker_url=env["WORKER_URL"],
            journal_url=env["JOURNAL_URL"],
            ims=ims,
            org_id=env.get("ORG_ID", LOCAL_ORG_ID),
            **options,
        )

    def close(self) -> None:
        self._http.close()
        self._storage.close()

    def __enter__(self) -> AssetComputeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def process_profile(
        self,
        source: Path,
        profile: Profile,
        *,
        out_dir: Path,
        targets: TargetOptions | None = None,
        on_result: Callable[[RenditionResult], None] | None = None,
    ) -> JobResult:
        """Process `source` with each rendition of `profile` whose MIME rule accepts it; the others are skipped."""
        mimetype = aem_mimetype(source)
        kind = (targets or self.targets).kind
        sent = [spec.instructions() for spec in profile.renditions if spec.accepts(mimetype)]
        skipped = {
            i: RenditionResult(name=f"{spec.name}.{spec.extension}", event_type=SKIPPED, target_kind=kind)
            for i, spec in enumerate(profile.renditions)
            if not spec.accepts(mimetype)
        }
        for result in skipped.values():
            if on_result:
                on_result(result)
        job = (
            self.process(source, sent, out_dir=out_dir, targets=targets, on_result=on_result)
            if sent
            else JobResult(source, mimetype, None, None, [])
        )
        done = iter(job.renditions)
        merged = [skipped[i] if i in skipped else next(done) for i in range(len(profile.renditions))]
        return JobResult(source, mimetype, job.request_id, job.activation_id, merged)

    def process(
        self,
        source: Path,
        renditions: Sequence[Mapping[str, object]],
        *,
        out_dir: Path,
        targets: TargetOptions | None = None,
        user_data: Mapping[str, object] | None = None,
        on_result: Callable[[RenditionResult], None] | None = None,
    ) -> JobResult:
        """Run one job for `source` with these rendition instructions (no `worker`/`target`: added here).

        :raises AssetComputeError: if the worker refuses the job, or the worker or the journal cannot be reached.
        :raises azure.core.exceptions.AzureError: if the AEM storage cannot be used.
        """
        options = targets or self.targets
        mimetype = aem_mimetype(source)
        job_id = uuid.uuid4().hex
        source_url = self._storage.upload_source(
            source, blob_name=f"{job_id}/original/{source.name}", content_type=mimetype
        )
        sent: list[dict[str, object]] = []
        blobs: list[str] = []
        for i, instructions in enumerate(renditions):
            blob_name = f"{job_id}/renditions/{i}/{_output_name(instructions, i)}"
            target: Target = self._storage.make_target(blob_name, options)
            sent.append({**instructions, "worker": self.worker_url, "target": target})
            blobs.append(blob_name)

        request_id = str(uuid.uuid4())
        started = time.monotonic()
        activation_id = self._post_job(
            request_id,
            {"source": source_url, "renditions": sent, "userData": dict(user_data or {"assetName": source.name})},
        )
        results = self._collect(
            request_id,
            [{k: v for k, v in r.items() if k != "target"} for r in sent],
            blobs,
            out_dir=out_dir,
            kind=options.kind,
            started=started,
            on_result=on_result,
        )
        return JobResult(source, mimetype, request_id, activation_id, results)

    def _post_job(self, request_id: str, body: dict[str, object]) -> str | None:
        token = self._ims.token(client_id=self._client_id, expires_in_seconds=3600)
        self._issued.update((token, token.rpartition(".")[2]))  # the token, and its signature alone
        headers = {
            "Authorization": f"Bearer {token}",
            "x-gw-ims-org-id": self.org_id,
            "x-gw-ims-org-name": self._org_name,
            "x-app-name": self._app_name,
            "x-request-id": request_id,
            "Content-Type": "application/json",
        }
        try:
            response = self._http.post(self.worker_url, content=json.dumps(body), headers=headers)
        except httpx.HTTPError as exc:
            raise AssetComputeError(f"worker unreachable: {type(exc).__name__}: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise AssetComputeError(
                f"worker answered {response.status_code}: {message or response.text[:200]}", status=response.status_code
            )
        activation_id = answer.get("activationId") if isinstance(answer, dict) else None
        return activation_id if isinstance(activation_id, str) else None

    def _poll(self, request_id: str, *, count: int, timeout: float) -> list[dict[str, Any]]:
        try:
            response = self._http.get(
                f"{self.journal_url}/{request_id}",
                params={"count": count, "timeout": f"{timeout:.1f}"},
                timeout=timeout + 30.0,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise AssetComputeError(f"event journal unusable: {type(exc).__name__}: {exc}") from None
        events = response.json()
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []

    def _collect(
        self,
        request_id: str,
        instructions: list[dict[str, object]],
        blobs: list[str],
        *,
        out_dir: Path,
        kind: str,
        started: float,
        on_result: Callable[[RenditionResult], None] | None,
    ) -> list[RenditionResult]:
        pending = dict(enumerate(instructions))
        results: dict[int, RenditionResult] = {}
        seen = 0
        deadline = started + self.event_timeout
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Ask for one more event than seen: the poll returns as soon as the next one arrives.
            events = self._poll(request_id, count=seen + 1, timeout=min(POLL_SECONDS, remaining))
            for event in events[seen:]:
                index = _match(event, pending)
                if index is None:
                    continue  # a duplicate or an event for no rendition of this job
                del pending[index]
                results[index] = self._settle(
                    event, instructions[index], index, blobs[index], out_dir=out_dir, kind=kind, started=started
                )
                if on_result:
                    on_result(results[index])
            seen = max(seen, len(events))
        for index, instr in pending.items():
            results[index] = RenditionResult(
                name=_output_name(instr, index),
                event_type=TIMED_OUT,
                target_kind=kind,
                seconds=time.monotonic() - started,
                error_message=f"no event within {self.event_timeout:.0f}s",
            )
            if on_result:
                on_result(results[index])
        return [results[i] for i in range(len(instructions))]

    def _settle(
        self,
        event: dict[str, Any],
        instructions: Mapping[str, object],
        index: int,
        blob_name: str,
        *,
        out_dir: Path,
        kind: str,
        started: float,
    ) -> RenditionResult:
        name = _output_name(instructions, index)
        self._issued.update(self._storage.issued_signatures)
        leaked = _carries_secret(event, self._issued)
        problems = ["the event carries a credential (SAS signature or token)"] if leaked else []
        output = None
        metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        embedded = _embedded(event)
        if event.get("type") == CREATED and embedded is not None:
            # embedBinaryLimit: the rendition is in the event's data URI; nothing was uploaded
            output = out_dir / name
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(embedded)
            if isinstance(metadata.get("repo:size"), int) and metadata["repo:size"] != len(embedded):
                problems.append(f"repo:size {metadata['repo:size']} differs from the {len(embedded)} bytes embedded")
        elif event.get("type") == CREATED:
            if (
                kind == "multipart"
                and self._storage.commit_blocks(blob_name, content_type=metadata.get("dc:format")) == 0
            ):
                problems.append("rendition_created but no block was uploaded")
            output = out_dir / name
            size = self._storage.download(blob_name, output)
            if size is None:
                problems.append("rendition_created but the rendition blob does not exist")
                output = None
            elif isinstance(metadata.get("repo:size"), int) and metadata["repo:size"] != size:
                problems.append(f"repo:size {metadata['repo:size']} differs from the {size} bytes stored")
        reason, message = event.get("errorReason"), event.get("errorMessage")
        return RenditionResult(
            name=name,
            event_type=str(event.get("type")),
            target_kind=kind,
            seconds=time.monotonic() - started,
            error_reason=str(reason) if reason is not None else None,
            error_message=redact(message) if message is not None else None,
            metadata=metadata,
            output=output,
            problem="; ".join(problems) or None,
            event=event,
        )


def _embedded(event: Mapping[str, Any]) -> bytes | None:
    """The bytes of a rendition embedded in its event (`data: data:<type>;base64,...`), as AEM reads them."""
    data = event.get("data")
    if not isinstance(data, str) or not data.startswith("data:") or ";base64," not in data:
        return None
    return base64.b64decode(data.partition(";base64,")[2])


def _match(event: Mapping[str, Any], pending: Mapping[int, Mapping[str, object]]) -> int | None:
    """The pending rendition an event is about: by `name`, else by equal instructions, else the only one left."""
    sent = event.get("rendition")
    if not isinstance(sent, dict):
        return next(iter(pending)) if len(pending) == 1 else None
    name = sent.get("name")
    for index, instructions in pending.items():
        if name is not None and instructions.get("name") == name:
            return index
    for index, instructions in pending.items():
        if instructions == sent:
            return index
    return None


if __name__ == "__main__":
    from local_platform.asset_compute_cli import main

    raise SystemExit(main())
