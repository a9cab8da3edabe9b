"""The function's requirements lock: exact pins of everything the remote build installs, as tested here."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.requirements_lock import LOCK_FILE, REQUIREMENTS_IN, UnlockableError, locked_pins, render_lock

_PIN = re.compile(r"[a-z0-9][a-z0-9-]*(\[[a-z0-9,-]+\])?==[A-Za-z0-9.+!-]+")


def _pins() -> list[Requirement]:
    lines = LOCK_FILE.read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def test_every_line_of_the_lock_is_an_exact_pin() -> None:
    for line in LOCK_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            assert _PIN.fullmatch(line), f"requirements.txt: {line!r} is not a `name==version` pin"


def test_the_lock_pins_exactly_the_installed_versions() -> None:
    for pin in _pins():
        (version,) = [spec.version for spec in pin.specifier]
        assert metadata.version(pin.name) == version, f"{pin.name}: the tests run {metadata.version(pin.name)}"


def test_the_lock_is_complete_and_up_to_date() -> None:
    # Every direct and transitive dependency, markers as here: regenerating changes nothing (else: `make lock`).
    assert LOCK_FILE.read_text(encoding="utf-8") == render_lock(locked_pins())
    locked = {canonicalize_name(p.name): p for p in _pins()}
    for direct in (Requirement(line) for line in REQUIREMENTS_IN.read_text().splitlines() if line[:1].isalpha()):
        pin = locked[canonicalize_name(direct.name)]
        assert set(direct.extras) <= set(pin.extras), f"{direct.name}: extras {direct.extras} missing from the lock"
        assert all(direct.specifier.contains(s.version) for s in pin.specifier), f"{direct.name}: pin out of range"
    for name in ("pyjwt", "urllib3", "cryptography", "azure-core"):  # the ones a deploy must not drift on
        assert name in locked, f"{name} is not pinned"


def test_a_requirement_that_is_missing_or_out_of_range_cannot_be_locked(tmp_path: Path) -> None:
    missing = tmp_path / "missing.in"
    missing.write_text("surely-not-installed-package-xyz>=1\n")
    with pytest.raises(UnlockableError, match="not installed"):
        locked_pins(missing)
    outdated = tmp_path / "outdated.in"
    outdated.write_text("urllib3<0.1\n")
    with pytest.raises(UnlockableError, match="urllib3"):
        locked_pins(outdated)
