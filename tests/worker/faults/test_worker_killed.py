"""The worker process killed mid-job (SIGKILL, as when a Functions instance is recycled), on the real local host.

Renditions run one at a time (RENDER_CONCURRENCY=1), so when imgix sees the request of the second rendition the
first is delivered, reported and marked in the ledger: the host is killed right then, while the second is in
flight. The queue message stays hidden for as long as the host gave itself to finish it (functionTimeout, set here
to JOB_DEADLINE_SECONDS + 60 s through the host's own override setting: this test waits about 75 s of wall time for
it, on the journal and on the storage proxy, never on a sleep), a second host takes it, and each rendition must end
with exactly one event, both delivered.
"""

from __future__ import annotations

import io
import json
import os
import signal
import ssl
from pathlib import Path

import httpx
from PIL import Image

from local_platform.azurite import Azurite
from local_platform.tls import ensure_tls
from local_platform.worker_host import WorkerHostProcess

from ..conftest import SECURE_TOKEN, JobRunner, blob_connection_via, image_bytes
from .fakes import PASS, Reply, ScriptedProxy, Stall
from .support import STACK_TRACE_MARKERS, STAGING_PREFIX, Containers

DEADLINE = 8  # 3 s of work per delivery
FUNCTION_TIMEOUT = DEADLINE + 60  # the message is hidden this long (and a few seconds) after each receive
REDELIVERY_WAIT = FUNCTION_TIMEOUT + 60  # visibility timeout, plus generous room for the second host


def host_log_is_clean(path: Path) -> None:
    text = path.read_text(errors="replace")
    assert SECURE_TOKEN not in text
    assert "sig=" not in text.replace("sig=**********", "")
    assert "eyJ" not in text
    assert not any(marker in text for marker in STACK_TRACE_MARKERS), text[-2000:]


def test_a_worker_killed_mid_job_reports_each_rendition_once(
    runner: JobRunner,
    worker_env: dict[str, str],
    azurite: Azurite,
    imgix_proxy: ScriptedProxy,
    containers: Containers,
    tmp_path: Path,
) -> None:
    tls = ensure_tls()
    imgix_proxy.script(PASS, Stall(then=Reply(503)))  # the first rendition renders, the second hangs
    with ScriptedProxy(f"https://localhost:{azurite.blob_port}", tls, name="storage") as storage:
        environ = worker_env | {
            "IMGIX_BASE_URL": imgix_proxy.url,
            "IMGIX_SOURCE_CONNECTION_STRING": blob_connection_via(azurite, storage.port),
            "JOB_DEADLINE_SECONDS": str(DEADLINE),
            "RENDER_CONCURRENCY": "1",
            "AzureWebJobsStorage": azurite.connection_string,
            "AzureFunctionsJobHost__functionTimeout": f"00:{FUNCTION_TIMEOUT // 60:02d}:{FUNCTION_TIMEOUT % 60:02d}",
        }
        renditions = [{"name": "first.png", "fmt": "png", "width": 100}, {"name": "second.jpg", "fmt": "jpg"}]
        body, targets = runner.job(image_bytes(), renditions)
        headers = runner.headers()
        aem_before, imgix_before = containers.snapshot()

        first = WorkerHostProcess.start(environ=environ, tls=tls, log_file=tmp_path / "host1.log")
        try:
            with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert))) as client:
                answer = client.post(first.url, content=json.dumps(body), headers=headers)
            assert answer.status_code == 200, answer.text
            job_id = answer.json()["activationId"]

            imgix_proxy.wait_for_requests(2, timeout=60, method="GET")  # the second rendition is in flight
            (early,) = runner.services.events(headers["x-request-id"])
            assert (early["rendition"]["name"], early["type"]) == ("first.png", "rendition_created")
            assert first.process is not None
            os.killpg(first.process.pid, signal.SIGKILL)
            first.process.wait()
        finally:
            first.stop()
        imgix_proxy.release()

        second = WorkerHostProcess.start(environ=environ, tls=tls, log_file=tmp_path / "host2.log")
        try:
            # The staged source is deleted after every event of a run was sent: the redelivered job is done.
            storage.wait_for_requests(1, timeout=REDELIVERY_WAIT, method="DELETE")
        finally:
            second.stop()

    events = runner.services.events(headers["x-request-id"])
    assert sorted((e["rendition"]["name"], e["type"]) for e in events) == [
        ("first.png", "rendition_created"),
        ("second.jpg", "rendition_created"),
    ]
    assert all(e["activationIds"][-1] == job_id for e in events)
    assert Image.open(io.BytesIO(runner.commit_and_read(targets[0]))).size == (100, 75)
    second_bytes = runner.commit_and_read(targets[1])
    assert second_bytes == imgix_proxy.forwarded()[-1][1]  # what imgix rendered on redelivery
    assert Image.open(io.BytesIO(second_bytes)).format == "JPEG"
    # imgix saw: first, second (stalled), second again; the first was not rendered a second time.
    assert len(imgix_proxy.seen("GET")) == 3

    aem_after, imgix_after = containers.snapshot()
    key = targets[0].split("/")[0]
    assert {n for n in aem_after - aem_before if not n.startswith(f"{key}/")} == set()
    stray = {n for n in imgix_after - imgix_before if not n.startswith(f"{STAGING_PREFIX}/{job_id}/reported/")}
    assert stray == set(), stray  # the staged source the killed host left was removed by the second
    host_log_is_clean(tmp_path / "host1.log")
    host_log_is_clean(tmp_path / "host2.log")
