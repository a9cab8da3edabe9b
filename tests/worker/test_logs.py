"""Logging as in Azure: every record of every library reaches the host's root handler, and none carries a secret.

The Functions Python worker sets the root logger to INFO and forwards every record to Application Insights; the
`worker_logs` fixture (conftest) captures the same way, so these tests see what Application Insights would store.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from imgix_worker import logs, redaction
from imgix_worker.logs import LIBRARY_LOGGERS, URL_WARNING_LOGGERS, log
from local_platform.adobe_services import AdobeServices
from local_platform.azurite import Azurite
from local_platform.paths import ROOT
from local_platform.tls import ensure_tls
from local_platform.worker_host import WorkerHostProcess

from .conftest import AZURITE_KEY, SECURE_TOKEN, JobRunner, image_bytes, leaks, record_text

# A fake SAS: its `sig` is base64 of the text "secret-signature", signed by nothing.
SAS = "https://aem.blob.core.windows.net/c/a.jpg?sv=2024-11-04&sr=b&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"


def test_a_whole_job_leaves_no_credential_in_any_logger(
    runner: JobRunner, worker_logs: pytest.LogCaptureFixture, azurite: Azurite
) -> None:
    renditions = [{"name": "a.png", "fmt": "png", "width": 64}, {"name": "b.jpg", "fmt": "jpg", "width": 32}]
    body, _ = runner.job(image_bytes(), renditions)
    headers = runner.headers()
    token = headers["Authorization"].split(" ", 1)[1]
    signatures = [unquote(v) for v in re.findall(r"[?&]sig=([^&\"]+)", json.dumps(body))]
    assert len(signatures) >= 3  # the source and each target are pre-signed

    result = runner.worker.intake.handle("POST", headers, json.dumps(body).encode(), recipe=None)
    assert result.status == 200 and result.message is not None
    outcome = runner.worker.process_message(result.message)

    assert outcome.created == 2  # real HTTP all the way: JWKS, staging copy, imgix (signed URLs), targets, events
    records = worker_logs.records
    assert logging.getLogger().getEffectiveLevel() == logging.INFO and worker_logs.handler.level == logging.INFO
    assert {"job accepted", "source staged", "rendition delivered", "event sent"} <= {
        json.loads(r.getMessage()).get("msg") for r in records if r.name == "imgix_worker"
    }
    assert leaks(records, token, *signatures) == []
    everything = "\n".join(record_text(r) for r in records)
    assert AZURITE_KEY not in everything and token not in everything


@pytest.mark.parametrize("name", [*LIBRARY_LOGGERS, "some.other.library"])
def test_a_library_record_is_redacted_whichever_logger_makes_it(
    name: str, worker_logs: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger(name)
    logger.warning("Retrying after connection broken: %s (Authorization: Bearer %s)", SAS, "abc.def-ghi")
    try:
        raise ValueError(f"bad answer from {SAS}")
    except ValueError:
        logger.exception("request to %s failed", SAS)
    (warning, error) = [r for r in worker_logs.records if r.name == name]
    assert "sig=**********" in warning.getMessage() and "Bearer **********" in warning.getMessage()
    assert "c2VjcmV0" not in record_text(warning) + record_text(error)
    assert error.exc_text is not None and "ValueError: bad answer from" in error.exc_text


class _OwnStr(str):
    """A str subclass some library made: not the worker's marker, so its records are redacted."""


class _MarkerSubclass(logs._Redacted):
    """Not exactly the marker type either."""


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("some.other.library", f"GET {SAS} (Authorization: Bearer abc.def-ghi)"),
        ("imgix_worker", f"GET {SAS} (Authorization: Bearer abc.def-ghi)"),  # the worker's logger, not via log()
        ("some.other.library", _OwnStr(f"GET {SAS} (Authorization: Bearer abc.def-ghi)")),
        ("some.other.library", _MarkerSubclass(f"GET {SAS} (Authorization: Bearer abc.def-ghi)")),
        ("imgix_worker", logs._Redacted("GET %s (Authorization: Bearer abc.def-ghi)")),  # the marker, with args
    ],
    ids=["plain", "worker-logger", "str-subclass", "marker-subclass", "marker-with-args"],
)
def test_a_record_log_did_not_make_is_redacted(name: str, message: str, worker_logs: pytest.LogCaptureFixture) -> None:
    args = (SAS,) if type(message) is logs._Redacted else ()
    logging.getLogger(name).warning(message, *args)
    (record,) = [r for r in worker_logs.records if r.name == name]
    assert record.getMessage() == "GET " + SAS.split("sig=")[0] + "sig=********** (Authorization: Bearer **********)"


