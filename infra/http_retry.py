"""Retrying HTTP requests for the deploy-time clients (OneDeploy, imgix Management API).

Transient answers (408, 409 while another deployment runs, 429, 5xx) and connection errors are retried with
exponential backoff, honouring `Retry-After` up to a cap. Errors name the method, the URL without its query and
the status, never a header or body that could hold a credential.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["HttpError", "RetryPolicy", "request_with_retry"]

TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class HttpError(Exception):
    """A request failed for good: a non-transient status, or retries ran out."""

    def __init__(self, method: str, url: str, status: int | None, detail: str) -> None:
        self.status = status
        where = f"{method} {url.split('?', 1)[0]}"
        super().__init__(f"{where}: {detail}" if status is None else f"{where}: HTTP {status} {detail}".rstrip())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; `sleep` is the clock the waits go through."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based): Retry-After if given, else backoff."""
        if retry_after:
            seconds = _parse_retry_after(retry_after)
            if seconds is not None:
                return min(max(seconds, 0.0), self.max_delay)
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.timestamp() - time.time()


def request_with_retry(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    headers: Callable[[], Mapping[str, str]],
    content: bytes | None = None,
    json: object | None = None,
    ok: Callable[[httpx.Response], bool] = lambda r: r.is_success,
) -> httpx.Response:
    """Send a request until `ok(response)`, retrying transient failures per `policy`.

    `headers` is called before every attempt so that a bearer token is fetched fresh (it may expire between tries).

    :raises HttpError: on a non-transient failure or when the attempts are used up.
    """
    last: str = "no attempt made"
    last_status: int | None = None
    for attempt in range(1, policy.attempts + 1):
        retry_after = None
        try:
            response = client.request(method, url, headers=dict(headers()), content=content, json=json)
        except httpx.TransportError as exc:
            last, last_status = type(exc).__name__, None
        else:
            if ok(response):
                return response
            last, last_status = _reason(response), response.status_code
            if response.status_code not in TRANSIENT_STATUS:
                raise HttpError(method, url, response.status_code, last)
            retry_after = response.headers.get("retry-after")
        if attempt < policy.attempts:
            policy.sleep(policy.delay(attempt, retry_after))
    raise HttpError(method, url, last_status, f"{last} (gave up after {policy.attempts} attempts)")


def _reason(response: httpx.Response) -> str:
    # The reason phrase only: bodies of failed deploy/API calls can echo request details.
    return response.reason_phrase or ""
