"""HTTP plumbing shared by the steps: the HTTP client, the per-job deadline, retries, and the one boundary where
foreign exceptions (urllib3, azure-core) become the worker's own.

Retries: exponential backoff with full jitter, honouring `Retry-After`, for `TransientError` only, and never past the
job's deadline (then the last error becomes a `GenericError`).
"""

from __future__ import annotations

import email.utils
import random
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from urllib3.exceptions import LocationValueError, NewConnectionError
from urllib3.exceptions import TimeoutError as HttpTimeout

from .errors import GenericError, RenditionError, TransientError, WorkerError
from .logs import log
from .pooled_http import ALPN_PROTOCOLS, HTTP_ERRORS, HttpClient, TlsContext

__all__ = [
    "Deadline",
    "call_timeout",
    "http_client",
    "retry",
    "retry_after_seconds",
    "sdk_timeouts",
    "status_error",
    "storage_limits",
    "translate_errors",
]

T = TypeVar("T")


def ssl_context(ca_bundle: str = "") -> ssl.SSLContext:
    """Public CAs, plus the local platform's CA when `ca_bundle` is set (local runs only)."""
    import certifi

    ctx = TlsContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    ctx.load_verify_locations(cafile=certifi.where())
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    ctx.set_alpn_protocols(ALPN_PROTOCOLS)  # before any connection shares it
    return ctx


def http_client(*, timeout: float, ca_bundle: str = "", max_connections: int = 32) -> HttpClient:
    """The worker's HTTP client: TLS verified, no redirects followed (a redirect could lead anywhere), at most
    `max_connections` kept alive per host."""
    return HttpClient(timeout=timeout, ssl_context=ssl_context(ca_bundle), max_connections=max_connections)


@dataclass(frozen=True)
class Deadline:
    """A point in monotonic time by which a job must have reported every rendition."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


# The shortest wait one call gets even when the deadline is (nearly) over: it still fails fast and cleanly.
MIN_CALL_SECONDS = 1.0


def call_timeout(deadline: Deadline, longest: float, *, at_least: float = MIN_CALL_SECONDS) -> float:
    """One HTTP exchange's timeout: what is left of `deadline`, at most `longest` (the client's HTTP timeout), so
    that a call started just before the deadline does not outlive it by a whole HTTP timeout; `at_least` once the
    deadline is (nearly) over."""
    return max(at_least, min(longest, deadline.remaining()))


def sdk_timeouts(seconds: float) -> dict[str, float]:
    """A call's timeout as the Azure SDK's per-operation transport kwargs (`connection_timeout`, `read_timeout`)."""
    return {"connection_timeout": min(10.0, seconds), "read_timeout": seconds}


def storage_limits(deadline: Deadline, longest: float) -> dict[str, float]:
    """`call_timeout` as the Azure SDK's per-operation transport kwargs."""
    return sdk_timeouts(call_timeout(deadline, longest))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds or HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_error(status: int, what: str, *, retry_after: str | None = None) -> TransientError | None:
    """A `TransientError` for 429/5xx answers (worth retrying), else None."""
    if status == 429 or status >= 500:
        return TransientError(
            f"{what} answered HTTP {status}", retry_after=retry_after_seconds(retry_after), status=status
        )
    return None


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Turn urllib3 and azure-core exceptions raised inside into the worker's errors (chained with `from`)."""
    try:
        yield
    except WorkerError:
        raise
    except NewConnectionError as exc:  # refused or not resolved (urllib3 files it under its timeouts)
        raise TransientError(f"{what} failed: {type(exc).__name__}") from exc
    except HttpTimeout as exc:
        raise TransientError(f"{what} timed out") from exc
    except LocationValueError as exc:  # a URL it cannot request: asking again would not help
        raise GenericError(f"{what} failed: the URL is not usable") from exc
    except HTTP_ERRORS as exc:
        raise TransientError(f"{what} failed: {type(exc).__name__}") from exc
    except Exception as exc:
        from azure.core.exceptions import AzureError, HttpResponseError

        if isinstance(exc, HttpResponseError):
            status = exc.status_code or 0
            code = getattr(exc, "error_code", None) or ""
            transient = status_error(status, what)
            if transient is not None:
                raise transient from exc
            raise GenericError(f"{what} failed with HTTP {status} {code}".rstrip()) from exc
        if isinstance(exc, AzureError):
            raise TransientError(f"{what} failed: {type(exc).__name__}") from exc
        raise


def retry(
    operation: Callable[[], T],
    *,
    deadline: Deadline,
    what: str,
    base_delay: float = 0.25,
    max_delay: float = 8.0,
    max_attempts: int = 8,
    context: dict[str, object] | None = None,
) -> T:
    """Run `operation`, retrying `TransientError`s with backoff and jitter until it succeeds or time runs out.

    :raises RenditionError: the operation's own error, or `GenericError` once retries are exhausted.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            with translate_errors(what):
                return operation()
        except TransientError as exc:
            delay = random.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 1)))
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            if attempt >= max_attempts or delay >= deadline.remaining():
                raise GenericError(f"{exc.message} (gave up after {attempt} attempts)") from exc
            log("retrying", what=what, attempt=attempt, delay=round(delay, 3), error=exc.message, **(context or {}))
            time.sleep(delay)  # backoff between attempts of a failing remote call
        except RenditionError:
            raise
