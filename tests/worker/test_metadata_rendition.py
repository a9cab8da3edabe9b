"""Metadata renditions: the XMP builder, the mapping from imgix's JSON, and the whole worker on real parts."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from PIL import Image, ImageDraw

from imgix_worker.colour_names import colour_name
from imgix_worker.errors import RenditionError, RenditionInstructionsError
from imgix_worker.imgix_urls import ImgixUrls
from imgix_worker.instructions import imgix_params
from imgix_worker.metadata_rendition import (
    MAX_JSON_BYTES,
    NAMESPACE,
    MetadataRequest,
    is_metadata_rendition,
    metadata_document,
    metadata_request,
    render_metadata,
    xmp_properties,
)
from imgix_worker.recipes import apply_recipe
from imgix_worker.redaction import Secret
from imgix_worker.transport import Deadline, http_client
from imgix_worker.xmp import RDF_NAMESPACE, serialize_xmp
from local_platform.adobe_services import LocalHttpsServer
from local_platform.renderer import faces
from local_platform.tls import ensure_tls

from .conftest import JobRunner, image_bytes

RDF = f"{{{RDF_NAMESPACE}}}"
IX = f"{{{NAMESPACE}}}"


def description(document: bytes) -> ET.Element:
    """The one rdf:Description of an XMP document, parsed with namespaces."""
    root = ET.fromstring(document)  # noqa: S314 - our own output; expat >= 2.4 refuses entity amplification
    assert root.tag == f"{RDF}RDF"
    (node,) = list(root)
    assert node.tag == f"{RDF}Description"
    return node


def values(node: ET.Element) -> dict[str, object]:
    """Property (local name in our namespace) -> text, or the list of a rdf:Seq."""
    result: dict[str, object] = {}
    for child in node:
        assert child.tag.startswith(IX), child.tag
        seq = child.find(f"{RDF}Seq")
        result[child.tag[len(IX) :]] = [li.text for li in seq] if seq is not None else child.text
    return result


def test_xmp_is_one_rdf_description_with_declared_namespaces() -> None:
    document = serialize_xmp(
        {"ix:title": "a", "ix:list": ["#ff0000", 2], "ix:flag": True, "ix:ratio": 0.1234567},
        namespaces={"ix": "https://example.test/ns/"},
    )
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?><rdf:RDF xmlns:rdf=')
    node = description(document)
    children = {child.tag: child for child in node}
    assert children["{https://example.test/ns/}flag"].text == "True"
    assert children["{https://example.test/ns/}ratio"].text == "0.123457"
    items = children["{https://example.test/ns/}list"].findall(f"{RDF}Seq/{RDF}li")
    assert [li.text for li in items] == ["#ff0000", "2"]


def test_xmp_escapes_markup_and_drops_characters_xml_cannot_carry() -> None:
    hostile = 'Fogra <39> & "sRGB" </rdf:Description>\x00\x07\ud800 é'
    document = serialize_xmp({"ix:name": hostile}, namespaces={"ix": "https://example.test/ns/"})
    assert b"</rdf:Description></rdf:Description>" not in document
    (child,) = list(description(document))
    assert child.text == 'Fogra <39> & "sRGB" </rdf:Description> é'


def test_xmp_refuses_undeclared_prefixes_bad_names_and_infinite_numbers() -> None:
    ns = {"ix": "https://example.test/ns/"}
    for properties in ({"dc:format": "x"}, {"ix:bad name": "x"}, {"ix:n": float("inf")}):
        with pytest.raises(ValueError):
            serialize_xmp(properties, namespaces=ns)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        serialize_xmp({}, namespaces={"rdf": "https://example.test/"})


IMGIX_JSON = {
    "Content-Length": "180595",
    "Content-Type": "image/jpeg",
    "PixelWidth": 1500,
    "PixelHeight": 1000,
    "DPIWidth": 144,
    "DPIHeight": 72.5,
    "Depth": 8,
    "ColorModel": "RGB",
    "ProfileName": "sRGB IEC61966-2.1",
    "Orientation": 1,
    "Faces": [{"bounds": {"x": 1, "y": 2, "width": 3, "height": 4}}, {"bounds": {}}],
    "Exif": {"PixelXDimension": 1500},
}
PALETTE_JSON = {
    "colors": [
        {"red": 0.98, "hex": "#fa9e5a", "blue": 0.35, "green": 0.62},
        {"red": 0.28, "hex": "#48ABE6", "blue": 0.9, "green": 0.67},
        {"hex": "not a colour"},
    ],
    "average_luminance": 0.375264,
    "dominant_colors": {
        "vibrant": {"hex": "#0789c5"},
        "muted_dark": {"hex": "#354e60"},
        "vibrant_light": {"hex": 7},
    },
}


def test_properties_from_imgix_json_are_in_our_namespace_only() -> None:
    properties = xmp_properties(IMGIX_JSON, PALETTE_JSON, faces=True)
    assert all(name.startswith("imgix:") for name in properties)
    assert properties["imgix:pixelWidth"] == 1500 and properties["imgix:dpiHeight"] == 72.5
    assert properties["imgix:iccProfileName"] == "sRGB IEC61966-2.1"
    assert properties["imgix:colorModel"] == "RGB" and properties["imgix:bitDepth"] == 8
    assert properties["imgix:orientation"] == 1 and properties["imgix:faceCount"] == 2
    assert properties["imgix:colors"] == ["#fa9e5a", "#48abe6"]  # malformed entries left out
    assert properties["imgix:colorNames"] == [colour_name("#fa9e5a"), colour_name("#48abe6")]
    assert properties["imgix:vibrantColor"] == "#0789c5" and properties["imgix:vibrantColorName"] == "steelblue"
    assert properties["imgix:mutedDarkColor"] == "#354e60"
    assert "imgix:vibrantLightColor" not in properties
    assert properties["imgix:averageLuminance"] == 0.375264
    assert "imgix:faceCount" not in xmp_properties(IMGIX_JSON, {}, faces=False)
    assert xmp_properties({}, {}, faces=True) == {"imgix:faceCount": 0}
    assert xmp_properties({"PixelWidth": True, "Depth": "8", "ProfileName": ""}, {}, faces=False) == {}


def test_colour_names_are_the_nearest_css_names() -> None:
    assert colour_name("#ff0000") == "red" and colour_name("#FE0101") == "red"
    assert colour_name("808080") == "gray" and colour_name("#00ffff") == "cyan"
    with pytest.raises(ValueError):
        colour_name("#ff00")


def test_metadata_document_reports_what_the_sdk_reports_for_xml() -> None:
    rendition = metadata_document(xmp_properties(IMGIX_JSON, PALETTE_JSON, faces=True))
    body = rendition.file.read()
    assert rendition.metadata() == {
        "repo:size": len(body),
        "repo:sha1": hashlib.sha1(body).hexdigest(),
        "dc:format": "text/xml",
        "repo:encoding": "us-ascii",
    }
    assert rendition.mimetype == "text/xml; charset=us-ascii"
    assert metadata_document({"imgix:iccProfileName": "Profil Fogra39 é"}).metadata()["repo:encoding"] == "utf-8"


def test_which_renditions_are_metadata_renditions() -> None:
    assert is_metadata_rendition({"fmt": "xml"}) and is_metadata_rendition({"fmt": " XMP "})
    assert is_metadata_rendition({"fmt": "png"}, recipe="metadata")
    assert is_metadata_rendition({"recipe": "metadata"})
    assert is_metadata_rendition({"fmt": "xml"}, recipe="circle")  # AEM's metadata rendition, whatever the path
    assert not is_metadata_rendition({"fmt": "png"}) and not is_metadata_rendition({"fmt": "xml.png"})


def test_metadata_requests_and_refusals() -> None:
    assert metadata_request({"fmt": "xml"}) == MetadataRequest(faces=False, colors=6)
    request = metadata_request({"fmt": "xml", "faces": "true", "colors": "12", "custom": "ignored"})
    assert request.info_params == {"fm": "json", "faces": "1"}
    assert request.palette_params == {"palette": "json", "colors": "12"}
    assert apply_recipe("metadata", {"faces": "1"}) == {"fm": "json", "faces": "1"}
    bad_instructions = [
        {"colors": "0"}, {"colors": "17"}, {"colors": "six"}, {"colors": "\u00b2"}, {"faces": "maybe"},
        {"width": 100}, {"quality": "80"}, {"imgix": "{}"}, {"w": "100"}, {"fit": "crop"}, {"txt64": "aGk"},
    ]  # fmt: skip
    for bad in bad_instructions:
        with pytest.raises(RenditionInstructionsError):
            metadata_request({"fmt": "xml", **bad})
    with pytest.raises(RenditionInstructionsError, match="width does not apply"):
        metadata_request({"fmt": "xml", "width": "100"})


def test_image_renditions_still_refuse_xml() -> None:
    from imgix_worker.errors import RenditionFormatUnsupported

    with pytest.raises(RenditionFormatUnsupported):
        imgix_params({"fmt": "tif"})


def colour_blocks() -> bytes:
    """60% navy, 30% gold, 10% crimson: a palette with an obvious answer."""
    image = Image.new("RGB", (200, 100), (0, 0, 128))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 0, 179, 99), fill=(255, 215, 0))
    draw.rectangle((180, 0, 199, 99), fill=(220, 20, 60))
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(300, 300))
    return out.getvalue()


def test_metadata_rendition_end_to_end(runner: JobRunner) -> None:
    renditions = [
        {"name": "metadata.xml", "fmt": "xml", "faces": "1", "colors": "3"},
        {"name": "small.png", "fmt": "png", "width": 40},
    ]
    done = runner.run(colour_blocks(), renditions, name="blocks.png")
    events = {e["rendition"]["name"]: e for e in done.events}  # type: ignore[index]
    assert events["metadata.xml"]["type"] == "rendition_created", events["metadata.xml"]
    assert events["small.png"]["type"] == "rendition_created"
    body = runner.commit_and_read(done.blobs[0])
    meta = events["metadata.xml"]["metadata"]
    assert meta == {
        "repo:size": len(body),
        "repo:sha1": hashlib.sha1(body).hexdigest(),
        "dc:format": "text/xml",
        "repo:encoding": "us-ascii",
    }
    found = values(description(body))
    assert found["pixelWidth"] == "200" and found["pixelHeight"] == "100"
    assert found["dpiWidth"] == "300" and found["colorModel"] == "RGB" and found["faceCount"] == "0"
    assert found["colors"] == ["#000080", "#ffd700", "#dc143c"]  # most frequent first
    assert found["colorNames"] == ["navy", "gold", "crimson"]
    assert found["vibrantColorName"] in ("gold", "crimson") and "vibrantDarkColor" in found
    assert "format" not in found and "imageWidth" not in found


@pytest.mark.skipif(not faces.available(), reason="opencv-python-headless is not installed")
def test_metadata_rendition_counts_the_portraits_face(runner: JobRunner) -> None:
    """The local renderer's fm=json&faces=1 lists the face OpenCV finds: faceCount 1, as imgix would count it."""
    portrait = (Path(__file__).parents[1] / "cases" / "photo.jpg").read_bytes()  # the demo's portrait, 480x360
    done = runner.run(portrait, [{"name": "m.xml", "fmt": "xml", "faces": "1", "colors": "2"}])
    (event,) = done.events
    assert event["type"] == "rendition_created", event
    found = values(description(runner.commit_and_read(done.blobs[0])))
    assert found["faceCount"] == "1" and found["pixelWidth"] == "480"


