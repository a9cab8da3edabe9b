"""Which URLs the worker may touch: https only, hosts on the environment's allow-list, no IP literals, no userinfo.

Checked at the intake for the source and every target, before any request leaves: this closes server-side request
forgery (`http://`, `169.254.169.254`, internal names, foreign hosts).
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["UrlRejected", "check_url", "host_allowed"]

_SPACE = re.compile(r"\s")  # what str.isspace() calls whitespace, found at C speed (a job has dozens of long URLs)


class UrlRejected(ValueError):
    """A URL breaks the policy; the message says why without echoing the URL's query."""


def host_allowed(host: str, port: int | None, allowed: tuple[str, ...]) -> bool:
    """Whether `host[:port]` matches an allow-list entry (`name`, `*.suffix`, each optionally `:port`)."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        pattern, _, entry_port = entry.partition(":")
        if entry_port and (port is None or int(entry_port) != port):
            continue
        if not entry_port and port not in (None, 443):
            continue
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and fnmatch.fnmatchcase(host, pattern):
                return True
        elif host == pattern:
            return True
    return False


def check_url(url: object, allowed: tuple[str, ...]) -> str:
    """Return `url` if the policy allows it.

    :raises UrlRejected: with the reason.
    """
    if not isinstance(url, str) or not url:
        raise UrlRejected("must be a URL string")
    if len(url) > 16384 or _SPACE.search(url):
        raise UrlRejected("is not a valid URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRejected("is not a valid URL") from None
    reason = _origin_refusal(parts.scheme, parts.netloc, parts.hostname or "", port, allowed)
    if reason is not None:
        raise UrlRejected(reason)
    return url


@functools.lru_cache(maxsize=256)
def _origin_refusal(scheme: str, netloc: str, host: str, port: int | None, allowed: tuple[str, ...]) -> str | None:
    """Why URLs of this origin are refused, or None; cached: a multipart target's URLs all share one origin."""
    if scheme.lower() != "https":
        return "must use https"
    if "@" in netloc:
        return "must not carry credentials in the host part"
    if not host:
        return "has no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "must name a host, not an IP address"
    if not host_allowed(host, port, allowed):
        return f"host {host} is not on this environment's allow-list"
    return None
