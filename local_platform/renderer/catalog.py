"""The names of imgix's Rendering API parameters and their aliases.

One copy of imgix's own parameter spec (`imgix/imgix-url-params` 11.35.0, `reference/imgix.md` appendix A) serves
both the worker, which sends only these names, and the renderer, which uses them to tell imgix parameters it does
not implement (reported by `fallbacks()`) from foreign ones such as `ixlib`, which imgix and the renderer ignore.
"""

from imgix_worker.imgix_params import ALIASES, NO_BASE64, PARAMETERS

__all__ = ["ALIASES", "NO_BASE64", "PARAMETERS"]
