"""Every error the worker raises, in one tree.

    WorkerError
    ├── RenditionError              a rendition fails; `reason` is the contract's errorReason
    │   ├── SourceFormatUnsupported     the source's type is not accepted
    │   ├── RenditionFormatUnsupported  the requested output format cannot be made
    │   ├── SourceUnsupported           this source cannot be processed although its type can
    │   ├── SourceCorrupt               the source cannot be decoded (empty files too)
    │   ├── RenditionTooLarge           the rendition does not fit the target
    │   ├── RenditionInstructionsError  the rendition's instructions are invalid
    │   └── GenericError                anything else
    ├── TransientError              worth retrying (429, 5xx, timeouts); `retry_after` seconds if the peer said
    ├── EventsUndelivered           a job ended but some events never reached the ingress: retry the message
    ├── RequestRejected             the intake refuses a request; `status` is the HTTP status
    └── SettingsError               a setting is missing or invalid; names the setting, never its value

Messages are safe to publish: they never contain a credential (`secrets.redact` is applied on the way out).
"""

from __future__ import annotations

__all__ = [
    "REASONS",
    "EventsUndelivered",
    "GenericError",
    "RenditionError",
    "RenditionFormatUnsupported",
    "RenditionInstructionsError",
    "RenditionTooLarge",
    "RequestRejected",
    "SettingsError",
    "SourceCorrupt",
    "SourceFormatUnsupported",
    "SourceUnsupported",
    "TransientError",
    "WorkerError",
]


class WorkerError(Exception):
    """Root of the worker's errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RenditionError(WorkerError):
    """A rendition failed; `reason` goes into the `rendition_failed` event as `errorReason`."""

    reason = "GenericError"


class SourceFormatUnsupported(RenditionError):
    reason = "SourceFormatUnsupported"


class RenditionFormatUnsupported(RenditionError):
    reason = "RenditionFormatUnsupported"


class SourceUnsupported(RenditionError):
    reason = "SourceUnsupported"


class SourceCorrupt(RenditionError):
    reason = "SourceCorrupt"


class RenditionTooLarge(RenditionError):
    """`size`, when known, is the rendition's size in bytes: its event carries it as `repo:size` so that a client can
    retry with more (or larger) parts."""

    reason = "RenditionTooLarge"

    def __init__(self, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.size = size


class RenditionInstructionsError(RenditionError):
    reason = "RenditionInstructionsError"


class GenericError(RenditionError):
    reason = "GenericError"


# One class per contract reason, and one reason per class (tests/worker/test_errors.py checks both ways).
REASONS: dict[str, type[RenditionError]] = {
    cls.reason: cls
    for cls in (
        SourceFormatUnsupported,
        RenditionFormatUnsupported,
        SourceUnsupported,
        SourceCorrupt,
        RenditionTooLarge,
        RenditionInstructionsError,
        GenericError,
    )
}


class TransientError(WorkerError):
    """A failure that may pass: retried with backoff inside the job's deadline."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class EventsUndelivered(WorkerError):
    """Raised after a job: these renditions' events were not delivered (and have no report marker), so the queue
    message must come back; the redelivery skips what was reported and reports the rest."""

    def __init__(self, indexes: list[int]) -> None:
        super().__init__(f"{len(indexes)} event(s) not delivered; the message will be retried")
        self.indexes = sorted(indexes)


class RequestRejected(WorkerError):
    """The intake refuses the request with `status` and a JSON `{"message": ...}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SettingsError(WorkerError):
    """A setting is missing or invalid. The message names the setting and never echoes its value."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name}: {problem}")
        self.name = name
