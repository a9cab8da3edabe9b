"""Shared fixtures: the local Azurite, started once per run on loopback and always stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_platform.azurite import Azurite
from local_platform.paths import LOCAL_DIR


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A running Azurite (blob + queue over HTTPS on localhost), shared by the whole run."""
    LOCAL_DIR.mkdir(exist_ok=True)
    server = Azurite.start(log_file=LOCAL_DIR / "azurite-tests.log")
    try:
        yield server
    finally:
        server.stop()
