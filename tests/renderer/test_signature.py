"""imgix URL signatures: the published vectors, URLs made by the `imgix` library, and tampering."""

from __future__ import annotations

from urllib.parse import urlsplit

import imgix
import pytest

from local_platform.renderer.signature import sign, split_signature, verify

# reference/imgix.md section 2.2: (token, path, query as signed, expected s)
VECTORS = [
    ("FOO123bar", "/users/1.png", "", "6797c24146142d5b40bde3141fd3600c"),
    ("FOO123bar", "/users/1.png", "?w=400&h=300", "c7b86f666a832434dd38577e38cf86d1"),
    ("FOO123bar", "/users/1.png", "?h=300&w=400", "1a4e48641614d1109c6a7af51be23d18"),
    ("FOO123bar", "/http%3A%2F%2Favatars.com%2Fjohn-smith.png", "", "493a52f008c91416351f8b33d4883135"),
    ("FOO123bar", "/http%3A%2F%2Favatars.com%2Fjohn-smith.png", "?w=400&h=300", "61ea1cc7add87653bb0695fe25f2b534"),
    ("FOO123bar", "/http%3A%2F%2Favatars.com%2Fjohn-smith.png", "?h=300&w=400", "a201fe1a3caef4944dcb40f6ce99e746"),
    ("MYT0KEN", "/path/to/image.jpg", "", "c8bd1807209f7f1d96dd7123f92febb4"),
    ("test1234", "/bridge.png", "?h=100&w=100", "bb8f3a2ab832e35997456823272103a4"),
    ("abcde1234", "/file+with%20some+crazy%20things.jpg", "", "4aadfc1a58f27729a41d05831c52116f"),
]
# The same table's rows without a leading slash: a unit test of the hash function only (js-core `_signParams`).
HASH_ONLY = [
    ("MYT0KEN", "images/1.png", "", "6d82410f89cc6d80a6aa9888dcf85825"),
    ("MYT0KEN", "images/1.png", "?w=400", "990916ef8cc640c58d909833e47f6c31"),
]
TOKEN = "s3cr3tT0ken"


def target_of(url: str) -> bytes:
    parts = urlsplit(url)
    return (parts.path + ("?" + parts.query if parts.query else "")).encode("ascii")


@pytest.mark.parametrize(("token", "path", "query", "expected"), VECTORS + HASH_ONLY)
def test_sign_reproduces_the_published_vectors(token: str, path: str, query: str, expected: str) -> None:
    assert sign(token, path, query) == expected


@pytest.mark.parametrize(("token", "path", "query", "expected"), VECTORS)
def test_verify_accepts_the_published_vectors_as_request_targets(
    token: str, path: str, query: str, expected: str
) -> None:
    target = f"{path}{query}{'&' if query else '?'}s={expected}".encode()
    assert verify(token, target)
    assert not verify(token + "x", target)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("bridge.png", {}),
        ("users/1.png", {"w": 400, "h": 300}),
        ("images/photo.jpg", {"auto": "format,compress", "fit": "crop", "crop": "faces,entropy", "w": 300, "h": 300}),
        (
            "images/photo.jpg",
            {"txt64": "I cannøt belîév∑ it wor\uf8ffs! 😱", "mark64": "https://assets.imgix.net/logo.png"},
        ),
        ("ünïcödé/with spaces & more.png", {"bg": "80ff0000", "invert": True}),
        ("http://avatars.com/john smith.png", {"w": 50}),
    ],
)
@pytest.mark.parametrize("ixlib", [True, False])
def test_verify_accepts_urls_made_by_the_imgix_library(path: str, params: dict[str, object], ixlib: bool) -> None:
    builder = imgix.UrlBuilder("example.imgix.net", sign_key=TOKEN, include_library_param=ixlib)
    assert verify(TOKEN, target_of(builder.create_url(path, params)))


def test_any_one_character_change_is_rejected() -> None:
    builder = imgix.UrlBuilder("example.imgix.net", sign_key=TOKEN, include_library_param=False)
    target = target_of(builder.create_url("a/b c.png", {"w": 120, "fit": "crop", "txt64": "hi"}))
    assert verify(TOKEN, target)
    for i in range(1, len(target)):
        original = target[i : i + 1]
        replacement = b"0" if original != b"0" else b"1"
        tampered = target[:i] + replacement + target[i + 1 :]
        assert not verify(TOKEN, tampered), f"accepted a change at byte {i}: {tampered!r}"
    assert not verify(TOKEN, target + b"0")
    assert not verify(TOKEN, target.replace(b"?", b"?x=1&", 1))


def test_signature_must_be_present_and_last() -> None:
    signed = f"/a.png?w=10&s={sign(TOKEN, '/a.png', '?w=10')}".encode()
    assert verify(TOKEN, signed)
    assert not verify(TOKEN, b"/a.png?w=10")
    assert not verify(TOKEN, b"/a.png")
    s = sign(TOKEN, "/a.png", "?w=10")
    assert not verify(TOKEN, f"/a.png?s={s}&w=10".encode())


def test_signature_is_hashed_over_raw_bytes_not_decoded_ones() -> None:
    plus = f"/a.png?txt=a+b&s={sign(TOKEN, '/a.png', '?txt=a+b')}".encode()
    assert verify(TOKEN, plus)
    assert not verify(TOKEN, plus.replace(b"a+b", b"a%20b"))  # same decoded value, different bytes


def test_split_signature_takes_only_the_final_s() -> None:
    s = "0123456789abcdef0123456789ABCDEF"
    assert split_signature(f"/p?w=1&s={s}".encode()) == (b"/p?w=1", s.lower())
    assert split_signature(f"/p?s={s}".encode()) == (b"/p", s.lower())
    assert split_signature(b"/p?w=1") == (b"/p?w=1", None)
    assert split_signature(f"/p&s={s}".encode()) == (f"/p&s={s}".encode(), None)  # no query: not a parameter
