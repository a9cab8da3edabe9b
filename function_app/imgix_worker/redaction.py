"""Secrets as a type, and the one redaction function every log line, event and error message goes through.

A `Secret` prints as `Secret('**********')`; call `.reveal()` only at the point of use (a header, a signature).
`redact(text)` removes what could leak from free text: SAS signatures (`sig=`), imgix signatures (`s=`), bearer
tokens, JWTs, account keys and the values of registered secrets.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Secret", "redact", "register_secret", "strip_query"]

MASK = "**********"

# Query keys whose values are credentials: Azure SAS signature and imgix signature; `code` is a Functions key.
_SECRET_QUERY_KEYS = ("sig", "s", "code", "token", "access_token")
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:" + "|".join(_SECRET_QUERY_KEYS) + r")=)[^&#\s\"'<>]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_ACCOUNT_KEY = re.compile(r"(?i)(AccountKey=)[^;\s\"']+")
_SHARED_KEY = re.compile(r"(?i)(SharedKey(?:Lite)?\s+[^:\s]+:)[A-Za-z0-9+/=]+")

_registered: set[str] = set()
_registered_lock = threading.Lock()


class Secret:
    """A value that must never be printed: `repr` and `str` are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def register_secret(value: str) -> None:
    """Remember a long-lived secret (a setting) so that `redact` masks it wherever it appears verbatim.

    Short-lived ones (SAS URLs, signed imgix URLs, JWTs) are matched by pattern instead, so this set stays small.
    """
    if value and len(value) >= 8:
        with _registered_lock:
            _registered.add(value)


def redact(text: object) -> str:
    """Return `text` as a string with every credential masked."""
    out = str(text)
    if _registered:
        with _registered_lock:
            values = sorted(_registered, key=len, reverse=True)
        for value in values:
            if value in out:
                out = out.replace(value, MASK)
    out = _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, out)
    out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    out = _JWT.sub(MASK, out)
    out = _ACCOUNT_KEY.sub(lambda m: m.group(1) + MASK, out)
    return _SHARED_KEY.sub(lambda m: m.group(1) + MASK, out)


def strip_query(url: str) -> str:
    """The URL without its query string and fragment: what events may say about a pre-signed URL."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        return "data:"
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
