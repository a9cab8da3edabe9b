"""The Pulumi program: read the stack's config, build one Environment, export what the user needs.

Outputs are collected in `OUTPUTS` (then exported) so that `infra.plan`, `infra.audit` and the tests, which run this
program under mocks, can read them: mocks do not observe stack exports.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Pulumi runs `infra/` as a script: make the project root importable for `infra.*` and `profiles`.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402

from infra.config import load_config  # noqa: E402
from infra.environment import Environment, EnvironmentArgs  # noqa: E402
from infra.network import ISOLATION_OUTPUT  # noqa: E402
from infra.outputs import (  # noqa: E402
    dashboard_steps,
    processing_profiles,
    recipe_endpoints,
    relay_endpoint,
    worker_endpoint,
)
from infra.package import FUNCTION_APP_DIR, build_package  # noqa: E402
from profiles import load_profiles  # noqa: E402

config = load_config()
profiles = load_profiles()
package = build_package(FUNCTION_APP_DIR)
env = Environment(
    config.environment,
    EnvironmentArgs(
        config=config,
        profiles=profiles,
        package_dir=FUNCTION_APP_DIR.relative_to(ROOT).as_posix(),
        package_hash=package.sha256,
    ),
)

worker_url = worker_endpoint(env.worker_host)
relay_url = relay_endpoint(config.app_builder_namespace)
OUTPUTS: dict[str, object] = {
    "resourceGroup": env.resource_group.name,
    "workerEndpoint": worker_url,
    "recipeEndpoints": recipe_endpoints(env.worker_host, profiles),
    "relayEndpoint": relay_url,
    "processingProfiles": processing_profiles(profiles, relay_url),
    "imgixSource": {
        "storageAccount": env.source.account.name,
        "container": env.source.container.name,
        "pathPrefix": "",
        "stagingPrefix": config.staging_prefix,
        "subdomain": config.imgix_subdomain,
        "sasPolicyId": config.sas_policy_id,
        "sasExpiry": config.sas_expiry,
        "managedByPulumi": env.managed_source is not None,
        "dashboardSteps": dashboard_steps(managed=env.managed_source is not None),
    },
    # Kept apart so that `imgixSource` stays readable without --show-secrets.
    "imgixSourceSas": env.imgix_sas,
    "relayDeployEnv": pulumi.Output.secret(
        {"WORKER_URL": worker_url, "ORG_ID": config.ims_org_ids[0], "RELAY_HMAC_KEY": env.relay_hmac_key}
    ),
    "workerPackageSha256": package.sha256,
    # "off", "endpoints" or "private": the network isolation stage this deployment completed.
    ISOLATION_OUTPUT: env.network_isolation,
}
for key, value in OUTPUTS.items():
    pulumi.export(key, value)
