"""Processing profiles as code: `profiles/*.yaml`, read by the local platform and by the stacks' outputs.

Each file is one AEM Processing Profile: a name and its renditions, each with the fields typed into AEM's
"Custom" tab (rendition name, extension, service parameters, MIME includes/excludes) and an optional recipe,
which travels to the worker as the `recipe` service parameter. `createMetadataRendition: true` is AEM's toggle of
the same name: the worker returns XMP that AEM merges into the asset's metadata (extension `xml`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["PROFILES_DIR", "Profile", "ProfileError", "RenditionSpec", "load_profile", "load_profiles"]

PROFILES_DIR = Path(__file__).resolve().parent


class ProfileError(ValueError):
    """A profile file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class RenditionSpec:
    """One rendition of a profile, as entered in AEM."""

    name: str
    extension: str
    parameters: dict[str, str] = field(default_factory=dict)
    recipe: str | None = None
    include: tuple[str, ...] = ("image/*",)
    exclude: tuple[str, ...] = ()
    metadata_rendition: bool = False  # AEM's "Create Metadata Rendition"

    def service_parameters(self) -> dict[str, str]:
        """The key/value rows to type into AEM: the parameters, plus `recipe` when there is one."""
        params = dict(self.parameters)
        if self.recipe:
            params["recipe"] = self.recipe
        return params

    def accepts(self, mimetype: str) -> bool:
        """Whether AEM would send an asset of `mimetype` to this rendition: excludes first, then includes."""
        mimetype = mimetype.lower()
        if any(fnmatch.fnmatchcase(mimetype, pattern.lower()) for pattern in self.exclude):
            return False
        return any(fnmatch.fnmatchcase(mimetype, pattern.lower()) for pattern in self.include)

    def instructions(self) -> dict[str, str]:
        """The rendition object AEM sends for this profile row (without worker URL and target)."""
        return {"name": f"{self.name}.{self.extension}", "fmt": self.extension, **self.service_parameters()}


@dataclass(frozen=True)
class Profile:
    """A Processing Profile: its name, its file's stem (`slug`) and its renditions."""

    name: str
    slug: str
    renditions: tuple[RenditionSpec, ...]


def _strings(path: Path, where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProfileError(f"{path.name}: {where} must be a list of MIME type patterns")
    return tuple(value)


def load_profile(path: Path) -> Profile:
    """Read one profile file.

    :raises ProfileError: naming the file and field at fault.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ProfileError(f"{path.name}: needs a `name`")
    rows = data.get("renditions")
    if not isinstance(rows, list) or not rows:
        raise ProfileError(f"{path.name}: needs a non-empty `renditions` list")
    renditions = []
    for i, row in enumerate(rows):
        where = f"renditions[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"]:
            raise ProfileError(f"{path.name}: {where}.name is required")
        ext = row.get("extension")
        if not isinstance(ext, str) or not ext.isalnum():
            raise ProfileError(f"{path.name}: {where}.extension must be a file extension such as png")
        params = row.get("parameters") or {}
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ProfileError(f"{path.name}: {where}.parameters values must be strings, as AEM sends them")
        mimes = row.get("mimeTypes") or {}
        recipe = row.get("recipe")
        if recipe is not None and not isinstance(recipe, str):
            raise ProfileError(f"{path.name}: {where}.recipe must be a name")
        metadata = row.get("createMetadataRendition", False)
        if not isinstance(metadata, bool) or (metadata and ext.lower() != "xml"):
            raise ProfileError(
                f"{path.name}: {where}.createMetadataRendition must be true or false, with extension xml"
            )
        renditions.append(
            RenditionSpec(
                name=row["name"],
                extension=ext.lower(),
                parameters={str(k): v for k, v in params.items()},
                recipe=recipe,
                include=_strings(path, f"{where}.mimeTypes.include", mimes.get("include", ["image/*"])),
                exclude=_strings(path, f"{where}.mimeTypes.exclude", mimes.get("exclude", [])),
                metadata_rendition=metadata,
            )
        )
    return Profile(name=data["name"], slug=path.stem, renditions=tuple(renditions))


def load_profiles(directory: Path = PROFILES_DIR) -> list[Profile]:
    """Every `*.yaml` profile in `directory`, sorted by file name."""
    return [load_profile(p) for p in sorted(directory.glob("*.yaml"))]
