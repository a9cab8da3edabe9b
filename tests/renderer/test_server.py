"""The renderer over real HTTPS, reading a real Azurite container with a SAS, as imgix reads an Azure source."""

from __future__ import annotations

import io
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import imgix
import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, ContentSettings, generate_container_sas
from PIL import Image

from local_platform.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from local_platform.renderer import RendererProcess
from local_platform.renderer.signature import sign
from local_platform.renderer.source import BlobSource

from .bombs import png_declaring
from .images import encode, quadrants

pytestmark = pytest.mark.azurite

TOKEN = "local-secure-token-1234"
LIMIT = 200_000  # the signed renderer's input limit in these tests (500 MB by default)
UNICODE_PATH = "images/ünïcode name.png"


@dataclass(frozen=True)
class Source:
    container_url: str
    sas: str
    ca_cert: Path


@pytest.fixture(scope="module")
def source(azurite: Azurite) -> Iterator[Source]:
    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    name = f"imgix-{uuid.uuid4().hex[:8]}"
    container = service.create_container(name)
    blobs = {
        "images/quad.png": (encode(quadrants()), "image/png"),
        UNICODE_PATH: (encode(quadrants(40, 30)), "image/png"),
        "images/thin.png": (encode(Image.new("RGB", (400, 10), (9, 9, 9))), "image/png"),
        "corrupt.jpg": (b"\xff\xd8\xff\xe0 definitely not the rest of a jpeg", "image/jpeg"),
        "notes.txt": (b"plain text, served as it is", "text/plain"),
        "bomb.png": (png_declaring(50_000, 50_000), "image/png"),
        "large.bin": (b"\x00" * (LIMIT + 1), "application/octet-stream"),
        "images/marks/dot.png": (encode(Image.new("RGBA", (20, 20), (255, 0, 255, 255))), "image/png"),
    }
    for blob, (data, content_type) in blobs.items():
        container.upload_blob(blob, data, content_settings=ContentSettings(content_type=content_type))
    sas = generate_container_sas(
        ACCOUNT,
        name,
        account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    try:
        yield Source(f"{azurite.blob_endpoint}/{name}", sas, azurite.tls.ca_cert)
    finally:
        container.delete_container()


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("renderer") / "renderer.log"


@pytest.fixture(scope="module")
def signed(azurite: Azurite, source: Source, log_file: Path) -> Iterator[RendererProcess]:
    with RendererProcess.start(
        container_url=source.container_url,
        sas=source.sas,
        secure_token=TOKEN,
        tls=azurite.tls,
        log_file=log_file,
        max_source_bytes=LIMIT,
    ) as renderer:
        yield renderer


@pytest.fixture(scope="module")
def unsigned(azurite: Azurite, source: Source) -> Iterator[RendererProcess]:
    with RendererProcess.start(
        container_url=source.container_url, sas=source.sas, secure_token=None, prefix="images/", tls=azurite.tls
    ) as renderer:
        yield renderer


@pytest.fixture(scope="module")
def client(azurite: Azurite) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(azurite.tls.ca_cert)), timeout=30) as c:
        yield c


def signed_target(path: str, params: dict[str, object] | None = None, *, ixlib: bool = True) -> str:
    url = imgix.UrlBuilder("example.imgix.net", sign_key=TOKEN, include_library_param=ixlib).create_url(
        path, params or {}
    )
    parts = urlsplit(url)
    return parts.path + "?" + parts.query


def test_renders_a_signed_request(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target("images/quad.png", {"w": 100, "fm": "png"}))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert int(response.headers["content-length"]) == len(response.content)
    assert float(response.headers["x-render-seconds"]) >= 0
    assert "vary" not in response.headers
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (100, 75) and image.getpixel((5, 5))[:3] == (255, 0, 0)


def test_head_has_the_headers_and_no_body(signed: RendererProcess, client: httpx.Client) -> None:
    target = signed_target("images/quad.png", {"w": 50, "fm": "jpg"})
    get, head = client.get(signed.url + target), client.head(signed.url + target)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "image/jpeg"
    assert head.headers["content-length"] == get.headers["content-length"]


def test_only_get_and_head(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.post(signed.url + signed_target("images/quad.png"), content=b"x")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_bad_or_missing_signature_is_a_403(signed: RendererProcess, client: httpx.Client) -> None:
    target = signed_target("images/quad.png", {"w": 100})
    last = "0" if target[-1] != "0" else "1"
    for bad in (target[:-1] + last, target.replace("w=100", "w=101"), target.split("&s=")[0], "/images/quad.png"):
        response = client.get(signed.url + bad)
        assert response.status_code == 403, bad
        assert response.headers["content-type"].startswith("text/plain")
        assert TOKEN not in response.text and "Traceback" not in response.text


def test_missing_blob_is_a_404(signed: RendererProcess, client: httpx.Client) -> None:
    assert client.get(signed.url + signed_target("images/nope.png")).status_code == 404


def test_invalid_value_is_a_400(signed: RendererProcess, client: httpx.Client) -> None:
    for params in ({"w": "abc"}, {"bg": "notacolour"}, {"fm": "blurhash"}, {"palette": "xml"}):
        response = client.get(signed.url + signed_target("images/quad.png", params, ixlib=False))
        assert response.status_code == 400, params
        assert response.text.startswith("400 ") and len(response.text) < 200
    not_base64 = f"/images/quad.png?txt64=%2A%2A&s={sign(TOKEN, '/images/quad.png', '?txt64=%2A%2A')}"
    assert client.get(signed.url + not_base64).status_code == 400


def test_json_and_css_answers_have_their_content_types(signed: RendererProcess, client: httpx.Client) -> None:
    info = client.get(signed.url + signed_target("images/quad.png", {"fm": "json"}))
    assert info.status_code == 200 and info.headers["content-type"] == "application/json"
    assert info.json()["Content-Type"] == "image/png" and int(info.headers["content-length"]) == len(info.content)
    palette = client.get(signed.url + signed_target("images/quad.png", {"palette": "json", "colors": 4}))
    assert palette.status_code == 200 and len(palette.json()["colors"]) == 4
    css = client.get(signed.url + signed_target("images/quad.png", {"palette": "css"}))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_unknown_parameters_are_ignored(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target("images/quad.png", {"w": 40, "foo": "bar", "x-y": "1"}))
    assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).size == (40, 30)


