"""A local stand-in for Adobe IMS: one RSA signing key, its JWKS, and access tokens shaped like IMS's.

IMS access tokens are RS256 JWTs whose lifetime is `created_at` + `expires_in` (milliseconds, as strings) and
whose `client_id` names the integration; the org travels in the `x-gw-ims-org-id` header. The key is made once
under `.local/ims/` so that tokens printed by `make token` stay valid across `make up` runs.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from local_platform.paths import LOCAL_DIR

__all__ = ["LOCAL_CLIENT_ID", "LOCAL_ORG_ID", "LocalIms"]

LOCAL_ORG_ID = "LOCALORG0000000000000000@AdobeOrg"
LOCAL_CLIENT_ID = "local-asset-compute"
KEY_ID = "local-ims-key-1"


@dataclass(frozen=True)
class LocalIms:
    """Signs IMS-style tokens with a local key and publishes the matching JWKS."""

    key_pem: bytes

    @classmethod
    def load(cls, directory: Path | None = None) -> LocalIms:
        """Load the local signing key, creating it on first use."""
        directory = directory or LOCAL_DIR / "ims"
        path = directory / "signing-key.pem"
        if not path.exists():
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            directory.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            path.chmod(0o600)
        return cls(path.read_bytes())

    def jwks(self) -> dict[str, object]:
        """The public key set the worker is configured with (`IMS_JWKS_URL` serves this)."""
        import jwt
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(self.key_pem, password=None)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))  # type: ignore[arg-type]
        jwk.update({"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def token(
        self,
        *,
        client_id: str = LOCAL_CLIENT_ID,
        expires_in_seconds: int = 86400,
        created_at: float | None = None,
        extra: dict[str, object] | None = None,
    ) -> str:
        """An access token as IMS issues it for a technical account."""
        import jwt

        created_ms = int((time.time() if created_at is None else created_at) * 1000)
        claims: dict[str, object] = {
            "id": str(uuid.uuid4()),
            "type": "access_token",
            "client_id": client_id,
            "user_id": f"{client_id}@techacct.adobe.com",
            "as": "ims-na1",
            "scope": "openid,AdobeID,asset_compute,read_organizations,event_receiver,event_receiver_api",
            "created_at": str(created_ms),
            "expires_in": str(expires_in_seconds * 1000),
        }
        claims.update(extra or {})
        return jwt.encode(claims, self.key_pem, algorithm="RS256", headers={"kid": KEY_ID, "itt": "at"})
