"""A local imgix-compatible renderer: imgix's Rendering API over HTTPS, on Pillow, reading an Azurite container.

Development tooling only: the worker (function_app/) never imports it. It stands in for an imgix Source backed by
Azure Blob Storage: `GET /<path>?<params>&s=<signature>` reads blob `<prefix><path>` with a read+list SAS, checks
the signature exactly as imgix does, and renders with Pillow.

* `render(data, params, accept=...)` → `Rendered`, or `RenderError(status, message)`: the renderer without HTTP.
* `fallbacks(params)` → notes on what renders differently from imgix (for the demo report).
* `sign(token, path, query)` / `verify(token, target)`: imgix's URL signatures.
* `RendererProcess.start(...)`: the HTTPS server as a subprocess (`python -m local_platform.renderer`).
"""

from __future__ import annotations

from local_platform.renderer.errors import RenderError
from local_platform.renderer.fallbacks import fallbacks
from local_platform.renderer.process import RendererProcess
from local_platform.renderer.render import MAX_PIXELS, Rendered, render
from local_platform.renderer.signature import sign, verify

__all__ = ["MAX_PIXELS", "RenderError", "Rendered", "RendererProcess", "fallbacks", "render", "sign", "verify"]
