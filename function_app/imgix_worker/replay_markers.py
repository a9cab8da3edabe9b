"""Relay signatures accepted once across every instance: a zero-byte marker blob per accepted signature.

Markers live in the container `relay-replays` of the Functions host's own storage account (`AzureWebJobsStorage`),
named by the signature's hex digest and created with `If-None-Match: *`: of two instances given the same signed
request, exactly one creates the marker; the other gets 409 and answers as to any replay. A marker is written
only after the signature verified, so unsigned traffic writes nothing. The stack's lifecycle rule deletes markers
after a day (a signature passes only within 300 s of its timestamp); the stack creates the container, a local run
creates it when missing. The per-process `ReplayCache` stays in front: a replay to the same instance costs no
storage call. A marker that cannot be written is a 503, never a 500: the request was not accepted. The relay does
not retry (it answers AEM with a 500); a job sent again arrives as a new, freshly signed request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .blob_calls import BlobCalls
from .errors import RequestRejected, WorkerError
from .logs import log
from .relay_auth import ReplayCache

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["REPLAY_CONTAINER", "SharedReplayGuard"]

REPLAY_CONTAINER = "relay-replays"
MARKER_TIMEOUT_SECONDS = 10.0


class SharedReplayGuard:
    """`seen_before` over the marker container, behind a per-process cache."""

    def __init__(
        self,
        container: ContainerClient,
        calls: BlobCalls,
        *,
        create_container: bool,
        memory: ReplayCache | None = None,
    ) -> None:
        self._container = container  # creating the container, on a local run's first marker only
        self._calls = calls  # the marker itself: one plain PUT per accepted request
        self._create_container = create_container
        self._memory = memory or ReplayCache()

    def seen_before(self, signature: str, now: float) -> bool:
        """True if any instance accepted `signature` before; otherwise record it everywhere and return False.

        :raises RequestRejected: 503 when the marker store cannot be reached.
        """
        if self._memory.seen_before(signature, now):
            return True
        from azure.core.exceptions import AzureError, ResourceExistsError

        name = signature.removeprefix("sha256=")
        try:
            outcome = self._put(name)
            if outcome == "no container" and self._create_container:
                try:
                    self._container.create_container()
                except ResourceExistsError:
                    pass  # another request created it meanwhile
                outcome = self._put(name)
        except (WorkerError, AzureError) as exc:
            # One attempt, no retry: a retried create whose first attempt landed would see its own marker and
            # refuse a genuine request.
            log("replay marker not written", level=logging.ERROR, error=getattr(exc, "message", type(exc).__name__))
            raise RequestRejected(503, "the request could not be checked; try again") from None
        if outcome == "no container":  # the stack creates it: a missing one is a broken deployment, never a pass
            log("replay marker not written", level=logging.ERROR, error=f"container {REPLAY_CONTAINER} is missing")
            raise RequestRejected(503, "the request could not be checked; try again")
        return outcome == "exists"

    def _put(self, name: str) -> str:
        return self._calls.create_empty(name, timeout=MARKER_TIMEOUT_SECONDS, what="writing the replay marker")