def test_metadata_recipe_through_the_endpoint_path(runner: JobRunner) -> None:
    done = runner.run(image_bytes(), [{"name": "meta", "fmt": "xml"}, {"name": "no-fmt"}], recipe="metadata")
    assert [e["type"] for e in done.events] == ["rendition_created"] * 2, done.events
    found = values(description(runner.commit_and_read(done.blobs[0])))
    assert found["pixelWidth"] == "320" and "faceCount" not in found and found["colors"]


@pytest.mark.parametrize(
    ("rendition", "recipe", "field"),
    [
        ({"fmt": "xml", "compressionLevel": "9"}, None, "compressionLevel"),
        ({"fmt": "xml", "pdfbgcolor": "white"}, None, "pdfbgcolor"),
        ({"fmt": "xml", "jpegSize": "20000"}, None, "jpegSize"),
        ({"fmt": "xml", "convertToDpi": "300"}, None, "convertToDpi"),
        ({"recipe": "metadata", "fmt": "png"}, None, "fmt 'png'"),
        ({"fmt": "jpg"}, "metadata", "fmt 'jpg'"),
        ({"fmt": "xml", "recipe": "circle"}, None, "recipe 'circle'"),
        ({"fmt": "xml"}, "circle", "recipe 'circle' (from the endpoint path)"),
    ],
)
def test_metadata_renditions_refuse_what_they_cannot_honour_naming_it(
    rendition: dict[str, object], recipe: str | None, field: str
) -> None:
    assert is_metadata_rendition(rendition, recipe=recipe)
    with pytest.raises(RenditionInstructionsError) as refused:
        metadata_request(rendition, recipe=recipe)
    assert str(refused.value.message).startswith(field), refused.value.message


