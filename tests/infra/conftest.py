"""Infra test fixtures: each stack's program run once under mocks, and local fake HTTP servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.config import ENVIRONMENTS
from infra.mock_run import StackRun, run_stack
from tests.infra.fake_http import FakeServer


@pytest.fixture(scope="session")
def stack_runs() -> dict[str, StackRun]:
    """dev, stage and prod, each from its real Pulumi.<stack>.yaml, run once for the whole session."""
    return {stack: run_stack(stack) for stack in ENVIRONMENTS}


@pytest.fixture(params=ENVIRONMENTS)
def run(request: pytest.FixtureRequest, stack_runs: dict[str, StackRun]) -> StackRun:
    """One stack's mocked run (the test runs once per stack)."""
    return stack_runs[request.param]


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()
