"""XMP serialisation: one `rdf:RDF` / `rdf:Description` document, the shape AEM merges into an asset's metadata.

The layout is the one of Adobe's `@adobe/asset-compute-xmp` (`serializeXmp`), used by the WKND metadata worker:
`<rdf:RDF xmlns:rdf=... xmlns:<prefix>=...><rdf:Description><prefix:name>value</prefix:name>...`, lists as `rdf:Seq`
of `rdf:li`, booleans as `True`/`False`. Elements are built with `xml.etree`, which escapes text; characters XML 1.0
cannot carry at all (most C0 controls, lone surrogates) are dropped first, so any string from imgix is safe.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

__all__ = ["RDF_NAMESPACE", "XmpValue", "serialize_xmp"]

RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XmpValue = str | int | float | bool | Sequence[str | int | float]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # XMP Boolean (XMP spec part 1, 8.2.1.1)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("XMP values must be finite numbers")
        return f"{value:.6g}"
    if isinstance(value, int):
        return str(value)
    return _NOT_XML.sub("", value)


def serialize_xmp(properties: Mapping[str, XmpValue], *, namespaces: Mapping[str, str]) -> bytes:
    """The UTF-8 RDF/XML document for `properties` (`prefix:name` -> value), declaring `namespaces` (prefix -> URI).

    :raises ValueError: a property's prefix is not declared, a name is not an XML name, or a number is not finite.
    """
    for prefix in namespaces:
        if prefix == "rdf" or not _PREFIX.fullmatch(prefix):
            raise ValueError(f"invalid namespace prefix {prefix!r}")
    root = ET.Element("rdf:RDF", {"xmlns:rdf": RDF_NAMESPACE, **{f"xmlns:{p}": uri for p, uri in namespaces.items()}})
    description = ET.SubElement(root, "rdf:Description")
    for name, value in properties.items():
        prefix, _, local = name.partition(":")
        if prefix not in namespaces or not _PREFIX.fullmatch(local):
            raise ValueError(f"property {name!r} is not prefix:name with a declared prefix")
        element = ET.SubElement(description, name)
        if isinstance(value, str | int | float | bool):
            element.text = _text(value)
            continue
        sequence = ET.SubElement(element, "rdf:Seq")
        for item in value:
            ET.SubElement(sequence, "rdf:li").text = _text(item)
    return _DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")