def test_a_metadata_rendition_with_a_field_imgix_cannot_honour_fails_naming_it(runner: JobRunner) -> None:
    renditions = [
        {"name": "level.xml", "fmt": "xml", "compressionLevel": "9"},
        {"name": "circle.xml", "fmt": "xml", "recipe": "circle"},
        {"name": "fine.xml", "fmt": "xml"},
    ]
    done = runner.run(image_bytes(), renditions)
    events = {e["rendition"]["name"]: e for e in done.events}  # type: ignore[index]
    assert events["fine.xml"]["type"] == "rendition_created"
    for name, field in (("level.xml", "compressionLevel"), ("circle.xml", "recipe")):
        assert events[name]["errorReason"] == "RenditionInstructionsError", events[name]
        assert field in str(events[name]["errorMessage"])


def test_metadata_rendition_failures_use_contract_reasons(runner: JobRunner) -> None:
    done = runner.run(b"not an image at all", [{"name": "m.xml", "fmt": "xml"}])
    (event,) = done.events
    assert event["type"] == "rendition_failed" and event["errorReason"] in ("SourceCorrupt", "SourceFormatUnsupported")
    done = runner.run(image_bytes(), [{"name": "m.xml", "fmt": "xml", "colors": "99"}])
    (event,) = done.events
    assert event["errorReason"] == "RenditionInstructionsError" and "colors" in str(event["errorMessage"])


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the local imgix answers one request with."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)


