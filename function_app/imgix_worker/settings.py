"""The worker's settings, read once from app settings (environment) into a frozen, validated object.

`Settings.from_env(environ)` takes any mapping, so tests pass a dict and the Functions host passes `os.environ`.
A missing or invalid setting raises `SettingsError` naming it; a secret's value is never echoed.
`SETTINGS` lists every setting with its default: the infrastructure's app settings are checked against it.

A *local run* is one with `IMGIX_SOURCE_CONNECTION_STRING` set (Azurite): Azure reaches the imgix source by
managed identity and never sets it, and an app on App Service (any plan, Flex Consumption included: the platform
sets `PLATFORM_SETTINGS`) that is given it anyway is refused, so that a connection string cannot make an Azure app
a "local run" that drops the relay-key requirement. Outside local runs `RELAY_HMAC_KEY` is required, so the intake
in Azure trusts only signed relay calls. No setting may hold an unresolved Key Vault reference
(`@Microsoft.KeyVault(...)`): App Service passes the reference text itself when it cannot read the vault, and that
text is computable from the repository, so accepting it as a key would make a public key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError
from .host_limits import HostLimits
from .redaction import Secret, register_secret

__all__ = ["HOST_STORAGE_SETTINGS", "PLATFORM_SETTINGS", "SETTINGS", "HostStorage", "Setting", "Settings"]

DEFAULT_SOURCE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff")
IMGIX_MAX_SOURCE_BYTES = 500 * 1000 * 1000  # imgix refuses larger inputs with 413
KEY_VAULT_REFERENCE = "@microsoft.keyvault("  # compared case-insensitively
# Set by the App Service platform (WEBSITE_SITE_NAME on every plan, Flex Consumption included; WEBSITE_INSTANCE_ID on
# dedicated and Elastic Premium instances; WEBSITE_SKU, e.g. FlexConsumption, the Functions host's own plan test),
# never in a local run. Not CONTAINER_NAME (Linux Consumption and Flex set it): too generic, containers and CI
# runners set it too.
PLATFORM_SETTINGS = ("WEBSITE_SITE_NAME", "WEBSITE_INSTANCE_ID", "WEBSITE_SKU")
# The Functions host's own storage settings, read for the relay's replay markers (`HostStorage`).
HOST_STORAGE_SETTINGS = (
    "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__blobServiceUri",
)


@dataclass(frozen=True)
class Setting:
    """One app setting: its name, default (None = required) and whether it holds a secret."""

    name: str
    default: str | None
    secret: bool = False
    doc: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("IMGIX_DOMAIN", None, doc="imgix source domain, e.g. my-renditions-dev.imgix.net"),
    Setting("IMGIX_SECURE_TOKEN", None, secret=True, doc="the imgix source's secure URL token (Key Vault reference)"),
    Setting(
        "IMGIX_BASE_URL", "", doc="origin to fetch renditions from instead of https://IMGIX_DOMAIN (local renderer)"
    ),
    Setting(
        "IMGIX_SOURCE_ACCOUNT_URL", "", doc="blob endpoint of the imgix source account, reached by managed identity"
    ),
    Setting("IMGIX_SOURCE_CONNECTION_STRING", "", secret=True, doc="local runs only: Azurite connection string"),
    Setting("IMGIX_SOURCE_CONTAINER", None, doc="container the imgix source reads from"),
    Setting("STAGING_PREFIX", "staged", doc="blob prefix of staged sources (the lifecycle rule covers it)"),
    Setting(
        "ALLOWED_HOSTS", "*.blob.core.windows.net", doc="hosts (with optional :port, *. wildcard) for source/target"
    ),
    Setting("ALLOWED_SOURCE_TYPES", ",".join(DEFAULT_SOURCE_TYPES), doc="MIME types accepted, sniffed from bytes"),
    Setting("IMS_JWKS_URL", None, doc="JWKS of the IMS token issuer"),
    Setting("IMS_ORG_IDS", None, doc="comma list of IMS org ids allowed to call"),
    Setting("IMS_CLIENT_IDS", None, doc="comma list of IMS client ids allowed to call"),
    Setting(
        "RELAY_HMAC_KEY",
        "",
        secret=True,
        doc="shared key of the App Builder relay: calls must be signed; required except in local runs",
    ),
    Setting(
        "IMGIX_OVERLAY_HOSTS",
        "",
        doc="comma list of hosts whose https URLs mark, blend and mask may name (else paths in the source only)",
    ),
    Setting(
        "IMGIX_ALLOW_BILLABLE", "false", doc="true allows imgix's billable AI parameters (bg-remove, upscale, ...)"
    ),
    Setting(
        "AzureWebJobsStorage",
        "",
        secret=True,
        doc="the Functions host's storage; local runs: a connection string (relay replay markers go there too)",
    ),
    Setting(
        "AzureWebJobsStorage__accountName",
        "",
        doc="the Functions host's storage account, reached by managed identity (set by the stack)",
    ),
    Setting("AzureWebJobsStorage__blobServiceUri", "", doc="the host storage's blob endpoint, instead of its name"),
    Setting("EVENTS_URL", "https://eg-ingress.adobe.io/api/events", doc="Adobe I/O Events ingress"),
    Setting("MAX_REQUEST_BYTES", "1048576", doc="largest accepted job body"),
    Setting("MAX_RENDITIONS", "50", doc="most renditions in one job"),
    Setting("MAX_SOURCE_BYTES", str(IMGIX_MAX_SOURCE_BYTES), doc="largest source (imgix takes at most 500 MB)"),
    Setting("MAX_RENDITION_BYTES", str(1024 * 1024 * 1024), doc="largest rendition accepted from imgix"),
    Setting("RENDER_CONCURRENCY", "4", doc="renditions of one job processed in parallel"),
    Setting(
        "JOB_DEADLINE_SECONDS",
        "300",
        doc="per-job budget; unfinished renditions fail before it (at most functionTimeout - 30 s)",
    ),
    Setting("HTTP_TIMEOUT_SECONDS", "60", doc="timeout of one HTTP exchange"),
    Setting("TLS_CA_BUNDLE", "", doc="local runs only: extra CA file to trust (the local platform's CA)"),
)

_HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$")


@dataclass(frozen=True)
class HostStorage:
    """Where the Functions host's storage is: a connection string (local runs) or a blob endpoint (identity)."""

    blob_url: str
    connection_string: Secret | None


