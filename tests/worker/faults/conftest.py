"""Fixtures of the fault-injection tests: direct container clients and a scripted imgix in front of the renderer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_platform.renderer.process import RendererProcess
from local_platform.tls import ensure_tls

from .fakes import ScriptedProxy
from .support import containers, make_worker

__all__ = ["containers", "imgix_proxy", "make_worker"]


@pytest.fixture
def imgix_proxy(renderer: RendererProcess) -> Iterator[ScriptedProxy]:
    """A faulty imgix: the real renderer behind a scripted proxy (stalled answers are released at teardown)."""
    with ScriptedProxy(renderer.url, ensure_tls(), name="faulty-imgix") as proxy:
        yield proxy
