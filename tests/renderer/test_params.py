"""Parameter parsing: base64 variants, aliases, colours, w/h values, and 400s for bad values."""

from __future__ import annotations

import base64

import pytest

from local_platform.renderer import RenderError
from local_platform.renderer.colors import parse_color
from local_platform.renderer.params import Dimension, Params, parse_query


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_parse_query_last_value_wins_but_auto_accumulates() -> None:
    assert parse_query("w=1&w=2&auto=format&auto=compress&txt=a+b%2Cc") == {
        "w": "2",
        "auto": "format,compress",
        "txt": "a b,c",
    }


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("Hello, World!", "SGVsbG8sIFdvcmxkIQ"),
        ("this/seems… pretty sketchy! 😁", "dGhpcy9zZWVtc-KApiBwcmV0dHkgc2tldGNoeSEg8J-YgQ"),
        ("https://assets.imgix.net/logo.png", "aHR0cHM6Ly9hc3NldHMuaW1naXgubmV0L2xvZ28ucG5n"),
        ("I cannøt belîév∑ it wor\uf8ffs! 😱", "SSBjYW5uw7h0IGJlbMOuw6l24oiRIGl0IHdvcu-jv3MhIPCfmLE"),
    ],
)
def test_base64_variants_decode_the_published_vectors(text: str, encoded: str) -> None:
    assert Params({"txt64": encoded}).get("txt") == text


def test_base64_works_for_any_parameter_and_through_aliases() -> None:
    p = Params({"w64": b64("120"), "mono64": b64("ff0000"), "fit64": b64("crop")})
    assert p.dimension("w") == Dimension(120, fraction=False)
    assert p.color("monochrome") == (255, 0, 0, 255)
    assert p.get("fit") == "crop"


@pytest.mark.parametrize("value", ["not base64!", "SGVsbG8=", "a", "%%%", "SGVsbG8+"])
def test_non_base64_value_is_a_400(value: str) -> None:
    with pytest.raises(RenderError) as caught:
        Params({"txt64": value})
    assert caught.value.status == 400


def test_non_utf8_base64_is_a_400() -> None:
    with pytest.raises(RenderError):
        Params({"txt64": base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=")})


def test_auto64_and_ch64_are_not_base64_variants() -> None:
    p = Params({"auto64": b64("format"), "ch64": "x"})
    assert p.get("auto") is None and p.get("ch") is None


def test_aliases_resolve_and_canonical_spelling_wins() -> None:
    p = Params({"width": "100", "height": "50", "f": "crop", "or": "6", "inv": "true", "mono": "red"})
    assert (p.get("w"), p.get("h"), p.get("fit"), p.get("orient"), p.get("invert")) == (
        "100",
        "50",
        "crop",
        "6",
        "true",
    )
    assert p.color("monochrome") == (255, 0, 0, 255)
    assert Params({"width": "100", "w": "200"}).get("w") == "200"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("f00", (255, 0, 0, 255)),
        ("8f00", (255, 0, 0, 136)),
        ("00ff00", (0, 255, 0, 255)),
        ("800000ff", (0, 0, 255, 128)),
        ("0000", (0, 0, 0, 0)),
        ("red", (255, 0, 0, 255)),
        ("CornflowerBlue", (100, 149, 237, 255)),
        ("rebeccapurple", (102, 51, 153, 255)),
    ],
)
def test_colours_are_hex_with_alpha_first_or_keywords(value: str, expected: tuple[int, ...]) -> None:
    assert parse_color(value) == expected


def test_imgix_keywords_are_colours() -> None:
    assert parse_color("imgixorange") is not None and parse_color("imgixblue") is not None


@pytest.mark.parametrize("value", ["12", "12345", "fffffff", "ggg", "notacolour", "#"])
def test_bad_colour_is_a_400(value: str) -> None:
    with pytest.raises(RenderError) as caught:
        Params({"bg": value}).color("bg")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", Dimension(2, False)),
        ("8192", Dimension(8192, False)),
        ("0.5", Dimension(0.5, True)),
        ("1", Dimension(1, True)),
    ],
)
def test_dimension_is_pixels_or_fraction(value: str, expected: Dimension) -> None:
    assert Params({"w": value}).dimension("w") == expected


@pytest.mark.parametrize("value", ["0", "-5", "8193", "1.5", "abc", "nan", "inf"])
def test_dimension_out_of_range_is_a_400(value: str) -> None:
    with pytest.raises(RenderError) as caught:
        Params({"w": value}).dimension("w")
    assert caught.value.status == 400


def test_suggested_ranges_are_clamped_strict_ones_refused() -> None:
    assert Params({"bri": "500"}).number("bri", default=0, lo=-100, hi=100) == 100
    with pytest.raises(RenderError):
        Params({"dpr": "9"}).number("dpr", default=1, lo=0, hi=5, strict=True)


def test_booleans() -> None:
    assert Params({"invert": "True"}).boolean("invert")
    assert not Params({"invert": "0"}).boolean("invert")
    with pytest.raises(RenderError):
        Params({"invert": "maybe"}).boolean("invert")


def test_error_message_shortens_long_values() -> None:
    with pytest.raises(RenderError) as caught:
        Params({"w": "x" * 500}).dimension("w")
    assert len(caught.value.message) < 120
