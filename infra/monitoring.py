"""Log Analytics workspace and workspace-based Application Insights for the worker."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights, resources

from infra.config import StackConfig
from infra.naming import Namer

__all__ = ["build_monitoring"]


def build_monitoring(
    namer: Namer,
    config: StackConfig,
    rg: resources.ResourceGroup,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> applicationinsights.Component:
    """Declare the workspace and the Application Insights component; return the component."""
    opts = pulumi.ResourceOptions(parent=parent)
    workspace = operationalinsights.Workspace(
        "logs",
        workspace_name=namer.name("log_workspace"),
        resource_group_name=rg.name,
        location=config.location,
        sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
        retention_in_days=config.log_retention_days,
        tags=tags,
        opts=opts,
    )
    return applicationinsights.Component(
        "app-insights",
        resource_name_=namer.name("app_insights"),
        resource_group_name=rg.name,
        location=config.location,
        kind="web",
        application_type=applicationinsights.ApplicationType.WEB,
        workspace_resource_id=workspace.id,
        ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
        # Telemetry is accepted only with an Entra token (the app's identity), not with the key in the string.
        disable_local_auth=True,
        tags=tags,
        opts=opts,
    )