def test_a_log_line_is_redacted_once_and_comes_out_as_redacted(
    worker_logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(text: object) -> str:
        calls.append(str(text))
        return redaction.redact(text)

    monkeypatch.setattr(logs, "redact", counting)  # the name both log() and the record factory call
    log("source staged", level=logging.WARNING, job_id="j1", source=SAS, absent=None)
    assert len(calls) == 1
    logging.getLogger("some.other.library").warning("GET %s", SAS)  # the factory's redaction counts too
    assert len(calls) == 2
    log("event sent", job_id="j1")
    assert len(calls) == 3

    first, _, second = worker_logs.records
    message = first.getMessage()
    assert type(message) is str and message == calls[0].replace("c2VjcmV0LXNpZ25hdHVyZQ%3D%3D", "**********")
    assert json.loads(message) == {
        "ts": json.loads(message)["ts"],
        "level": "warning",
        "msg": "source staged",
        "job_id": "j1",
        "source": SAS.split("sig=")[0] + "sig=**********",
    }
    assert json.loads(second.getMessage())["msg"] == "event sent"


@pytest.mark.parametrize("name", LIBRARY_LOGGERS)
def test_url_logging_libraries_are_quiet_below_warning(name: str, worker_logs: pytest.LogCaptureFixture) -> None:
    logging.getLogger(name).info("HTTP Request: GET %s", SAS)
    assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    assert [r for r in worker_logs.records if r.name == name] == []


@pytest.mark.parametrize("name", URL_WARNING_LOGGERS)
def test_libraries_whose_warnings_quote_urls_are_quiet_below_error(name: str) -> None:
    assert not logging.getLogger(name).isEnabledFor(logging.WARNING)
    assert logging.getLogger(name).isEnabledFor(logging.ERROR)


def test_worker_lines_reach_the_root_handler(worker_logs: pytest.LogCaptureFixture) -> None:
    """Under Azure the host's handler sits on the root logger: a worker line that did not propagate would be lost."""
    log("probe", job_id="j1")
    (record,) = [r for r in worker_logs.records if r.name == "imgix_worker"]
    assert json.loads(record.getMessage())["msg"] == "probe"


def test_protect_is_idempotent() -> None:
    factory = logging.getLogRecordFactory()
    logs.protect()
    assert logging.getLogRecordFactory() is factory and getattr(factory, "imgix_redacting", False)


def test_through_the_local_host_every_record_reaches_its_root_handler_and_none_leaks(
    runner: JobRunner, worker_env: dict[str, str], services: AdobeServices, tmp_path: Path
) -> None:
    """A real job through the worker host, which logs as the Python worker does (root at INFO, its own handler on
    root, one line a record): the worker's lines come through that handler, and the app's own protection is all
    that keeps every library's records (httpx, azure.*, urllib3) free of credentials."""
    body, _ = runner.job(image_bytes(), [{"name": "a.png", "fmt": "png", "width": 64}])
    headers = runner.headers()
    token = headers["Authorization"].split(" ", 1)[1]
    signatures = [unquote(v) for v in re.findall(r"[?&]sig=([^&\"]+)", json.dumps(body))]
    tls = ensure_tls()
    log_file = tmp_path / "host.log"
    with WorkerHostProcess.start(environ=worker_env, tls=tls, log_file=log_file) as host:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert))) as client:
            answer = client.post(host.url, content=json.dumps(body), headers=headers)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 120  # generous: polled, the job's own event ends the wait
        while not services.events(headers["x-request-id"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert services.events(headers["x-request-id"]), "no event within 120 s"

    lines = log_file.read_text(errors="replace").splitlines()
    worker_lines = [line.split(" ", 3) for line in lines if line.startswith("worker: ")]
    assert all(line.startswith(("host: ", "worker: ")) for line in lines), lines  # one line a record
    # The worker's JSON lines, verbatim, through the host's root handler (the app configures no handler).
    seen = {json.loads(msg)["msg"] for _, level, name, msg in worker_lines if name == "imgix_worker"}
    assert {"job accepted", "message received", "source staged", "rendition delivered", "event sent"} <= seen
    text = "\n".join(lines)
    assert not re.search(r"[?&;](?:sig|s)=(?!\*{10})", text)  # no SAS signature, no imgix signature
    assert all(s not in text for s in signatures) and token not in text and "eyJ" not in text
    assert AZURITE_KEY not in text and SECURE_TOKEN not in text


def test_importing_the_function_app_protects_the_workers_root_handler(worker_env: dict[str, str]) -> None:
    """As the Functions worker runs it: a handler on the root logger at INFO first, then `function_app` imported."""
    script = (
        "import logging, sys\n"
        "seen = []\n"
        "class Host(logging.Handler):\n"
        "    def emit(self, record): seen.append((record.name, self.format(record)))\n"
        "logging.getLogger().setLevel(logging.INFO)\n"
        "logging.getLogger().addHandler(Host())\n"
        "import function_app\n"
        "from imgix_worker.logs import log\n"
        "log('worker line')\n"
        f"logging.getLogger('httpx').info('HTTP Request: GET %s', {SAS!r})\n"
        f"logging.getLogger('urllib3.connectionpool').warning('Retrying %s', {SAS!r})\n"
        "for name, text in seen: print(name, text)\n"
    )
    env = {**os.environ, **worker_env, "PYTHONPATH": str(ROOT / "function_app")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["imgix_worker", "urllib3.connectionpool"], lines
    assert '"msg": "worker line"' in lines[0] and "sig=**********" in lines[1] and "c2VjcmV0" not in done.stdout