def test_source_over_the_input_limit_is_a_413(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target("large.bin"))
    assert response.status_code == 413


def test_decompression_bomb_is_refused(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target("bomb.png", {"w": 100}))
    assert response.status_code == 422 and "too large" in response.text


def test_corrupt_image_is_a_421(signed: RendererProcess, client: httpx.Client) -> None:
    assert client.get(signed.url + signed_target("corrupt.jpg", {"w": 10})).status_code == 421


def test_non_image_content_passes_through(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target("notes.txt", {"w": 10}))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain" and response.content == b"plain text, served as it is"


def test_output_is_capped_at_8192(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target("images/thin.png", {"w": 8000, "dpr": 2}))
    assert Image.open(io.BytesIO(response.content)).size == (8192, 205)


def test_auto_format_follows_accept_and_varies(signed: RendererProcess, client: httpx.Client) -> None:
    target = signed.url + signed_target("images/quad.png", {"auto": "format", "w": 20})
    webp = client.get(target, headers={"Accept": "image/webp,*/*"})
    assert webp.headers["content-type"] == "image/webp" and webp.headers["vary"] == "Accept"
    plain = client.get(target, headers={"Accept": "*/*"})
    assert plain.headers["content-type"] == "image/png"


def test_unicode_and_spaces_in_the_path(signed: RendererProcess, client: httpx.Client) -> None:
    response = client.get(signed.url + signed_target(UNICODE_PATH, {"w": 20}))
    assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).size == (20, 15)


def test_uri_over_8000_characters_is_a_414(signed: RendererProcess, client: httpx.Client) -> None:
    assert client.get(signed.url + "/images/quad.png?x=" + "a" * 8100).status_code == 414


def test_unsigned_mode_with_a_prefix(unsigned: RendererProcess, client: httpx.Client) -> None:
    response = client.get(unsigned.url + "/quad.png?w=10&s=00000000000000000000000000000000")
    assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).size == (10, 8)
    assert client.get(unsigned.url + "/../notes.txt").status_code == 404
    assert client.get(unsigned.url + "/notes.txt").status_code == 404  # outside the prefix


def test_server_survives_broken_clients(signed: RendererProcess, client: httpx.Client, azurite: Azurite) -> None:
    with socket.create_connection(("127.0.0.1", signed.port)) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\n\r\nnot tls at all")
    context = ssl.create_default_context(cafile=str(azurite.tls.ca_cert))
    with (
        socket.create_connection(("127.0.0.1", signed.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET /images/quad.png?w=1")  # hangs up mid request line
    with (
        socket.create_connection(("127.0.0.1", signed.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"BREW /pot HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert tls.recv(100).startswith(b"HTTP/1.1 501")
    assert client.get(signed.url + signed_target("images/quad.png", {"w": 10})).status_code == 200


def test_log_holds_no_secret(signed: RendererProcess, client: httpx.Client, source: Source, log_file: Path) -> None:
    client.get(signed.url + signed_target("images/quad.png", {"w": 12}))
    client.get(signed.url + signed_target("images/missing.png"))
    log = log_file.read_text()
    signature = dict(part.split("=", 1) for part in source.sas.split("&"))["sig"]
    assert "/images/quad.png?" in log  # requests are logged...
    assert TOKEN not in log and signature not in log and source.sas not in log  # ...without secrets
    assert "&s=***" in log


def test_blob_source_maps_storage_answers(source: Source) -> None:
    good = BlobSource(container_url=source.container_url, sas=source.sas, ca_file=source.ca_cert, max_bytes=LIMIT)
    forged = BlobSource(container_url=source.container_url, sas=source.sas[:-4] + "AAA%3D", ca_file=source.ca_cert)
    try:
        assert good.fetch("images/quad.png").content_type == "image/png"
        for source_, name, status in ((good, "nope.png", 404), (good, "large.bin", 413), (forged, "notes.txt", 403)):
            with pytest.raises(Exception) as caught:
                source_.fetch(name)
            assert getattr(caught.value, "status", None) == status, name
    finally:
        good.close()
        forged.close()


def test_mark_is_read_from_the_same_source(
    signed: RendererProcess, unsigned: RendererProcess, client: httpx.Client
) -> None:
    params = {"mark": "/images/marks/dot.png?w=10", "mark-pad": 0, "fm": "png"}
    response = client.get(signed.url + signed_target("images/quad.png", params))
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.getpixel((395, 295)) == (255, 0, 255)  # the mark, at its own w=10, bottom right
    assert image.getpixel((385, 285)) == (255, 255, 0)  # the image beside it
    # With a path prefix, the mark's path is under it too, as the source's is.
    relative = client.get(unsigned.url + "/quad.png?mark=marks/dot.png&fm=png")
    assert Image.open(io.BytesIO(relative.content)).convert("RGB").getpixel((390, 290)) == (255, 0, 255)
    missing = client.get(signed.url + signed_target("images/quad.png", {"mark": "/images/marks/none.png"}))
    assert missing.status_code == 400 and "mark" in missing.text
