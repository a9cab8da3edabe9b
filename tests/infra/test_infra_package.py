"""The worker's deployment package."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest

from infra.code_deployment import OneDeployProvider
from infra.http_retry import RetryPolicy
from infra.mock_run import StackRun
from infra.package import FUNCTION_APP_DIR, build_package
from infra.package import main as package_main
from tests.infra.fake_http import Canned, FakeServer
from tests.infra.test_infra_providers import FakeCredential


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


def test_make_package_writes_the_zip_pulumi_up_publishes(
    tmp_path: Path, stack_runs: dict[str, StackRun], fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `make package` writes...
    out = tmp_path / "function_app.zip"
    assert package_main(["--out", str(out)]) == 0
    written = out.read_bytes()
    printed = capsys.readouterr().out
    assert str(out) in printed and f"sha256={hashlib.sha256(written).hexdigest()}" in printed
    # ...is the package the program declares for every stack (the hash `workerPackageSha256` shows)...
    for run in stack_runs.values():
        (deployment,) = run.of_type("pulumi-python:dynamic/deploy:WorkerCodeDeployment")
        assert (
            deployment.inputs["content_hash"]
            == hashlib.sha256(written).hexdigest()
            == run.outputs["workerPackageSha256"].value
        )
    # ...and byte for byte what the deployment's provider POSTs to OneDeploy with those inputs.
    fake_server.on("POST", "/api/publish", Canned(202))
    fake_server.on("GET", "/api/deployments/latest", Canned(200, {"id": "d1", "status": 4}))
    provider = OneDeployProvider(FakeCredential, policy=RetryPolicy(attempts=1, sleep=lambda _: None), poll_interval=0)
    provider.create({**deployment.inputs, "scm_url": fake_server.url})
    (published,) = [r for r in fake_server.requests if r.method == "POST"]
    assert published.body == written


def test_the_package_holds_the_lock_not_its_source() -> None:
    package = build_package(FUNCTION_APP_DIR)
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    assert archive.read("requirements.txt") == (FUNCTION_APP_DIR / "requirements.txt").read_bytes()
    assert "requirements.in" not in archive.namelist()


def test_make_package_runs_the_package_module() -> None:
    makefile = (FUNCTION_APP_DIR.parent / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^package: .*\n\t\$\(PY\) -m infra\.package$", makefile, re.M), "make package must call it"
