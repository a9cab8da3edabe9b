"""Comparing XMP (RDF/XML) renditions by what they say, not by their bytes.

Two documents match when their `rdf:Description`s carry the same properties (namespace URI + name, whatever the
prefixes and attribute/element form) with matching values: equal text, or numbers within 1%, or `#rrggbb` colours
within 8 per channel (palette extraction may move a colour by a step between platforms); `rdf:Seq`/`rdf:Bag`/
`rdf:Alt` items pairwise in order; structures property by property.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["MAX_RDF_BYTES", "compare_rdf", "is_rdf", "rdf_properties"]

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
MAX_RDF_BYTES = 1024 * 1024
_CONTAINERS = {f"{RDF}Seq", f"{RDF}Bag", f"{RDF}Alt"}
_HEX = re.compile(r"#([0-9a-fA-F]{6})")
_SKIPPED_ATTRIBUTES = {f"{RDF}about", f"{RDF}parseType", "{http://www.w3.org/XML/1998/namespace}lang"}

Value = str | tuple["Value", ...] | dict[str, "Value"]


def _parse(path: Path) -> ET.Element | None:
    if path.stat().st_size > MAX_RDF_BYTES:
        return None
    try:
        # Renditions of our own runs; expat >= 2.4 refuses entity amplification and ET resolves no external entity.
        root = ET.fromstring(path.read_bytes())  # noqa: S314
    except ET.ParseError:
        return None
    if root.tag == "{adobe:ns:meta/}xmpmeta":  # an x:xmpmeta wrapper around rdf:RDF
        inner = root.find(f"{RDF}RDF")
        root = inner if inner is not None else root
    return root if root.tag == f"{RDF}RDF" else None


def is_rdf(path: Path) -> bool:
    """Whether `path` is an RDF/XML document (`rdf:RDF` root, optionally inside `x:xmpmeta`)."""
    return _parse(path) is not None


def _value(element: ET.Element) -> Value:
    children = list(element)
    if not children:
        if element.get(f"{RDF}resource") is not None:
            return element.get(f"{RDF}resource", "")
        return (element.text or "").strip()
    if len(children) == 1 and children[0].tag in _CONTAINERS:
        return tuple(_value(li) for li in children[0])
    if len(children) == 1 and children[0].tag == f"{RDF}Description":
        return _properties(children[0])
    return _properties(element)  # rdf:parseType="Resource"


def _properties(description: ET.Element) -> dict[str, Value]:
    found: dict[str, Value] = {k: v for k, v in description.attrib.items() if k not in _SKIPPED_ATTRIBUTES}
    for child in description:
        found[child.tag] = _value(child)
    return found


def rdf_properties(path: Path) -> dict[str, Value]:
    """Every property of every `rdf:Description`, keyed `{namespace}name`.

    :raises ValueError: `path` is not an RDF/XML document.
    """
    root = _parse(path)
    if root is None:
        raise ValueError(f"{path.name} is not an RDF/XML document")
    found: dict[str, Value] = {}
    for description in root.findall(f"{RDF}Description"):
        found.update(_properties(description))
    return found


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _difference(name: str, expected: Value, actual: Value) -> str | None:
    if isinstance(expected, tuple) and isinstance(actual, tuple):
        if len(expected) != len(actual):
            return f"{name} has {len(actual)} items, expected {len(expected)}"
        return next((d for e, a in zip(expected, actual, strict=True) if (d := _difference(name, e, a))), None)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return _differences(expected, actual, name + "/")
    if isinstance(expected, str) and isinstance(actual, str):
        if expected == actual:
            return None
        want, got = _HEX.fullmatch(expected), _HEX.fullmatch(actual)
        if want and got:
            channels = zip(bytes.fromhex(want.group(1)), bytes.fromhex(got.group(1)), strict=True)
            if max(abs(e - a) for e, a in channels) <= 8:
                return None
        a, b = _number(expected), _number(actual)
        if a is not None and b is not None and abs(a - b) <= max(1e-6, abs(a) * 0.01):
            return None
    return f"{name} is {actual!r}, expected {expected!r}"


def _differences(expected: dict[str, Value], actual: dict[str, Value], where: str = "") -> str | None:
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing or extra:
        return f"properties missing: {[where + m for m in missing]}, unexpected: {[where + e for e in extra]}"
    return next((d for k in expected if (d := _difference(where + k, expected[k], actual[k]))), None)


def compare_rdf(expected: Path, actual: Path) -> str | None:
    """None if the two RDF/XML documents say the same (see the module docstring), else the first difference."""
    try:
        want = rdf_properties(expected)
        got = rdf_properties(actual)
    except ValueError as exc:
        return str(exc)
    return _differences(want, got)
