"""Server-side request forgery is refused before any request leaves."""

from __future__ import annotations

import pytest

from imgix_worker.url_policy import UrlRejected, check_url

ALLOWED = ("*.blob.core.windows.net", "localhost:10000")


@pytest.mark.parametrize(
    "url",
    [
        "https://acct.blob.core.windows.net/c/x.jpg?sig=1",
        "https://ACCT.blob.core.windows.net:443/c/x.jpg",
        "https://localhost:10000/devstoreaccount1/aem/x.jpg",
    ],
)
def test_allowed(url: str) -> None:
    assert check_url(url, ALLOWED) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://acct.blob.core.windows.net/c/x.jpg", "https"),
        ("https://169.254.169.254/metadata/instance", "IP address"),
        ("https://127.0.0.1:10000/devstoreaccount1/x", "IP address"),
        ("https://[::1]/x", "IP address"),
        ("https://evil.example.com/x.jpg", "allow-list"),
        ("https://blob.core.windows.net.evil.example/x", "allow-list"),
        ("https://acct.blob.core.windows.net.evil.example/x", "allow-list"),
        ("https://user:pw@acct.blob.core.windows.net/x", "credentials"),
        ("https://localhost:10001/x", "allow-list"),
        ("https://localhost/x", "allow-list"),
        ("file:///etc/passwd", "https"),
        ("ftp://acct.blob.core.windows.net/x", "https"),
        ("https://acct.blob.core.windows.net/x y", "valid"),
        ("https://acct.blob.core.windows.net:99999/x", "valid"),
        (12, "URL string"),
    ],
)
def test_refused(url: object, why: str) -> None:
    with pytest.raises(UrlRejected, match=why):
        check_url(url, ALLOWED)
