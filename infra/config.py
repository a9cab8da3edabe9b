"""The stack's configuration, read once into a typed, validated `StackConfig`.

Every key is declared with its description and default in `Pulumi.yaml`; `Pulumi.<stack>.yaml` sets the values of one
environment. Bad values raise `ConfigError(keys, message)` before any resource is declared. Secrets are read with
`require_secret` / `get_secret` and stay Outputs: they are never unwrapped here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime

import pulumi

from infra.worker_limits import SettingsError, host_limits

__all__ = ["ENVIRONMENTS", "ISOLATION_STAGES", "LIMIT_SETTINGS", "ConfigError", "StackConfig", "load_config"]

# The stacks this project knows; the stack name is the environment name.
ENVIRONMENTS = ("dev", "stage", "prod")

# Worker settings a stack may override through `workerLimits` (all are in the worker's SETTINGS).
LIMIT_SETTINGS = (
    "MAX_REQUEST_BYTES",
    "MAX_RENDITIONS",
    "MAX_SOURCE_BYTES",
    "MAX_RENDITION_BYTES",
    "RENDER_CONCURRENCY",
    "JOB_DEADLINE_SECONDS",
    "HTTP_TIMEOUT_SECONDS",
)

# `networkIsolationStage`: "endpoints" adds the VNet, private endpoints, DNS and the app's integration while the
# runtime account and the vault stay public; "private" also turns their public access off (see infra/network.py).
ISOLATION_STAGES = ("endpoints", "private")
# The address space is split in two halves (integration subnet, private-endpoint subnet); Flex needs /27 at least.
_MAX_VNET_PREFIX = 26

_STORAGE_SKUS = ("Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")
_HOST = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"


class ConfigError(Exception):
    """Stack configuration is missing or invalid; `keys` names the config keys at fault (never their values)."""

    def __init__(self, keys: str | tuple[str, ...], message: str) -> None:
        self.keys = (keys,) if isinstance(keys, str) else tuple(keys)
        self.message = message
        super().__init__(f"config {', '.join(self.keys)}: {message}")


@dataclass(frozen=True)
class StackConfig:
    """Everything one environment is built from."""

    project: str
    environment: str
    location: str
    name_seed: str
    imgix_domain: str
    imgix_secure_token: pulumi.Output[str]
    imgix_api_key: pulumi.Output[str] | None
    source_container: str
    staging_prefix: str
    staging_retention_days: int
    soft_delete_days: int
    storage_sku: str
    sas_policy_id: str
    sas_expiry: str
    sas_expiration_period: str
    max_instance_count: int
    instance_memory_mb: int
    log_retention_days: int
    key_vault_purge_protection: bool
    ims_org_ids: tuple[str, ...]
    ims_client_ids: tuple[str, ...]
    ims_jwks_url: str
    allowed_hosts: tuple[str, ...]
    imgix_overlay_hosts: tuple[str, ...]
    imgix_allow_billable: bool
    events_url: str
    app_builder_namespace: str
    network_isolation: bool = False
    network_isolation_stage: str = "private"
    vnet_address_space: str = "10.60.0.0/24"
    nat_gateway: bool = False
    worker_limits: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def imgix_subdomain(self) -> str:
        """The imgix subdomain of `imgix_domain` (`name` of `name.imgix.net`)."""
        return self.imgix_domain.split(".", 1)[0]

    @property
    def isolation(self) -> str:
        """`off`, or the network isolation stage this stack asks for (`endpoints` or `private`)."""
        return self.network_isolation_stage if self.network_isolation else "off"


def _required(config: pulumi.Config, key: str) -> str:
    value = (config.get(key) or "").strip()
    if not value:
        raise ConfigError(key, "is required (see its description in Pulumi.yaml)")
    return value


def _int(config: pulumi.Config, key: str, default: int, *, minimum: int, maximum: int) -> int:
    try:
        value = config.get_int(key)
    except pulumi.ConfigTypeError:
        raise ConfigError(key, "must be an integer") from None
    value = default if value is None else value
    if not minimum <= value <= maximum:
        raise ConfigError(key, f"must be between {minimum} and {maximum}")
    return value


def _csv(config: pulumi.Config, key: str, default: str | None = None) -> tuple[str, ...]:
    raw = _required(config, key) if default is None else (config.get(key) or default)
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    if not items:
        raise ConfigError(key, "must list at least one value")
    return items


def _string_map(config: pulumi.Config, key: str) -> dict[str, str]:
    value = config.get_object(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(key, "must be an object of string keys")
    return {k: str(v) for k, v in value.items()}


def _host_list(config: pulumi.Config, key: str) -> tuple[str, ...]:
    try:
        value = config.get_object(key)
    except pulumi.ConfigTypeError:
        value = "not a list"
    value = [] if value is None else value
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        raise ConfigError(key, "must be a list of host names, e.g. [assets.example.com]")
    hosts = tuple(h.strip().lower() for h in value)
    # Exact host names only: no scheme, port, path or wildcard, so the worker's allow-list stays what is written.
    if not all(re.fullmatch(_HOST, h) for h in hosts):
        raise ConfigError(key, "must list plain host names (no scheme, port, path or wildcard)")
    return hosts


def _bool(config: pulumi.Config, key: str) -> bool:
    try:
        return bool(config.get_bool(key))
    except pulumi.ConfigTypeError:
        raise ConfigError(key, "must be true or false") from None


def _https_url(config: pulumi.Config, key: str, default: str) -> str:
    value = (config.get(key) or default).strip()
    if not re.fullmatch(r"https://[^\s/?#]+(/\S*)?", value):
        raise ConfigError(key, "must be an https URL")
    return value


def _address_space(config: pulumi.Config) -> str:
    raw = (config.get("vnetAddressSpace") or "10.60.0.0/24").strip()
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError:
        raise ConfigError("vnetAddressSpace", "must be an IPv4 network such as 10.60.0.0/24 (no host bits)") from None
    if not (isinstance(network, ipaddress.IPv4Network) and network.is_private):
        raise ConfigError("vnetAddressSpace", "must be a private IPv4 range (10/8, 172.16/12 or 192.168/16)")
    if network.prefixlen > _MAX_VNET_PREFIX:
        raise ConfigError(
            "vnetAddressSpace", f"must be /{_MAX_VNET_PREFIX} or larger: each half is a subnet, Flex needs /27"
        )
    return str(network)


def load_config(config: pulumi.Config | None = None, *, stack: str | None = None) -> StackConfig:
    """Read and validate the current stack's configuration.

    :raises ConfigError: naming the first key that is missing or invalid.
    """
    config = config or pulumi.Config()
    environment = stack or pulumi.get_stack()
    if environment not in ENVIRONMENTS:
        raise ConfigError("stack", f"must be one of {', '.join(ENVIRONMENTS)} (the stack name is the environment)")

    location = (config.get("location") or "westeurope").strip()
    if not re.fullmatch(r"[a-z0-9]+", location):
        raise ConfigError("location", "must be an Azure region name such as westeurope")

    imgix_domain = _required(config, "imgixDomain").lower()
    if not re.fullmatch(_HOST, imgix_domain):
        raise ConfigError("imgixDomain", "must be a host name such as name.imgix.net")

    container = (config.get("sourceContainer") or "imgix-source").strip()
    if not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", container):
        raise ConfigError("sourceContainer", "must be a valid blob container name")
    prefix = (config.get("stagingPrefix") or "staged").strip().strip("/")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,100}", prefix):
        raise ConfigError("stagingPrefix", "must be a simple blob path prefix")

    sku = (config.get("storageSku") or "Standard_LRS").strip()
    if sku not in _STORAGE_SKUS:
        raise ConfigError("storageSku", f"must be one of {', '.join(_STORAGE_SKUS)}")

    policy_id = (config.get("sasPolicyId") or "imgix-v1").strip()
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", policy_id):
        raise ConfigError("sasPolicyId", "must be 1-64 letters, digits, '.', '_' or '-'")
    sas_expiry = (config.get("sasExpiry") or "").strip()
    try:
        datetime.strptime(sas_expiry, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise ConfigError("sasExpiry", "must be a UTC time such as 2027-12-31T00:00:00Z") from None
    period = (config.get("sasExpirationPeriod") or "400.00:00:00").strip()
    if not re.fullmatch(r"\d{1,5}\.\d{2}:\d{2}:\d{2}", period):
        raise ConfigError("sasExpirationPeriod", "must be D.HH:MM:SS, e.g. 400.00:00:00")

    memory = _int(config, "instanceMemoryMb", 2048, minimum=2048, maximum=4096)
    if memory not in (2048, 4096):
        raise ConfigError("instanceMemoryMb", "must be 2048 or 4096")

    limits = _string_map(config, "workerLimits")
    unknown = sorted(set(limits) - set(LIMIT_SETTINGS))
    if unknown:
        raise ConfigError("workerLimits", f"may only override {', '.join(LIMIT_SETTINGS)}; not {', '.join(unknown)}")
    if not all(v.isdigit() for v in limits.values()):
        raise ConfigError("workerLimits", "values must be whole numbers")
    if "JOB_DEADLINE_SECONDS" in limits:
        # The worker refuses such a deadline at start (host_limits, SHUTDOWN_RESERVE_SECONDS): refuse it at preview.
        try:
            host_limits().check_job_deadline(float(limits["JOB_DEADLINE_SECONDS"]))
        except SettingsError as exc:
            raise ConfigError("workerLimits", str(exc).removeprefix("setting ")) from None

    namespace = _required(config, "appBuilderNamespace")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{2,62}", namespace):
        raise ConfigError("appBuilderNamespace", "must be an I/O Runtime namespace such as 12345-myapp-dev")

    hosts = _csv(config, "allowedHosts", "*.blob.core.windows.net")
    if not all(re.fullmatch(r"(\*\.)?" + _HOST + r"(:\d{1,5})?", h.lower()) for h in hosts):
        raise ConfigError("allowedHosts", "must be a comma list of host names, optionally *.suffix")

    isolation = _bool(config, "networkIsolation")
    stage = (config.get("networkIsolationStage") or "private").strip()
    if stage not in ISOLATION_STAGES:
        raise ConfigError("networkIsolationStage", f"must be one of {', '.join(ISOLATION_STAGES)}")
    nat = _bool(config, "natGateway")
    if nat and not isolation:
        raise ConfigError("natGateway", "needs networkIsolation: true (the gateway serves the integration subnet)")

    return StackConfig(
        project=pulumi.get_project(),
        environment=environment,
        location=location,
        name_seed=(config.get("nameSeed") or "").strip(),
        imgix_domain=imgix_domain,
        imgix_secure_token=config.require_secret("imgixSecureToken"),
        # Whether the source is managed is a plain flag: deciding it from the key would mean unwrapping a secret.
        imgix_api_key=config.require_secret("imgixApiKey") if config.get_bool("manageImgixSource") else None,
        source_container=container,
        staging_prefix=prefix,
        staging_retention_days=_int(config, "stagingRetentionDays", 1, minimum=1, maximum=365),
        soft_delete_days=_int(config, "softDeleteDays", 7, minimum=1, maximum=365),
        storage_sku=sku,
        sas_policy_id=policy_id,
        sas_expiry=sas_expiry,
        sas_expiration_period=period,
        max_instance_count=_int(config, "maxInstanceCount", 40, minimum=1, maximum=1000),
        instance_memory_mb=memory,
        log_retention_days=_int(config, "logRetentionDays", 30, minimum=30, maximum=730),
        key_vault_purge_protection=bool(config.get_bool("keyVaultPurgeProtection")),
        ims_org_ids=_csv(config, "imsOrgIds"),
        ims_client_ids=_csv(config, "imsClientIds"),
        ims_jwks_url=_https_url(config, "imsJwksUrl", "https://ims-na1.adobelogin.com/ims/keys"),
        allowed_hosts=hosts,
        imgix_overlay_hosts=_host_list(config, "imgixOverlayHosts"),
        imgix_allow_billable=_bool(config, "imgixAllowBillable"),
        events_url=_https_url(config, "eventsUrl", "https://eg-ingress.adobe.io/api/events"),
        app_builder_namespace=namespace,
        network_isolation=isolation,
        network_isolation_stage=stage,
        vnet_address_space=_address_space(config),
        nat_gateway=nat,
        worker_limits=limits,
        tags=_string_map(config, "tags"),
    )
