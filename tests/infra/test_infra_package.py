"""The worker's deployment package."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from infra.package import FUNCTION_APP_DIR, build_package


def test_package_holds_the_app_and_no_tests_or_local_files() -> None:
    package = build_package(FUNCTION_APP_DIR)
    names = zipfile.ZipFile(io.BytesIO(package.content)).namelist()
    assert names == list(package.files)
    assert "host.json" in names and "function_app.py" in names and "requirements.txt" in names
    assert any(n.startswith("imgix_worker/") for n in names)
    for name in names:
        parts = name.split("/")
        assert "tests" not in parts and not parts[-1].startswith("test_"), f"test file {name} in the package"
        assert "__pycache__" not in parts and not name.endswith(".pyc"), name
        assert parts[-1] != "local.settings.json", name


def test_package_hash_is_reproducible_and_follows_content(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "pkg" / "__pycache__").mkdir(parents=True)
    (app / "tests").mkdir()
    (app / "host.json").write_text("{}")
    (app / "pkg" / "mod.py").write_text("x = 1\n")
    (app / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0")
    (app / "tests" / "test_mod.py").write_text("")
    (app / "local.settings.json").write_text('{"Values": {"SECRET": "x"}}')
    first = build_package(app)
    assert first.files == ("host.json", "pkg/mod.py")
    (app / "pkg" / "__pycache__" / "other.pyc").write_bytes(b"\1")  # excluded files do not change the hash
    assert build_package(app).sha256 == first.sha256
    (app / "pkg" / "mod.py").write_text("x = 2\n")
    assert build_package(app).sha256 != first.sha256
