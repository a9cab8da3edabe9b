"""XMP renditions in test cases are compared by what they say (cases_rdf.py), through `compare_files`."""

from __future__ import annotations

from pathlib import Path

from local_platform.cases_compare import compare_files
from local_platform.cases_rdf import compare_rdf, is_rdf, rdf_properties

NS = "https://example.test/ns/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def xmp(path: Path, body: str, *, prefix: str = "ix") -> Path:
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><rdf:RDF xmlns:rdf="{RDF_NS}" xmlns:{prefix}="{NS}">'
        f"<rdf:Description>{body.replace('ix:', prefix + ':')}</rdf:Description></rdf:RDF>",
        encoding="utf-8",
    )
    return path


COLOURS = "<ix:colors><rdf:Seq><rdf:li>#000080</rdf:li><rdf:li>#ffd700</rdf:li></rdf:Seq></ix:colors>"
BASE = f"<ix:name>navy</ix:name><ix:luma>0.2920</ix:luma>{COLOURS}"


def test_same_statements_match_whatever_the_prefix_and_layout(tmp_path: Path) -> None:
    expected = xmp(tmp_path / "e.xml", BASE)
    actual = tmp_path / "a.xml"
    actual.write_text(
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF_NS}">\n'
        f'  <rdf:Description rdf:about="" xmlns:other="{NS}" other:name="navy">\n'
        "    <other:colors><rdf:Seq><rdf:li>#000081</rdf:li><rdf:li>#ffd700</rdf:li></rdf:Seq></other:colors>\n"
        "    <other:luma>0.2921</other:luma>\n"
        "  </rdf:Description></rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    assert is_rdf(expected) and is_rdf(actual)
    assert rdf_properties(actual)[f"{{{NS}}}colors"] == ("#000081", "#ffd700")
    assert compare_rdf(expected, actual) is None
    assert compare_files(expected, actual) is None  # the case runner's entry point


def test_differences_are_named(tmp_path: Path) -> None:
    expected = xmp(tmp_path / "e.xml", BASE)
    cases = {
        "missing": (f"<ix:name>navy</ix:name>{COLOURS}", "properties missing"),
        "extra": (BASE + "<ix:faces>1</ix:faces>", "unexpected"),
        "name": (BASE.replace(">navy<", ">blue<"), "name is 'blue'"),
        "colour": (BASE.replace("#ffd700", "#ffe000"), "colors is '#ffe000'"),
        "count": (BASE.replace("<rdf:li>#ffd700</rdf:li>", ""), "has 1 items, expected 2"),
        "number": (BASE.replace("0.2920", "0.35"), "luma is '0.35'"),
    }
    for label, (body, message) in cases.items():
        problem = compare_files(expected, xmp(tmp_path / f"{label}.xml", body))
        assert problem is not None and message in problem, (label, problem)


def test_files_that_are_not_rdf_are_compared_as_bytes(tmp_path: Path) -> None:
    plain = tmp_path / "a.xml"
    plain.write_text("<svg/>", encoding="utf-8")
    other = tmp_path / "b.xml"
    other.write_text("<svg />", encoding="utf-8")
    assert not is_rdf(plain)
    assert compare_files(plain, other) == "contents differ"
    assert compare_rdf(xmp(tmp_path / "e.xml", BASE), plain) == "a.xml is not an RDF/XML document"
