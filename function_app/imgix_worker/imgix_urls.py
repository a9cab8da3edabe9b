"""Signed imgix URLs, made by the `imgix` library (sorted parameters, MD5 signature `s` last).

imgix signs path and query only, never scheme and host, so a local run may fetch the same signed path and query
from the local renderer's origin (`IMGIX_BASE_URL`).
"""

from __future__ import annotations

from collections.abc import Mapping

from imgix import UrlBuilder

from .redaction import Secret

__all__ = ["ImgixUrls"]


class ImgixUrls:
    """Builds the signed URL of a staged blob with rendition parameters."""

    def __init__(self, domain: str, *, secure_token: Secret, base_url: str) -> None:
        self._builder = UrlBuilder(domain, sign_key=secure_token.reveal(), include_library_param=False)
        self._domain_origin = f"https://{domain}"
        self._base_url = base_url.rstrip("/")

    def signed_url(self, path: str, params: Mapping[str, str]) -> Secret:
        """The signed URL for blob `path` (relative to the imgix source) with `params`; a secret (it carries `s`)."""
        url = self._builder.create_url(path, dict(params))
        if self._base_url != self._domain_origin:
            url = self._base_url + url[len(self._domain_origin) :]
        return Secret(url)
