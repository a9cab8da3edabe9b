"""`source.headers`: extra HTTP headers the caller wants sent when the source is read (Adobe's SDK passes them to
its download, `reference/asset-compute-contract.md` section 1.4).

Names are kept as given; values may be credentials (an `Authorization` header), so each is a `Secret`, never logged
or echoed. Headers that would change how the request is framed or routed are refused at the intake.
"""

from __future__ import annotations

import re

from .errors import RequestRejected
from .redaction import Secret

__all__ = ["MAX_SOURCE_HEADERS", "SourceHeaders", "decode_source_headers", "parse_source_headers", "reveal"]

MAX_SOURCE_HEADERS = 32
_MAX_VALUE_CHARS = 8192
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
# Framing, routing and hop-by-hop headers: the worker's HTTP client owns them.
_REFUSED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer",
     "expect", "range", "proxy-authorization", "proxy-connection", "cookie2"}
)  # fmt: skip

SourceHeaders = tuple[tuple[str, Secret], ...]


def parse_source_headers(raw: object) -> SourceHeaders:
    """Validate `source.headers` from a request.

    :raises RequestRejected: 400 naming `source.headers` and what is wrong (never a value).
    """
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise RequestRejected(400, "source.headers must be an object of header names to string values")
    if len(raw) > MAX_SOURCE_HEADERS:
        raise RequestRejected(400, f"source.headers has more than {MAX_SOURCE_HEADERS} headers")
    headers: list[tuple[str, Secret]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise RequestRejected(400, "source.headers has a name that is not an HTTP header name")
        if name.lower() in _REFUSED or name.lower().startswith("proxy-"):
            raise RequestRejected(400, f"source.headers may not set {name}")
        if not isinstance(value, str) or len(value) > _MAX_VALUE_CHARS:
            raise RequestRejected(400, f"source.headers.{name} must be a string of at most {_MAX_VALUE_CHARS} chars")
        if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
            raise RequestRejected(400, f"source.headers.{name} contains control characters")
        if any(ord(c) > 255 for c in value):  # HTTP/1.1 carries header values as ISO-8859-1 octets
            raise RequestRejected(400, f"source.headers.{name} has characters a header cannot carry")
        headers.append((name, Secret(value)))
    return tuple(headers)


def decode_source_headers(raw: object) -> SourceHeaders:
    """The headers a queue message carries (written by `encode`); anything else is no headers."""
    if not isinstance(raw, dict):
        return ()
    return tuple((str(k), Secret(str(v))) for k, v in raw.items())


def reveal(headers: SourceHeaders) -> dict[str, str]:
    """The headers as sent on the wire (at the point of use only)."""
    return {name: value.reveal() for name, value in headers}
