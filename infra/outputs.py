"""What the user does with a deployed environment: the stack outputs, named for their use.

Pure functions of config and a few resource outputs, so the plan, the audit and the tests read the same values.
"""

from __future__ import annotations

from typing import Any

import pulumi

from profiles import Profile

__all__ = ["RELAY_ACTION_PATH", "dashboard_steps", "processing_profiles", "recipe_endpoints", "relay_endpoint"]

# The relay's web action, as its App Builder manifest declares it (package dx-asset-compute-worker-1, action relay).
RELAY_ACTION_PATH = "api/v1/web/dx-asset-compute-worker-1/relay"
WORKER_ROUTE = "api/worker"


def worker_endpoint(host: pulumi.Input[str]) -> pulumi.Output[str]:
    """The worker's intake URL."""
    return pulumi.Output.concat("https://", host, "/", WORKER_ROUTE)


def recipe_endpoints(host: pulumi.Input[str], profiles: list[Profile]) -> dict[str, pulumi.Output[str]]:
    """One intake URL per recipe the profiles use (`/api/worker/<recipe>`)."""
    recipes = sorted({r.recipe for p in profiles for r in p.renditions if r.recipe})
    return {recipe: pulumi.Output.concat("https://", host, "/", WORKER_ROUTE, "/", recipe) for recipe in recipes}


def relay_endpoint(namespace: str) -> str:
    """The environment's App Builder relay URL: the only endpoint AEM's Processing Profile accepts."""
    return f"https://{namespace}.adobeioruntime.net/{RELAY_ACTION_PATH}"


def processing_profiles(profiles: list[Profile], endpoint: str) -> list[dict[str, Any]]:
    """Each profile as it is typed into AEM's Processing Profile "Custom" tab."""
    return [
        {
            "name": profile.name,
            "renditions": [
                {
                    "renditionName": rendition.name,
                    "extension": rendition.extension,
                    "createMetadataRendition": rendition.metadata_rendition,
                    "endpoint": endpoint,
                    "serviceParameters": rendition.service_parameters(),
                    "mimeTypes": {"include": list(rendition.include), "exclude": list(rendition.exclude)},
                }
                for rendition in profile.renditions
            ],
        }
        for profile in profiles
    ]


def dashboard_steps(*, managed: bool) -> list[str]:
    """How to connect the imgix source by hand, or a note that Pulumi manages it."""
    if managed:
        return ["The imgix source is managed by Pulumi (manageImgixSource=true); nothing to enter by hand."]
    return [
        "imgix dashboard > Sources > Create Source > Microsoft Azure.",
        "Storage Account Name: imgixSource.storageAccount; Storage Account Type: Container (Blob).",
        "Container name: imgixSource.container; Path Prefix: imgixSource.pathPrefix (empty = container root).",
        "SAS token: `pulumi stack output imgixSourceSas --show-secrets` (read+list, HTTPS only, revocable policy).",
        "Subdomain: imgixSource.subdomain; enable Secure URLs and store the token: "
        "`pulumi config set --secret imgixSecureToken <token>`, then `pulumi up`.",
    ]
