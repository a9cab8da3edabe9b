"""The worker's deployment package: a reproducible zip of `function_app/` and its content hash.

Same files in, same bytes out (sorted entries, fixed timestamps and modes), so the hash changes only when the code
does and the deployment resource redeploys only then. Dependencies are not vendored: Flex Consumption's remote build
installs `requirements.txt` on the platform.

`python -m infra.package` (`make package`) writes that same zip to `build/function_app.zip` and prints its path and
SHA-256: the stack output `workerPackageSha256` is the hash of what `pulumi up` publishes, so the two can be
compared before publishing it by hand (README, "When the deploy step fails").
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

__all__ = ["DEFAULT_OUTPUT", "EXCLUDED", "FUNCTION_APP_DIR", "Package", "build_package", "main"]

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_APP_DIR = ROOT / "function_app"
DEFAULT_OUTPUT = ROOT / "build" / "function_app.zip"

# Path parts (any directory or file name) left out of the package: tests, caches, local-only settings, builds.
EXCLUDED = (
    "tests",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".venv",
    ".python_packages",
    "*.egg-info",
    "local.settings.json",
    "requirements.in",  # the lock's source; the remote build installs requirements.txt
    ".funcignore",
    ".DS_Store",
)

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    """The zip bytes, their SHA-256 and the files they hold."""

    content: bytes
    sha256: str
    files: tuple[str, ...]


def _included(relative: PurePosixPath) -> bool:
    return not any(fnmatch(part, pattern) for part in relative.parts for pattern in EXCLUDED)


def build_package(source: Path = FUNCTION_APP_DIR) -> Package:
    """Zip `source` reproducibly, leaving out EXCLUDED.

    :raises FileNotFoundError: if `source` is not a directory.
    """
    if not source.is_dir():
        raise FileNotFoundError(f"function app directory not found: {source}")
    files = sorted(
        PurePosixPath(path.relative_to(source).as_posix())
        for path in source.rglob("*")
        if path.is_file() and _included(PurePosixPath(path.relative_to(source).as_posix()))
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            info = zipfile.ZipInfo(str(relative), date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (source / relative).read_bytes())
    content = buffer.getvalue()
    return Package(content=content, sha256=hashlib.sha256(content).hexdigest(), files=tuple(map(str, files)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    package = build_package(FUNCTION_APP_DIR)  # the call infra/__main__.py and the OneDeploy provider make
    out: Path = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(package.content)
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"{shown}  sha256={package.sha256}  ({len(package.files)} files, {len(package.content)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
