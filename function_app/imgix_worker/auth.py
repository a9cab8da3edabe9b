"""Who is calling: the IMS bearer token, verified before anything else happens.

The JWT's signature is checked against the configured JWKS (Adobe IMS in the cloud, the local key set in local
runs), then its lifetime (`exp`, or IMS's `created_at` + `expires_in` in milliseconds), its `client_id` against the
environment's allowed clients, and the `x-gw-ims-org-id` header against the allowed orgs. Any failure is a 401 with a
short JSON message that never echoes the token. The Asset Compute service sends the same token with many jobs, so a
token whose signature verified is remembered (by its SHA-256) until it expires: its lifetime, client and org are
still checked on every request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RequestRejected
from .logs import log
from .redaction import Secret
from .transport import ssl_context

__all__ = ["Caller", "ImsAuthenticator"]

CLOCK_SKEW_SECONDS = 60
VERIFIED_TOKENS = 256  # remembered verified tokens (the oldest forgotten first)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its token (secret), client id and org id."""

    token: Secret
    client_id: str
    org_id: str


def _unauthorized(message: str) -> RequestRejected:
    return RequestRejected(401, message)


class ImsAuthenticator:
    """Verifies IMS access tokens against a JWKS URL (keys cached, refreshed on an unknown `kid`)."""

    def __init__(
        self,
        jwks_url: str,
        *,
        org_ids: tuple[str, ...],
        client_ids: tuple[str, ...],
        ca_bundle: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jwks_url = jwks_url
        self._org_ids = frozenset(org_ids)
        self._client_ids = frozenset(client_ids)
        self._ca_bundle = ca_bundle
        self._clock = clock
        self._client: Any = None
        self._lock = threading.Lock()
        self._verified: OrderedDict[bytes, tuple[dict[str, Any], float]] = OrderedDict()

    def _jwks(self) -> Any:
        with self._lock:
            if self._client is None:
                from jwt import PyJWKClient

                self._client = PyJWKClient(
                    self._jwks_url, cache_keys=True, lifespan=3600, timeout=10, ssl_context=ssl_context(self._ca_bundle)
                )
            return self._client

    def _claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature and lifetime hold, from memory for a token already verified.

        :raises RequestRejected: as `authenticate`.
        """
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            known = self._verified.get(digest)
        if known is not None and known[1] + CLOCK_SKEW_SECONDS >= self._clock():
            return known[0]
        claims, expires = self._verify(token)
        with self._lock:
            self._verified[digest] = (claims, expires)
            while len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> tuple[dict[str, Any], float]:
        """The token's claims and its expiry (epoch seconds), after checking its signature and lifetime."""
        import jwt

        try:
            key = self._jwks().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError:
            raise RequestRejected(503, "token keys are unavailable; try again") from None
        except jwt.PyJWKClientError:
            raise _unauthorized("Invalid token") from None
        except jwt.InvalidTokenError:
            raise _unauthorized("Invalid token") from None
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                leeway=CLOCK_SKEW_SECONDS,
                options={"verify_aud": False, "require": []},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("Token expired") from None
        except jwt.InvalidTokenError:
            raise _unauthorized("Invalid token") from None
        if "exp" in claims:
            try:
                return claims, float(claims["exp"])
            except (TypeError, ValueError):  # jwt.decode has checked it is a number
                raise _unauthorized("Invalid token") from None
        try:
            expires = (int(claims["created_at"]) + int(claims["expires_in"])) / 1000
        except (KeyError, TypeError, ValueError):
            raise _unauthorized("Invalid token: no expiry") from None
        if expires + CLOCK_SKEW_SECONDS < self._clock():
            raise _unauthorized("Token expired")
        return claims, expires

    def authenticate(self, headers: Mapping[str, str]) -> Caller:
        """Check the request's bearer token and org header (lower-case header names).

        :raises RequestRejected: 401 for a missing, invalid, expired or foreign token; 503 if keys can't be fetched.
        """
        value = headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized("Missing Oauth token")
        claims = self._claims(token)
        if claims.get("type", "access_token") != "access_token":
            raise _unauthorized("Invalid token: not an access token")
        client_id = claims.get("client_id")
        if not isinstance(client_id, str) or client_id not in self._client_ids:
            # Ids are not secrets; logging the refused one tells the operator what to add to IMS_CLIENT_IDS.
            log("token client not allowed", level=logging.WARNING, client_id=str(client_id)[:200])
            raise _unauthorized("Token's client is not allowed here")
        org_id = headers.get("x-gw-ims-org-id", "").strip()
        if org_id not in self._org_ids:
            log("organization not allowed", level=logging.WARNING, org_id=org_id[:200])
            raise _unauthorized("Organization is not allowed here")
        return Caller(token=Secret(token), client_id=client_id, org_id=org_id)
