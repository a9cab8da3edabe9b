"""What a rendition may make imgix fetch and bill: overlay images (`mark`, `blend`, `mask`) and AI parameters.

imgix fetches the image a URL-valued parameter names and composites it into AEM's rendition. Such a value must be
a plain path inside the environment's imgix source (no scheme, no `..`, no percent-encoding, no query, nothing
under the staging prefix, where other jobs' originals and report markers live) or an https URL whose host is on
`IMGIX_OVERLAY_HOSTS`; `mask` also takes its shapes and `blend` a colour. `mark-base` (a base URL for `mark`) must
be such an https URL. imgix bills its AI parameters per image: they pass only when `IMGIX_ALLOW_BILLABLE` is true.
Applied to the final imgix parameters (canonical names; a `…64` parameter carries its plain value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import RenditionInstructionsError
from .settings import Settings
from .url_policy import UrlRejected, check_url

__all__ = ["BILLABLE_PARAMETERS", "URL_PARAMETERS", "ParamPolicy"]

# Parameters whose value may be an image URL or a path in the source (imgix-url-params: "url OR path").
URL_PARAMETERS = frozenset({"mark", "blend", "mask", "mark-base"})
_KEYWORDS = {"mask": frozenset({"ellipse", "corners"})}
# imgix's AI features (reference/imgix.md 1.12), billed per rendered image; and `fill=gen`, generative fill.
BILLABLE_PARAMETERS = frozenset(
    {
        "bg-remove", "bg-remove-fallback", "bg-remove-fg-type", "bg-remove-semi-transparency",
        "bg-remove-transparency-threshold", "bg-replace", "bg-replace-fallback", "bg-replace-neg-prompt",
        "fill-gen-fallback", "fill-gen-neg-prompt", "fill-gen-pos", "fill-gen-prompt", "fill-gen-seed",
        "object-removal-negative-prompt", "object-removal-prompt", "object-removal-rect", "object-removal-seed",
        "upscale", "upscale-fallback",
    }
)  # fmt: skip
_BILLABLE_VALUES = {"fill": frozenset({"gen", "generative"})}

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_COLOR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|[a-z]{3,30}")


@dataclass(frozen=True)
class ParamPolicy:
    """The environment's rules for overlay images and billable parameters."""

    staging_prefix: str
    overlay_hosts: tuple[str, ...]
    allow_billable: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> ParamPolicy:
        return cls(
            staging_prefix=settings.staging_prefix,
            overlay_hosts=settings.imgix_overlay_hosts,
            allow_billable=settings.imgix_allow_billable,
        )

    def check(self, params: Mapping[str, str], *, sent_as: Mapping[str, str] | None = None) -> None:
        """Accept the parameters or name the first one the environment does not allow.

        :param sent_as: the field the caller sent for a parameter the worker made from it (`mark` from
            `watermark`, `contract_fields.sent_as`): errors name what the caller wrote.
        :raises RenditionInstructionsError: naming the parameter (or the field it came from).
        """
        for key, value in params.items():
            base = key[:-2] if key.endswith("64") else key
            name = (sent_as or {}).get(key, key)
            if not self.allow_billable and (
                base in BILLABLE_PARAMETERS or value.lower() in _BILLABLE_VALUES.get(base, ())
            ):
                raise RenditionInstructionsError(
                    f"{name} is a billable imgix AI feature, not enabled in this environment (IMGIX_ALLOW_BILLABLE)"
                )
            if base in URL_PARAMETERS:
                self._check_image(name, base, value)

    def _check_image(self, name: str, base: str, value: str) -> None:
        if value in _KEYWORDS.get(base, ()) or (base == "blend" and _COLOR.fullmatch(value)):
            return
        if value[:8].lower() == "https://":
            if not self.overlay_hosts:
                raise RenditionInstructionsError(
                    f"{name} may only name a path in the imgix source: no overlay hosts are allowed "
                    "(IMGIX_OVERLAY_HOSTS)"
                )
            try:
                check_url(value, self.overlay_hosts)
            except UrlRejected as exc:
                raise RenditionInstructionsError(f"{name} {exc} (IMGIX_OVERLAY_HOSTS)") from None
            return
        if base == "mark-base":
            raise RenditionInstructionsError(f"{name} must be an https URL on IMGIX_OVERLAY_HOSTS")
        self._check_path(name, value)

    def _check_path(self, name: str, value: str) -> None:
        where = "a path in the imgix source or an https URL on IMGIX_OVERLAY_HOSTS"
        if _SCHEME.match(value) or value.startswith("//") or "\\" in value:
            raise RenditionInstructionsError(f"{name} must be {where}")
        if "%" in value:  # imgix decodes once more when it fetches: `%2e%2e` would become `..`
            raise RenditionInstructionsError(f"{name} must be a plain path, not percent-encoded")
        if "?" in value or "#" in value:  # a query would nest other parameters (another mark) into the fetch
            raise RenditionInstructionsError(f"{name} must be a path without a query")
        path = value.lstrip("/")
        if any(segment in ("", ".", "..") for segment in path.split("/")):
            raise RenditionInstructionsError(f"{name} must be a path without empty, . or .. segments")
        prefix = self.staging_prefix.lower() + "/"
        if (path.lower() + "/").startswith(prefix):
            raise RenditionInstructionsError(f"{name} must not point into the staged sources")
