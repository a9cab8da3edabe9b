"""Run the real Pulumi program for one stack under the Azure mocks, with no Azure account and no Pulumi CLI.

The config is what the CLI would give the program: `Pulumi.yaml` defaults overlaid with `Pulumi.<stack>.yaml`.
Secrets the stack file cannot hold here (encrypted values, or ones never set) get per-stack placeholders, marked
secret. Each run gets its own event loop and a fresh Pulumi runtime, so several stacks run in one process.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import wait_for_rpcs

from infra.mocks import AzureMocks, MockedCall, MockedResource, RecordingMonitor

__all__ = ["PROJECT", "ROOT", "ResolvedOutput", "StackRun", "run_stack", "stack_config"]

ROOT = Path(__file__).resolve().parent.parent
INFRA_DIR = ROOT / "infra"
PROJECT = "aem-imgix-renditions"
# What the Pulumi CLI reports as the organization on a DIY (self-managed) backend.
ORGANIZATION = "organization"
# Secret keys the program requires; placeholders stand in for them under mocks.
REQUIRED_SECRETS = ("imgixSecureToken",)


@dataclass(frozen=True)
class ResolvedOutput:
    """A stack output's value and whether Pulumi would treat it as a secret."""

    value: Any
    secret: bool


@dataclass
class StackRun:
    """What one mocked run of the program declared."""

    stack: str
    resources: list[MockedResource]
    calls: list[MockedCall]
    outputs: dict[str, ResolvedOutput]
    config: dict[str, str] = field(repr=False)
    secret_values: tuple[str, ...] = field(repr=False, default=())

    def of_type(self, typ: str) -> list[MockedResource]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> MockedResource:
        matches = [r for r in self.resources if r.typ == typ and r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{self.stack}: expected one {typ} named {name}, found {len(matches)}")
        return matches[0]


def _as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def stack_config(
    stack: str, overrides: Mapping[str, Any] | None = None, *, root: Path = ROOT
) -> tuple[dict[str, str], list[str]]:
    """The config map and secret keys the Pulumi CLI would pass to `stack`'s program."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
    stack_file = root / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise FileNotFoundError(f"no stack file {stack_file.name}")
    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, schema in (project.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(schema, dict) and "default" in schema:
            values[full] = schema["default"]
        elif not isinstance(schema, dict):
            values[full] = schema
    for key, value in ((yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and "secure" in value:
            # Encrypted with the stack's secrets provider, which is not available here.
            values[full] = f"placeholder-{stack}-{full.split(':', 1)[1]}"
            secret_keys.append(full)
        else:
            values[full] = value
    for key in REQUIRED_SECRETS:
        full = f"{PROJECT}:{key}"
        if full not in values:
            values[full] = f"placeholder-{stack}-{key}-0123456789abcdef"
            secret_keys.append(full)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        values[full] = value
    return {k: _as_config_string(v) for k, v in values.items()}, secret_keys


async def _resolve(outputs: Mapping[str, Any]) -> dict[str, ResolvedOutput]:
    resolved = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        resolved[key] = ResolvedOutput(await output.future(), bool(await output.is_secret()))
    await wait_for_rpcs()
    return resolved


def run_stack(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    secret_overrides: Mapping[str, str] | None = None,
    last_outputs: Mapping[str, Any] | None = None,
) -> StackRun:
    """Run `infra/` for `stack` under mocks and return what it declared and exported.

    `last_outputs` stand for the outputs of the stack's last deployment (default: none, a stack never deployed).

    :raises infra.config.ConfigError: (and any other error) exactly as the program raises it.
    """
    config, secret_keys = stack_config(stack, overrides)
    for key, value in (secret_overrides or {}).items():
        full = f"{PROJECT}:{key}"
        config[full] = value
        secret_keys.append(full)
    mocks = AzureMocks(stack=stack, last_outputs=dict(last_outputs or {}))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(
            mocks,
            project=PROJECT,
            stack=stack,
            preview=False,
            monitor=RecordingMonitor(mocks),
            organization=ORGANIZATION,
        )
        pulumi.runtime.set_all_config(config, secret_keys)
        program = runpy.run_path(str(INFRA_DIR), run_name="__main__")
        outputs = loop.run_until_complete(_resolve(program["OUTPUTS"]))
    finally:
        loop.run_until_complete(_drain())
        pulumi.runtime.set_all_config({}, [])
        pulumi_settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
    return StackRun(
        stack=stack,
        resources=list(mocks.resources),
        calls=list(mocks.calls),
        outputs=outputs,
        config=config,
        secret_values=tuple(config[k] for k in secret_keys),
    )


async def _drain() -> None:
    # Let tasks the program left behind (e.g. after an error) finish before the loop closes.
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
