"""The README stays true: its first commands, every worker setting and every stack config key are documented."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from imgix_worker.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_every_worker_setting_is_documented() -> None:
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in README]
    assert missing == []


def test_every_stack_config_key_is_documented() -> None:
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    missing = [key.split(":", 1)[1] for key in config if f"`{key.split(':', 1)[1]}`" not in README]
    assert missing == []


def test_every_make_target_in_the_readme_exists() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    used = set(re.findall(r"\bmake (?:-s )?([a-z][a-z-]*)", README))
    assert used <= targets, used - targets
