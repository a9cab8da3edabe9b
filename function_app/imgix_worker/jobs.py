"""A job: what the intake accepted and the processor needs, and its queue message form.

The intake validates the request body into a `Job` (400 with a message naming the field on a bad shape; 413 when
too large); the queue message carries exactly the job's fields. The IMS token travels with it because the events
must be posted with the request's own token; it is a `Secret` everywhere else.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import RequestRejected
from .redaction import Secret
from .source_headers import SourceHeaders, decode_source_headers, parse_source_headers
from .url_policy import UrlRejected, check_url

__all__ = ["MAX_MESSAGE_CHARS", "Job", "decode_message", "encode_message", "parse_job"]

# A queue message may be 64 KiB after the Functions host's base64 encoding: 48 000 characters before it.
MAX_MESSAGE_CHARS = 48_000
_COMPRESSED = "z1:"


@dataclass(frozen=True)
class Job:
    """One Asset Compute request, as accepted by the intake."""

    job_id: str
    request_id: str
    org_id: str
    client_id: str
    token: Secret
    source_url: Secret
    renditions: list[dict[str, object]]
    source_name: str | None = None
    source_mimetype: str | None = None
    user_data: object = None
    recipe: str | None = None
    activation_ids: list[str] = field(default_factory=list)
    received_at: float = 0.0
    source_headers: SourceHeaders = ()  # `source.headers`, values secret


def _bad(field_name: str, problem: str) -> RequestRejected:
    return RequestRejected(400, f"{field_name} {problem}")


def _check_target(where: str, target: object, allowed_hosts: tuple[str, ...]) -> None:
    if isinstance(target, str):
        try:
            check_url(target, allowed_hosts)
        except UrlRejected as exc:
            raise _bad(where, str(exc)) from None
        return
    if not isinstance(target, dict):
        raise _bad(where, "must be a URL or an object {urls, minPartSize, maxPartSize}")
    urls = target.get("urls")
    if not isinstance(urls, list) or not urls or len(urls) > 10_000:
        raise _bad(f"{where}.urls", "must be a non-empty list of URLs")
    for i, url in enumerate(urls):
        try:
            check_url(url, allowed_hosts)
        except UrlRejected as exc:
            raise _bad(f"{where}.urls[{i}]", str(exc)) from None
    low, high = target.get("minPartSize"), target.get("maxPartSize")
    if low is not None and (not isinstance(low, int) or isinstance(low, bool) or low < 1):
        raise _bad(f"{where}.minPartSize", "must be a positive integer")
    if not isinstance(high, int) or isinstance(high, bool) or high < 1:
        raise _bad(f"{where}.maxPartSize", "must be a positive integer")
    if low is not None and low > high:
        raise _bad(f"{where}.minPartSize", "must not exceed maxPartSize")


def parse_job(
    payload: object,
    *,
    job_id: str,
    request_id: str,
    org_id: str,
    client_id: str,
    token: Secret,
    allowed_hosts: tuple[str, ...],
    max_renditions: int,
    recipe: str | None = None,
    activation_ids: list[str] | None = None,
    received_at: float = 0.0,
) -> Job:
    """Validate a decoded request body into a `Job`.

    :raises RequestRejected: 400 naming the field at fault.
    """
    if not isinstance(payload, dict):
        raise RequestRejected(400, "the body must be a JSON object")
    source = payload.get("source")
    name = mimetype = None
    headers: SourceHeaders = ()
    if isinstance(source, dict):
        headers = parse_source_headers(source.get("headers"))
        name = source.get("name")
        mimetype = source.get("mimetype") or source.get("mimeType") or source.get("type")
        if name is not None and not isinstance(name, str):
            raise _bad("source.name", "must be a string")
        if mimetype is not None and not isinstance(mimetype, str):
            raise _bad("source.mimetype", "must be a string")
        source = source.get("url")
        where = "source.url"
    else:
        where = "source"
    if not isinstance(source, str) or not source:
        raise _bad(where, "is required: a pre-signed https URL or a data: URI")
    if not source.startswith("data:"):
        try:
            check_url(source, allowed_hosts)
        except UrlRejected as exc:
            raise _bad(where, str(exc)) from None

    renditions = payload.get("renditions")
    if not isinstance(renditions, list):
        raise _bad("renditions", "must be an array")
    renditions = [r for r in renditions if r is not None]
    if not renditions:
        raise _bad("renditions", "must not be empty")
    if len(renditions) > max_renditions:
        raise _bad("renditions", f"has {len(renditions)} entries; at most {max_renditions} are accepted per job")
    for i, rendition in enumerate(renditions):
        if not isinstance(rendition, dict):
            raise _bad(f"renditions[{i}]", "must be an object")
        target = rendition.get("target", rendition.get("url"))
        if target is None:
            raise _bad(f"renditions[{i}].target", "is required")
        _check_target(f"renditions[{i}].target", target, allowed_hosts)

    return Job(
        job_id=job_id,
        request_id=request_id,
        org_id=org_id,
        client_id=client_id,
        token=token,
        source_url=Secret(source),
        renditions=renditions,
        source_name=name,
        source_mimetype=mimetype,
        user_data=payload.get("userData"),
        recipe=recipe,
        activation_ids=list(activation_ids or []),
        received_at=received_at,
        source_headers=headers,
    )


def encode_message(job: Job) -> str:
    """The queue message for `job`; compressed when large (AEM's block-URL targets compress well).

    :raises RequestRejected: 413 when even compressed it exceeds a queue message.
    """
    body = json.dumps(
        {
            "v": 1,
            "jobId": job.job_id,
            "requestId": job.request_id,
            "orgId": job.org_id,
            "clientId": job.client_id,
            "token": job.token.reveal(),
            "source": job.source_url.reveal(),
            "sourceName": job.source_name,
            "sourceMimetype": job.source_mimetype,
            "renditions": job.renditions,
            "userData": job.user_data,
            "recipe": job.recipe,
            "activationIds": job.activation_ids,
            "receivedAt": job.received_at,
            **({"sourceHeaders": {k: v.reveal() for k, v in job.source_headers}} if job.source_headers else {}),
        },
        separators=(",", ":"),
    )
    if len(body) <= MAX_MESSAGE_CHARS:
        return body
    packed = _COMPRESSED + base64.b64encode(zlib.compress(body.encode("utf-8"), 9)).decode("ascii")
    if len(packed) > MAX_MESSAGE_CHARS:
        raise RequestRejected(413, "the job is too large for one queue message; send fewer renditions per job")
    return packed


def decode_message(message: str | bytes) -> Job:
    """The `Job` a queue message carries.

    :raises ValueError: not a message of ours.
    """
    text = message.decode("utf-8") if isinstance(message, bytes) else message
    if text.startswith(_COMPRESSED):
        text = zlib.decompress(base64.b64decode(text[len(_COMPRESSED) :])).decode("utf-8")
    data = json.loads(text)
    if not isinstance(data, Mapping) or data.get("v") != 1:
        raise ValueError("not a job message")
    return Job(
        job_id=str(data["jobId"]),
        request_id=str(data["requestId"]),
        org_id=str(data["orgId"]),
        client_id=str(data["clientId"]),
        token=Secret(str(data["token"])),
        source_url=Secret(str(data["source"])),
        renditions=list(data["renditions"]),
        source_name=data.get("sourceName"),
        source_mimetype=data.get("sourceMimetype"),
        user_data=data.get("userData"),
        recipe=data.get("recipe"),
        activation_ids=list(data.get("activationIds") or []),
        received_at=float(data.get("receivedAt") or 0.0),
        source_headers=decode_source_headers(data.get("sourceHeaders")),
    )
