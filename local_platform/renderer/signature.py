"""imgix secure-URL signatures: `s` = lowercase hex MD5(token + path + query), verified on the raw request target.

imgix signs the path and the query exactly as they appear in the URL (still percent-encoded, the query with its
leading `?`), and `s` must be the last parameter. Different client libraries encode the same parameters differently
(order, `%20` vs `+`, `%2C` vs `,`), so the verifier hashes the bytes it received and never decodes, re-encodes or
re-sorts anything (reference/imgix.md section 2).
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["sign", "split_signature", "verify"]

# `s` is the final parameter: `?s=<32 hex>` alone or `&s=<32 hex>` at the end.
_FINAL_S = re.compile(rb"(?:\?|&)s=([0-9A-Fa-f]{32})\Z")


def sign(token: str, path: str, query: str = "") -> str:
    """The signature imgix expects for `path` (as in the URL, with its `/`) and `query` (with its `?`, or "")."""
    return _digest(token, (path + query).encode("utf-8"))


def split_signature(target: bytes) -> tuple[bytes, str | None]:
    """Split a raw request target into the signed part and the final `s` value (None when there is none)."""
    match = _FINAL_S.search(target, target.find(b"?") if b"?" in target else len(target))
    if match is None:
        return target, None
    return target[: match.start()], match.group(1).decode("ascii").lower()


def verify(token: str, target: bytes) -> bool:
    """Whether the raw request target (path and query, as received) carries the right final `s` for `token`."""
    signed, given = split_signature(target)
    if given is None:
        return False
    return hmac.compare_digest(_digest(token, signed), given)


def _digest(token: str, signed: bytes) -> str:
    return hashlib.md5(token.encode("utf-8") + signed, usedforsecurity=False).hexdigest()
