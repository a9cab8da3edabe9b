"""The one redaction function masks every kind of credential the worker handles."""

from __future__ import annotations

from imgix_worker.redaction import MASK, Secret, redact, register_secret, strip_query

# Fake values below: made-up signatures, tokens and keys for the redaction tests.
SAS_URL = (
    "https://acct.blob.core.windows.net/c/a.jpg?sv=2024-08-04&se=2030-01-01&sr=b&sp=r"
    "&sig=AbCdEf0123456789abcdef%2Bxyz%3D"
)
IMGIX_URL = "https://x.imgix.net/staged/1/source.jpg?fm=png&w=100&s=0123456789abcdef0123456789abcdef"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJjbGllbnRfaWQiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_sas_and_imgix_signatures_are_masked() -> None:
    text = redact(f"copy from {SAS_URL} then fetch {IMGIX_URL}")
    assert "AbCdEf0123456789" not in text
    assert "0123456789abcdef0123456789abcdef" not in text
    assert "sig=" + MASK in text and "s=" + MASK in text
    assert "fm=png&w=100" in text


def test_tokens_and_keys_are_masked() -> None:
    text = redact(f"Authorization: Bearer {JWT}; raw {JWT}; AccountKey=Zm9vYmFyYmF6cXV4;x")
    assert JWT not in text
    assert "Zm9vYmFyYmF6cXV4" not in text


def test_registered_secrets_are_masked_anywhere() -> None:
    register_secret("plain-secret-value-42")
    assert "plain-secret-value-42" not in redact("oops plain-secret-value-42 leaked")


def test_secret_type_never_prints_its_value() -> None:
    secret = Secret("sensitive-value")
    assert "sensitive" not in repr(secret) and "sensitive" not in str(secret) and "sensitive" not in f"{secret}"
    assert secret.reveal() == "sensitive-value"


def test_event_source_url_has_no_query() -> None:
    assert strip_query(SAS_URL) == "https://acct.blob.core.windows.net/c/a.jpg"
    assert strip_query("https://user:pw@h.example/x?sig=1") == "https://h.example/x"
    assert strip_query("data:image/png;base64,AAAA") == "data:"
