"""`python -m infra.audit`: Checkov on every stack, offline, as the mocks see it.

Each stack's program runs under the Azure mocks; the resources are exported to an ARM template
(`build/audit/<stack>.json`) and scanned by Checkov's ARM checks. Checkov lives in its own virtualenv
(`.venv-audit`, created here when missing: it pins many packages) and runs with `--skip-download` and
`CKV_SKIP_PACKAGE_UPDATE_CHECK=true`, so it reaches no network. A failed check fails the audit unless
`infra/checkov_suppressions.yaml` accepts it with a written reason, on the resources (and in the stacks) it names.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import yaml

from infra.arm_export import to_arm_template
from infra.config import ENVIRONMENTS
from infra.mock_run import ROOT, run_stack

__all__ = ["CHECKOV_REQUIREMENT", "Finding", "Suppression", "ensure_checkov", "load_suppressions", "triage"]

CHECKOV_REQUIREMENT = "checkov==3.3.30"
AUDIT_VENV = ROOT / ".venv-audit"
SUPPRESSIONS_FILE = ROOT / "infra" / "checkov_suppressions.yaml"
OUT_DIR = ROOT / "build" / "audit"


@dataclass(frozen=True)
class Suppression:
    """A failed check accepted on purpose, where, and why."""

    check_id: str
    resources: tuple[str, ...]
    reason: str
    stacks: tuple[str, ...] = ENVIRONMENTS

    def covers(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check_id
            and finding.stack in self.stacks
            and any(fnmatch(finding.resource, p) for p in self.resources)
        )


@dataclass(frozen=True)
class Finding:
    """One failed Checkov check on one resource of one stack."""

    stack: str
    check_id: str
    resource: str
    title: str


def load_suppressions(path: Path = SUPPRESSIONS_FILE) -> list[Suppression]:
    """Read the suppressions file.

    :raises ValueError: if an entry lacks an id or a reason, or names a stack that does not exist.
    """
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    suppressions = []
    for i, entry in enumerate(entries):
        reason = str(entry.get("reason") or "").strip()
        if not entry.get("id") or len(reason) < 20:
            raise ValueError(f"{path.name}: entry {i} needs an `id` and a written `reason`")
        stacks = tuple(entry.get("stacks") or ENVIRONMENTS)
        if not set(stacks) <= set(ENVIRONMENTS):
            raise ValueError(f"{path.name}: entry {i} names unknown stacks {sorted(set(stacks) - set(ENVIRONMENTS))}")
        suppressions.append(Suppression(entry["id"], tuple(entry.get("resources") or ["*"]), reason, stacks))
    return suppressions


def triage(
    findings: list[Finding], suppressions: list[Suppression]
) -> tuple[list[Finding], list[tuple[Finding, Suppression]], list[Suppression]]:
    """Split findings into (unsuppressed, suppressed with their suppression) and list suppressions never used."""
    open_findings, accepted = [], []
    used: set[Suppression] = set()
    for finding in findings:
        match = next((s for s in suppressions if s.covers(finding)), None)
        if match is None:
            open_findings.append(finding)
        else:
            accepted.append((finding, match))
            used.add(match)
    return open_findings, accepted, [s for s in suppressions if s not in used]


def ensure_checkov(venv_dir: Path = AUDIT_VENV) -> Path:
    """Create the audit virtualenv with Checkov unless it is already there with the pinned version."""
    checkov = venv_dir / "bin" / "checkov"
    stamp = venv_dir / ".installed"
    if checkov.exists() and stamp.exists() and stamp.read_text() == CHECKOV_REQUIREMENT:
        return checkov
    venv.EnvBuilder(with_pip=True, clear=not checkov.exists()).create(venv_dir)
    subprocess.run(
        [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         CHECKOV_REQUIREMENT],
        check=True,
    )  # fmt: skip
    stamp.write_text(CHECKOV_REQUIREMENT)
    return checkov


def scan(checkov: Path, template: Path, stack: str) -> tuple[list[Finding], int]:
    """Run Checkov's ARM checks on `template`; return the failures and the number of passed checks."""
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(
        [str(checkov), "-f", str(template), "--framework", "arm", "--skip-download", "--quiet", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode not in (0, 1):  # 1 means "some checks failed"
        raise RuntimeError(f"checkov failed on {template.name} (exit {result.returncode}): {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    failed = report.get("results", {}).get("failed_checks", [])
    findings = [Finding(stack, f["check_id"], f["resource"], f.get("check_name", "")) for f in failed]
    return findings, int(report.get("summary", {}).get("passed", 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.audit", description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", metavar="stack", help=f"default: all of {', '.join(ENVIRONMENTS)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.stacks) - set(ENVIRONMENTS))
    if unknown:
        parser.error(f"unknown stack(s): {', '.join(unknown)}")
    suppressions = load_suppressions()
    checkov = ensure_checkov()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    findings: list[Finding] = []
    for stack in args.stacks or ENVIRONMENTS:
        template = OUT_DIR / f"{stack}.json"
        template.write_text(json.dumps(to_arm_template(run_stack(stack).resources), indent=2), encoding="utf-8")
        stack_findings, passed = scan(checkov, template, stack)
        print(f"{stack}: {passed} checks passed, {len(stack_findings)} failed ({template.relative_to(ROOT)})")
        findings += stack_findings
    open_findings, accepted, unused = triage(findings, suppressions)
    for finding, suppression in accepted:
        print(f"  accepted {finding.stack} {finding.check_id} {finding.resource}: {suppression.reason[:90]}...")
    for suppression in unused:
        print(f"  note: suppression {suppression.check_id} matched nothing; remove it if it is obsolete")
    for finding in open_findings:
        print(f"FAILED {finding.stack} {finding.check_id} {finding.resource}: {finding.title}", file=sys.stderr)
    print(f"audit: {len(open_findings)} unaccepted failures, {len(accepted)} accepted with a reason")
    return 1 if open_findings else 0


if __name__ == "__main__":
    sys.exit(main())