def _host_storage(raw: Mapping[str, str]) -> HostStorage | None:
    connection, name, uri = (raw[n] for n in HOST_STORAGE_SETTINGS)
    if connection:
        return HostStorage(blob_url="", connection_string=Secret(connection))
    if uri:
        if not re.fullmatch(r"https://[^/?#\s]+/?", uri):
            raise SettingsError("AzureWebJobsStorage__blobServiceUri", "must be an https origin")
        return HostStorage(blob_url=uri.rstrip("/"), connection_string=None)
    if name:
        if not re.fullmatch(r"[a-z0-9]{3,24}", name):
            raise SettingsError("AzureWebJobsStorage__accountName", "must be a storage account name")
        return HostStorage(blob_url=f"https://{name}.blob.core.windows.net", connection_string=None)
    return None


def _split(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, "must be an integer") from None
    if not minimum <= value <= maximum:
        raise SettingsError(name, f"must be between {minimum} and {maximum}")
    return value


@dataclass(frozen=True)
class Settings:
    """Typed, validated worker settings. Build with `Settings.from_env`."""

    imgix_domain: str
    imgix_secure_token: Secret
    imgix_base_url: str
    imgix_source_account_url: str
    imgix_source_connection_string: Secret | None
    imgix_source_container: str
    staging_prefix: str
    allowed_hosts: tuple[str, ...]
    allowed_source_types: tuple[str, ...]
    ims_jwks_url: str
    ims_org_ids: tuple[str, ...]
    ims_client_ids: tuple[str, ...]
    relay_hmac_key: Secret | None
    imgix_overlay_hosts: tuple[str, ...]
    imgix_allow_billable: bool
    host_storage: HostStorage | None  # from HOST_STORAGE_SETTINGS
    events_url: str
    max_request_bytes: int
    max_renditions: int
    max_source_bytes: int
    max_rendition_bytes: int
    render_concurrency: int
    job_deadline_seconds: int
    http_timeout_seconds: int
    tls_ca_bundle: str
    host_limits: HostLimits  # host.json's limits (and their app-setting overrides) the settings must fit in

    @property
    def local_run(self) -> bool:
        """A local run (Azurite): the one setting only local runs have, IMGIX_SOURCE_CONNECTION_STRING, is set
        (`from_env` refuses it on App Service)."""
        return self.imgix_source_connection_string is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every setting from `environ`.

        :raises SettingsError: naming the first missing or invalid setting.
        """
        raw: dict[str, str] = {}
        for setting in SETTINGS:
            value = environ.get(setting.name)
            if value is None or value.strip() == "":
                if setting.default is None:
                    raise SettingsError(setting.name, "is required")
                value = setting.default
            raw[setting.name] = value.strip()
            if raw[setting.name].lower().startswith(KEY_VAULT_REFERENCE):
                raise SettingsError(
                    setting.name,
                    "is an unresolved Key Vault reference: the app cannot read the vault yet "
                    "(its identity's Key Vault role, the vault's network rules or an outage)",
                )

        domain = raw["IMGIX_DOMAIN"].lower()
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", domain):
            raise SettingsError("IMGIX_DOMAIN", "must be a bare host name such as name.imgix.net")
        base_url = raw["IMGIX_BASE_URL"].rstrip("/") or f"https://{domain}"
        if not re.fullmatch(r"https?://[^/?#\s]+", base_url):
            raise SettingsError("IMGIX_BASE_URL", "must be an origin such as https://host[:port]")

        account_url = raw["IMGIX_SOURCE_ACCOUNT_URL"].rstrip("/")
        connection = raw["IMGIX_SOURCE_CONNECTION_STRING"]
        platform = [name for name in PLATFORM_SETTINGS if environ.get(name, "").strip()]
        if connection and platform:
            raise SettingsError(
                "IMGIX_SOURCE_CONNECTION_STRING",
                f"is for local runs only, and this app runs on App Service ({platform[0]} is set): "
                "remove it and set IMGIX_SOURCE_ACCOUNT_URL (the app's managed identity reaches the account)",
            )
        if bool(account_url) == bool(connection):
            raise SettingsError(
                "IMGIX_SOURCE_ACCOUNT_URL",
                "set exactly one of IMGIX_SOURCE_ACCOUNT_URL or IMGIX_SOURCE_CONNECTION_STRING",
            )
        if account_url and not account_url.startswith("https://"):
            raise SettingsError("IMGIX_SOURCE_ACCOUNT_URL", "must be an https URL")

        container = raw["IMGIX_SOURCE_CONTAINER"]
        if not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", container):
            raise SettingsError("IMGIX_SOURCE_CONTAINER", "must be a valid blob container name")
        prefix = raw["STAGING_PREFIX"].strip("/")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,100}", prefix):
            raise SettingsError("STAGING_PREFIX", "must be a simple blob path prefix")

        hosts = tuple(h.lower() for h in _split(raw["ALLOWED_HOSTS"]))
        if not hosts or not all(_HOST_PATTERN.match(h) for h in hosts):
            raise SettingsError("ALLOWED_HOSTS", "must be a comma list of host names, optionally *.suffix and :port")
        types = tuple(t.lower() for t in _split(raw["ALLOWED_SOURCE_TYPES"]))
        if not types or not all(re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", t) for t in types):
            raise SettingsError("ALLOWED_SOURCE_TYPES", "must be a comma list of MIME types")

        jwks = raw["IMS_JWKS_URL"]
        if not re.fullmatch(r"https?://\S+", jwks):
            raise SettingsError("IMS_JWKS_URL", "must be a URL")
        orgs, clients = _split(raw["IMS_ORG_IDS"]), _split(raw["IMS_CLIENT_IDS"])
        if not orgs:
            raise SettingsError("IMS_ORG_IDS", "must list at least one org id")
        if not clients:
            raise SettingsError("IMS_CLIENT_IDS", "must list at least one client id")
        events = raw["EVENTS_URL"]
        if not re.fullmatch(r"https?://\S+", events):
            raise SettingsError("EVENTS_URL", "must be a URL")
        relay_key = raw["RELAY_HMAC_KEY"]
        local_run = bool(connection)
        if not relay_key and not local_run:
            raise SettingsError("RELAY_HMAC_KEY", "is required outside local runs (IMGIX_SOURCE_CONNECTION_STRING)")
        if relay_key and len(relay_key) < 32:
            raise SettingsError("RELAY_HMAC_KEY", "must be at least 32 characters")
        host_storage = _host_storage(raw)
        if relay_key and host_storage is None:
            raise SettingsError("AzureWebJobsStorage", "is required with RELAY_HMAC_KEY: replay markers are kept there")
        overlay_hosts = tuple(h.lower() for h in _split(raw["IMGIX_OVERLAY_HOSTS"]))
        if not all(_HOST_PATTERN.match(h) for h in overlay_hosts):
            raise SettingsError("IMGIX_OVERLAY_HOSTS", "must be a comma list of host names, optionally *.suffix")
        billable = raw["IMGIX_ALLOW_BILLABLE"].lower()
        if billable not in ("true", "false"):
            raise SettingsError("IMGIX_ALLOW_BILLABLE", "must be true or false")

        deadline = _int("JOB_DEADLINE_SECONDS", raw["JOB_DEADLINE_SECONDS"], minimum=5, maximum=3600)
        host_limits = HostLimits.load(environ)
        host_limits.check_job_deadline(deadline)

        for setting in SETTINGS:
            if setting.secret:
                register_secret(raw[setting.name])
        return cls(
            imgix_domain=domain,
            imgix_secure_token=Secret(raw["IMGIX_SECURE_TOKEN"]),
            imgix_base_url=base_url,
            imgix_source_account_url=account_url,
            imgix_source_connection_string=Secret(connection) if connection else None,
            imgix_source_container=container,
            staging_prefix=prefix,
            allowed_hosts=hosts,
            allowed_source_types=types,
            ims_jwks_url=jwks,
            ims_org_ids=orgs,
            ims_client_ids=clients,
            relay_hmac_key=Secret(relay_key) if relay_key else None,
            imgix_overlay_hosts=overlay_hosts,
            imgix_allow_billable=billable == "true",
            host_storage=host_storage,
            events_url=events,
            max_request_bytes=_int("MAX_REQUEST_BYTES", raw["MAX_REQUEST_BYTES"], minimum=1024, maximum=64 << 20),
            max_renditions=_int("MAX_RENDITIONS", raw["MAX_RENDITIONS"], minimum=1, maximum=1000),
            max_source_bytes=_int(
                "MAX_SOURCE_BYTES", raw["MAX_SOURCE_BYTES"], minimum=1, maximum=IMGIX_MAX_SOURCE_BYTES
            ),
            max_rendition_bytes=_int("MAX_RENDITION_BYTES", raw["MAX_RENDITION_BYTES"], minimum=1, maximum=5 << 30),
            render_concurrency=_int("RENDER_CONCURRENCY", raw["RENDER_CONCURRENCY"], minimum=1, maximum=64),
            job_deadline_seconds=deadline,
            http_timeout_seconds=_int("HTTP_TIMEOUT_SECONDS", raw["HTTP_TIMEOUT_SECONDS"], minimum=1, maximum=600),
            tls_ca_bundle=raw["TLS_CA_BUNDLE"],
            host_limits=host_limits,
        )
