"""JUnit XML for a run of Asset Compute test cases: one `<testcase>` per case folder, as CI servers read it."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

__all__ = ["JunitCase", "write_junit"]

# Outcome status -> the JUnit child element that marks it (passed cases have none).
_ELEMENTS = {"failed": "failure", "error": "error", "skipped": "skipped"}


class JunitCase(Protocol):
    name: str
    status: str  # passed | failed | error | skipped
    message: str
    seconds: float


def write_junit(cases: Sequence[JunitCase], path: Path, *, suite: str = "asset-compute-cases") -> None:
    """Write `cases` as one test suite to `path` (parent folders are created)."""
    counts = {status: sum(c.status == status for c in cases) for status in _ELEMENTS}
    attributes = {
        "name": suite,
        "tests": str(len(cases)),
        "failures": str(counts["failed"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": f"{sum(c.seconds for c in cases):.3f}",
    }
    root = ET.Element("testsuites", attributes)
    suite_element = ET.SubElement(
        root, "testsuite", {**attributes, "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    )
    for case in cases:
        element = ET.SubElement(
            suite_element, "testcase", {"classname": suite, "name": case.name, "time": f"{case.seconds:.3f}"}
        )
        if case.status in _ELEMENTS:
            child = ET.SubElement(
                element, _ELEMENTS[case.status], {"message": (case.message.splitlines() or [""])[0][:500]}
            )
            child.text = case.message
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
