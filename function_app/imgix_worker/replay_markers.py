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

from .errors import RequestRejected
from .logs import log
from .relay_auth import ReplayCache

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = ["REPLAY_CONTAINER", "SharedReplayGuard"]

REPLAY_CONTAINER = "relay-replays"


class SharedReplayGuard:
    """`seen_before` over the marker container, behind a per-process cache."""

    def __init__(
        self, container: ContainerClient, *, create_container: bool, memory: ReplayCache | None = None
    ) -> None:
        self._container = container
        self._create_container = create_container
        self._memory = memory or ReplayCache()

    def seen_before(self, signature: str, now: float) -> bool:
        """True if any instance accepted `signature` before; otherwise record it everywhere and return False.

        :raises RequestRejected: 503 when the marker store cannot be reached.
        """
        if self._memory.seen_before(signature, now):
            return True
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

        name = signature.removeprefix("sha256=")
        try:
            try:
                self._put(name)
            except ResourceNotFoundError:
                if not self._create_container:
                    raise
                try:
                    self._container.create_container()
                except ResourceExistsError:
                    pass  # another request created it meanwhile
                self._put(name)
        except (ResourceExistsError, ResourceModifiedError):
            return True
        except AzureError as exc:
            # No SDK retry underneath (see service.py): a retried create whose first attempt landed would see
            # its own marker and refuse a genuine request.
            log("replay marker not written", level=logging.ERROR, error=type(exc).__name__)
            raise RequestRejected(503, "the request could not be checked; try again") from None
        return False

    def _put(self, name: str) -> None:
        # overwrite=False sends If-None-Match: *, so the service decides which of two racing instances wins.
        self._container.upload_blob(name, b"", overwrite=False)