def json_reply(data: object) -> Reply:
    return Reply(200, json.dumps(data).encode(), {"Content-Type": "application/json"})


Answer = Callable[[str, dict[str, str]], Reply]  # (path, query params) -> reply


@pytest.fixture
def local_imgix() -> Iterator[Callable[[Answer], ImgixUrls]]:
    """Start an HTTPS imgix on 127.0.0.1 that answers every GET through `answer`; give the URLs that reach it."""
    started: list[tuple[LocalHttpsServer, threading.Thread]] = []

    def start(answer: Answer) -> ImgixUrls:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as imgix

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                reply = answer(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                except OSError:  # the client stops reading an oversized answer and hangs up
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        server = LocalHttpsServer(Handler, ensure_tls())
        started.append((server, server.serve_in_background("local-imgix")))
        # server.url is https://localhost:<port> (the local certificate names localhost only); it listens on 127.0.0.1.
        return ImgixUrls("demo.imgix.net", secure_token=Secret("fake-token-for-tests"), base_url=server.url)

    yield start
    for server, thread in started:
        server.shutdown()
        thread.join()
        server.server_close()


def test_render_metadata_asks_imgix_two_signed_questions(local_imgix: Callable[[Answer], ImgixUrls]) -> None:
    asked: list[tuple[str, dict[str, str]]] = []

    def answer(path: str, params: dict[str, str]) -> Reply:
        asked.append((path, params))
        return json_reply(IMGIX_JSON if params.get("fm") == "json" else PALETTE_JSON)

    urls = local_imgix(answer)
    with http_client(timeout=5, ca_bundle=str(ensure_tls().ca_cert)) as http:
        rendition = render_metadata(
            http,
            urls,
            "job/source.jpg",
            {"fmt": "xml", "faces": "1", "colors": "3"},
            deadline=Deadline.after(30),
            timeout=5,
        )
    assert [path for path, _ in asked] == ["/job/source.jpg"] * 2
    assert [{k: v for k, v in p.items() if k != "s"} for _, p in asked] == [
        {"fm": "json", "faces": "1"},
        {"palette": "json", "colors": "3"},
    ]
    assert all(p["s"] for _, p in asked)  # signed like every imgix request
    found = values(description(rendition.file.read()))
    assert found["faceCount"] == "2" and found["colors"] == ["#fa9e5a", "#48abe6"]


@pytest.mark.parametrize(
    ("reply", "reason", "message"),
    [
        (Reply(200, b"<html>no</html>", {"Content-Type": "text/html"}), "GenericError", "not a JSON object"),
        (json_reply([1, 2]), "GenericError", "not a JSON object"),
        (Reply(200, b"{" + b" " * MAX_JSON_BYTES + b"}"), "GenericError", "larger than"),
        (Reply(421, b"corrupt", {"Content-Type": "text/plain"}), "SourceCorrupt", "421"),
        (Reply(400, b"bad colors", {"Content-Type": "text/plain"}), "RenditionInstructionsError", "bad colors"),
    ],
)
def test_render_metadata_turns_bad_answers_into_contract_errors(
    local_imgix: Callable[[Answer], ImgixUrls], reply: Reply, reason: str, message: str
) -> None:
    urls = local_imgix(lambda path, params: reply)
    with http_client(timeout=5, ca_bundle=str(ensure_tls().ca_cert)) as http, pytest.raises(RenditionError) as caught:
        render_metadata(http, urls, "job/source.jpg", {"fmt": "xml"}, deadline=Deadline.after(30), timeout=5)
    assert caught.value.reason == reason and message in caught.value.message
    assert "fake-token-for-tests" not in caught.value.message and "s=" not in caught.value.message


def test_render_metadata_retries_transient_imgix_answers(local_imgix: Callable[[Answer], ImgixUrls]) -> None:
    calls: list[str] = []

    def answer(path: str, params: dict[str, str]) -> Reply:
        calls.append("fm=json" if "fm" in params else "palette=json")
        if len(calls) == 1:
            return Reply(503, headers={"Retry-After": "0"})
        return json_reply(IMGIX_JSON if params.get("fm") else PALETTE_JSON)

    urls = local_imgix(answer)
    with http_client(timeout=5, ca_bundle=str(ensure_tls().ca_cert)) as http:
        rendition = render_metadata(http, urls, "job/s.jpg", {"fmt": "xml"}, deadline=Deadline.after(30), timeout=5)
    assert calls == ["fm=json", "fm=json", "palette=json"] and rendition.size > 0
