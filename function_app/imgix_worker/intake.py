"""The HTTP intake: authenticate, validate the job's shape, hand back a queue message, answer at once.

Order matters: the method, then the body size (the declared `Content-Length` and the actual length, so an
unauthenticated caller cannot make an instance hash a large body), then the relay signature (when a relay key is
configured) and the IMS token, all before any storage or network I/O for the job; then the JSON and the job's shape
(400 naming the field).
The answer mirrors the Asset Compute SDK's web action: `200 {"activationId": "<id>"}`.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .auth import ImsAuthenticator
from .errors import RequestRejected
from .jobs import encode_message, parse_job
from .logs import log
from .recipes import RECIPES
from .relay_auth import ReplayCache, ReplayGuard, verify_relay_signature
from .settings import Settings

__all__ = ["Intake", "IntakeResult"]


@dataclass(frozen=True)
class IntakeResult:
    """The HTTP answer, and the queue message to enqueue when the job was accepted."""

    status: int
    body: dict[str, object] | None
    message: str | None = None


class Intake:
    """Turns an HTTP request into an `IntakeResult`. Thread-safe; one per process."""

    def __init__(
        self,
        settings: Settings,
        authenticator: ImsAuthenticator,
        *,
        replays: ReplayGuard | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._auth = authenticator
        self._replays = replays or ReplayCache()
        self._clock = clock

    def handle(
        self, method: str, headers: Mapping[str, str], body: bytes, *, recipe: str | None = None
    ) -> IntakeResult:
        """Answer one request (header names in any case)."""
        lower = {k.lower(): v for k, v in headers.items()}
        request_id = lower.get("x-request-id") or None
        try:
            return self._accept(method.upper(), lower, body, recipe)
        except RequestRejected as rejected:
            level = logging.WARNING if rejected.status < 500 else logging.ERROR
            log("request rejected", level=level, status=rejected.status, reason=rejected.message, request_id=request_id)
            return IntakeResult(rejected.status, {"message": rejected.message})

    def _accept(self, method: str, headers: dict[str, str], body: bytes, recipe: str | None) -> IntakeResult:
        if method == "OPTIONS":
            return IntakeResult(204, None)
        if method != "POST":
            raise RequestRejected(405, "Supported HTTP methods: OPTIONS, POST")
        settings = self._settings
        _check_body_size(headers, body, settings.max_request_bytes)
        if settings.relay_hmac_key is not None:
            verify_relay_signature(settings.relay_hmac_key, headers, body, now=self._clock(), replays=self._replays)
        caller = self._auth.authenticate(headers)
        if recipe is not None and recipe not in RECIPES:
            raise RequestRejected(404, f"unknown recipe; known: {', '.join(sorted(RECIPES))}")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            raise RequestRejected(400, "the body must be JSON") from None
        job_id = uuid.uuid4().hex
        request_id = headers.get("x-request-id", "").strip()[:200] or job_id
        activation_ids = [job_id]
        relay_activation = headers.get("x-relay-activation-id", "").strip()[:200]
        if relay_activation:
            activation_ids.insert(0, relay_activation)
        job = parse_job(
            payload,
            job_id=job_id,
            request_id=request_id,
            org_id=caller.org_id,
            client_id=caller.client_id,
            token=caller.token,
            allowed_hosts=settings.allowed_hosts,
            max_renditions=settings.max_renditions,
            recipe=recipe,
            activation_ids=activation_ids,
            received_at=self._clock(),
        )
        message = encode_message(job)
        log("job accepted", request_id=request_id, job_id=job_id, renditions=len(job.renditions), recipe=recipe)
        return IntakeResult(200, {"activationId": job_id}, message)


def _check_body_size(headers: Mapping[str, str], body: bytes, limit: int) -> None:
    """413 when the declared or the actual body is over `limit`; runs before any hashing of the body."""
    declared = headers.get("content-length", "").strip()
    if (declared.isdigit() and int(declared) > limit) or len(body) > limit:
        raise RequestRejected(413, f"the body is larger than {limit} bytes")
