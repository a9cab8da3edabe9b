"""Verification of the App Builder relay's signature on a forwarded job (stdlib only).

The relay (`relay/`) signs each job it forwards:

    x-relay-timestamp: <unix seconds>
    x-relay-signature: sha256=<hex HMAC-SHA256(key, "<timestamp>.<x-request-id>.<exact body bytes>")>

The intake calls `verify_relay_signature` with the raw body before any I/O for the job; only a verified signature
reaches the replay check (which may write a marker). Every failure is the same
`RequestRejected(401, "unauthorized")`: a caller learns nothing about which check failed.
A signature is accepted once: `ReplayCache` remembers accepted signatures while their timestamp could still pass,
in one process; `replay_markers.SharedReplayGuard` extends that to every instance.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Mapping
from typing import Protocol

from imgix_worker.errors import RequestRejected
from imgix_worker.redaction import Secret

__all__ = [
    "MAX_SKEW_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ReplayCache",
    "ReplayGuard",
    "relay_signature",
    "verify_relay_signature",
]

TIMESTAMP_HEADER = "x-relay-timestamp"
SIGNATURE_HEADER = "x-relay-signature"
REQUEST_ID_HEADER = "x-request-id"
MAX_SKEW_SECONDS = 300

# Strict shapes: digits only (no sign, no fraction, no spaces) and exactly one lower-case SHA-256 hex digest.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


def relay_signature(key: Secret, timestamp: str, request_id: str, body: bytes) -> str:
    """The `x-relay-signature` value the relay sends for these inputs."""
    message = f"{timestamp}.{request_id}.".encode() + body
    return "sha256=" + hmac.new(key.reveal().encode(), message, hashlib.sha256).hexdigest()


class ReplayGuard(Protocol):
    """Remembers accepted signatures: `seen_before` records a new one and answers True for one seen before."""

    def seen_before(self, signature: str, now: float) -> bool: ...


class ReplayCache:
    """Signatures accepted recently, so that each is accepted once.

    An entry is kept for twice the skew window after it is recorded: a signature whose timestamp lies up to
    `window` seconds ahead of the clock stays acceptable until `window` seconds after that timestamp, so it must
    be remembered that long. Memory is bounded by `max_entries`; when the cache is full of live entries a new
    signature counts as seen (fail closed): no replay slips through, and at the default size that needs more
    than 300 accepted jobs a second on one instance, far beyond what the relay sends.
    """

    def __init__(self, *, window: float = MAX_SKEW_SECONDS, max_entries: int = 100_000) -> None:
        if window <= 0 or max_entries <= 0:
            raise ValueError("window and max_entries must be positive")
        self._keep = 2 * window
        self._max_entries = max_entries
        self._expiry: dict[str, float] = {}  # insertion order = expiry order while the clock moves forward
        self._lock = threading.Lock()

    def seen_before(self, signature: str, now: float) -> bool:
        """True if `signature` was recorded and has not expired; otherwise record it and return False."""
        with self._lock:
            self._evict(now)
            expiry = self._expiry.get(signature)
            if expiry is not None and expiry > now:
                return True
            if len(self._expiry) >= self._max_entries:
                return True
            self._expiry.pop(signature, None)
            self._expiry[signature] = now + self._keep
            return False

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _evict(self, now: float) -> None:
        # Oldest first; stops at the first live entry, so the cost is proportional to what expired.
        while self._expiry:
            oldest, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                return
            del self._expiry[oldest]


def verify_relay_signature(
    key: Secret,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    replays: ReplayGuard,
) -> None:
    """Accept a relayed request or raise `RequestRejected(401, "unauthorized")`.

    `headers` has lower-case names; `body` is the raw request body exactly as received; `now` is the clock in
    seconds since the epoch. The replay check comes last so that only genuine signatures are ever recorded.
    """
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if timestamp is None or signature is None:
        raise _unauthorized()
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        raise _unauthorized()
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise _unauthorized()
    expected = relay_signature(key, timestamp, headers.get(REQUEST_ID_HEADER, ""), body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise _unauthorized()
    if replays.seen_before(signature, now):
        raise _unauthorized()


def _unauthorized() -> RequestRejected:
    return RequestRejected(401, "unauthorized")
