"""The local platform: Azurite, the imgix-compatible renderer, Adobe's services, the worker host and the relay,
wired as in the cloud and started together.

    Asset Compute stand-in --> relay (local host of the App Builder action, plays Adobe's validator)
        --> worker host (intake -> Azurite queue -> processor) --> imgix source container (Azurite)
        --> renderer (reads the container with a read+list SAS bound to a stored access policy, like imgix)
        --> AEM targets (Azurite block blobs) ; events --> Adobe services stand-in (journal)

`LocalPlatform.start()` returns once everything serves; `stop()` ends every process it started, in reverse order.
`environment()` is what `make up` writes to `.local/env`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgix_worker.host_limits import THREAD_COUNT_SETTING, HostLimits
from local_platform.adobe_services import AdobeServices
from local_platform.asset_compute import AssetComputeClient
from local_platform.azurite import ACCOUNT, ACCOUNT_KEY, Azurite
from local_platform.ims import LOCAL_CLIENT_ID, LOCAL_ORG_ID, LocalIms
from local_platform.paths import LOCAL_DIR
from local_platform.relay import RelayProcess
from local_platform.renderer.process import RendererProcess
from local_platform.tls import TlsFiles, ensure_tls
from local_platform.worker_host import WorkerHostProcess

__all__ = ["IMGIX_CONTAINER", "LocalPlatform"]

IMGIX_CONTAINER = "imgix"
IMGIX_POLICY_ID = "imgix-read"
IMGIX_DOMAIN = "renditions-local.imgix.net"  # signed like a real source; fetched from the renderer's origin
STAGING_PREFIX = "local"


def _imgix_source_sas(azurite: Azurite) -> str:
    """A read+list SAS on the imgix container bound to a stored access policy: what the stacks give imgix."""
    from azure.storage.blob import AccessPolicy, BlobServiceClient, ContainerSasPermissions, generate_container_sas

    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(azurite.tls.ca_cert)
    )
    container = service.get_container_client(IMGIX_CONTAINER)
    if not container.exists():
        container.create_container()
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    policy = AccessPolicy(permission=ContainerSasPermissions(read=True, list=True), expiry=expiry)
    container.set_container_access_policy(signed_identifiers={IMGIX_POLICY_ID: policy})
    service.close()
    return generate_container_sas(
        ACCOUNT, IMGIX_CONTAINER, account_key=ACCOUNT_KEY, policy_id=IMGIX_POLICY_ID, protocol="https"
    )


@dataclass
class LocalPlatform:
    """Every local part, running. Use as a context manager or call `stop()`."""

    tls: TlsFiles
    ims: LocalIms
    azurite: Azurite
    services: AdobeServices
    renderer: RendererProcess
    worker: WorkerHostProcess
    relay: RelayProcess | None
    worker_environment: dict[str, str]
    _stack: ExitStack = field(repr=False)

    @classmethod
    def start(
        cls,
        *,
        relay: bool = True,
        log_dir: Path | None = None,
        worker_settings: dict[str, str] | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> LocalPlatform:
        """Start every part; on any failure stop what was started and re-raise."""
        log_dir = log_dir or LOCAL_DIR / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        step = on_step or (lambda _: None)
        with ExitStack() as stack:
            tls = ensure_tls()
            ims = LocalIms.load()
            step("Azurite")
            azurite = Azurite.start(log_file=log_dir / "azurite.log")
            stack.callback(azurite.stop)
            step("Adobe IMS and I/O Events stand-in")
            services = AdobeServices.start(tls, ims, org_id=LOCAL_ORG_ID)
            stack.callback(services.stop)
            step("imgix-compatible renderer")
            secure_token = secrets.token_urlsafe(24)
            renderer = RendererProcess.start(
                container_url=f"{azurite.blob_endpoint}/{IMGIX_CONTAINER}",
                sas=_imgix_source_sas(azurite),
                secure_token=secure_token,
                tls=tls,
                log_file=log_dir / "renderer.log",
            )
            stack.callback(renderer.stop)
            relay_key = secrets.token_urlsafe(32) if relay else ""
            environment = {
                "IMGIX_DOMAIN": IMGIX_DOMAIN,
                "IMGIX_SECURE_TOKEN": secure_token,
                "IMGIX_BASE_URL": renderer.url,
                "IMGIX_SOURCE_CONNECTION_STRING": azurite.connection_string,
                "IMGIX_SOURCE_CONTAINER": IMGIX_CONTAINER,
                "STAGING_PREFIX": STAGING_PREFIX,
                "ALLOWED_HOSTS": f"localhost:{azurite.blob_port}",
                "IMS_JWKS_URL": services.jwks_url,
                "IMS_ORG_IDS": LOCAL_ORG_ID,
                "IMS_CLIENT_IDS": LOCAL_CLIENT_ID,
                "EVENTS_URL": services.events_url,
                "RELAY_HMAC_KEY": relay_key,
                "IMGIX_OVERLAY_HOSTS": "assets.imgix.net",  # the imgix tutorial profile's text watermark
                "TLS_CA_BUNDLE": str(tls.ca_cert),
                "JOB_DEADLINE_SECONDS": "120",
                "AzureWebJobsStorage": azurite.connection_string,
                **(worker_settings or {}),
            }
            # As the stacks set it (infra/app_settings.py), from host.json with this run's overrides.
            environment.setdefault(THREAD_COUNT_SETTING, str(HostLimits.load(environment).sync_threads))
            step("worker host")
            worker = WorkerHostProcess.start(environ=environment, tls=tls, log_file=log_dir / "worker.log")
            stack.callback(worker.stop)
            relay_process = None
            if relay:
                step("App Builder relay")
                relay_process = RelayProcess.start(
                    worker_url=worker.url,
                    org_id=LOCAL_ORG_ID,
                    hmac_key=relay_key,
                    jwks_url=services.jwks_url,
                    tls=tls,
                    log_file=log_dir / "relay.log",
                )
                stack.callback(relay_process.stop)
            platform = cls(
                tls=tls,
                ims=ims,
                azurite=azurite,
                services=services,
                renderer=renderer,
                worker=worker,
                relay=relay_process,
                worker_environment=environment,
                _stack=stack.pop_all(),
            )
        return platform

    @property
    def endpoint(self) -> str:
        """What the Processing Profile's Endpoint would be: the relay when there is one, else the intake."""
        return self.relay.url if self.relay else self.worker.url

    def environment(self) -> dict[str, str]:
        """The platform's URLs and connection, as `make up` writes them to `.local/env`."""
        return {
            "WORKER_URL": self.endpoint,
            "INTAKE_URL": self.worker.url,
            "RENDERER_URL": self.renderer.url,
            "EVENTS_URL": self.services.events_url,
            "JOURNAL_URL": self.services.journal_url,
            "JWKS_URL": self.services.jwks_url,
            "ORG_ID": LOCAL_ORG_ID,
            "CLIENT_ID": LOCAL_CLIENT_ID,
            "AZURE_STORAGE_CONNECTION_STRING": self.azurite.connection_string,
            "TLS_CA_BUNDLE": str(self.tls.ca_cert),
            # What `func start` needs beyond the URLs (function_app/local.settings.example.json says where each goes).
            "IMGIX_SECURE_TOKEN": self.worker_environment["IMGIX_SECURE_TOKEN"],
            "ALLOWED_HOSTS": self.worker_environment["ALLOWED_HOSTS"],
        }

    def asset_compute(self, **options: Any) -> AssetComputeClient:
        """An Asset Compute stand-in client wired to this platform."""
        return AssetComputeClient.from_env(self.environment(), ims=self.ims, **options)

    def stop(self) -> None:
        """Stop everything this platform started (relay, worker, renderer, services, Azurite)."""
        self._stack.close()

    def __enter__(self) -> LocalPlatform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
