"""The Functions entry point wires routes, queues and settings, and calls the same worker code."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage as WorkerQueueMessage

from imgix_worker.errors import EventsUndelivered, SettingsError
from imgix_worker.host_limits import QUEUE_TRIGGERS
from imgix_worker.service import JOBS_QUEUE, POISON_QUEUE

from .conftest import JobRunner, image_bytes


@pytest.fixture
def load_app(worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ModuleType]]:
    """Import `function_app` as the Python worker does, with `worker_env` and `overrides` as its app settings."""
    import imgix_worker.service as service

    def load(**overrides: str) -> ModuleType:
        for key, value in {**worker_env, **overrides}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(service, "_worker", None)
        sys.modules.pop("function_app", None)
        module = importlib.import_module("function_app")
        module.registered = {f.get_function_name(): f for f in module.app.get_functions()}  # get_functions runs once
        return module

    yield load
    sys.modules.pop("function_app", None)


@pytest.fixture
def function_app(load_app: Callable[..., ModuleType]) -> ModuleType:
    return load_app()


def test_registrations(function_app: ModuleType) -> None:
    functions = function_app.registered
    assert set(functions) == {"worker", "process", "poisoned"}
    http = functions["worker"].get_trigger()
    assert http.route == "worker/{recipe?}"
    assert functions["process"].get_trigger().queue_name == JOBS_QUEUE
    assert functions["poisoned"].get_trigger().queue_name == POISON_QUEUE
    # The Python worker's thread count (host_limits.sync_threads) counts one batch per queue trigger.
    queue_triggers = [f for f in functions.values() if f.get_trigger().get_binding_name() == "queueTrigger"]
    assert len(queue_triggers) == QUEUE_TRIGGERS
    assert all(
        f.get_trigger().connection == "AzureWebJobsStorage" for f in (functions["process"], functions["poisoned"])
    )
    bindings = functions["worker"].get_dict_repr()["bindings"]
    (output,) = [b for b in bindings if b["type"] == "queue" and b["direction"].name == "OUT"]
    assert output["queueName"] == JOBS_QUEUE and output["connection"] == "AzureWebJobsStorage"


class Out:
    def __init__(self) -> None:
        self.value: str | None = None

    def set(self, value: str) -> None:
        self.value = value

    def get(self) -> str | None:
        return self.value


def handler(module: ModuleType, name: str):  # type: ignore[no-untyped-def]
    return module.registered[name].get_user_function()


def test_http_trigger_enqueues_and_the_queue_trigger_processes(function_app: ModuleType, runner: JobRunner) -> None:
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png", "w": 64}])
    headers = runner.headers()
    request = func.HttpRequest("POST", "/api/worker", headers=headers, params={}, route_params={},
                               body=json.dumps(body).encode())  # fmt: skip
    out = Out()
    response = handler(function_app, "worker")(request, out)
    assert response.status_code == 200 and "activationId" in json.loads(response.get_body())
    assert out.value is not None
    handler(function_app, "process")(func.QueueMessage(id="m1", body=out.value.encode()))
    (event,) = runner.services.events(headers["x-request-id"])
    assert event["type"] == "rendition_created" and event["metadata"]["tiff:imageWidth"] == 64


def test_the_queue_trigger_lets_undelivered_events_raise_so_the_host_redelivers(
    load_app: Callable[..., ModuleType], runner: JobRunner
) -> None:
    # An ingress answering 404 refuses every event at once (not retried): the rendition is not reported.
    app = load_app(EVENTS_URL=f"{runner.services.url}/api/not-the-ingress")
    body, _ = runner.job(image_bytes(), [{"name": "x.png", "fmt": "png", "w": 64}])
    request = func.HttpRequest("POST", "/api/worker", headers=runner.headers(), params={}, route_params={},
                               body=json.dumps(body).encode())  # fmt: skip
    out = Out()
    assert handler(app, "worker")(request, out).status_code == 200 and out.value is not None
    # What the Python worker passes: its own QueueMessage, with the dequeue count (func.QueueMessage has none).
    message = WorkerQueueMessage(id="m1", body=out.value.encode(), dequeue_count=1)
    # The host retries a message only when the function raises: the exception must leave the user function.
    with pytest.raises(EventsUndelivered) as raised:
        handler(app, "process")(message)
    assert raised.value.indexes == [0]


def test_http_trigger_refuses_without_enqueueing(function_app: ModuleType) -> None:
    request = func.HttpRequest("GET", "/api/worker/circle", headers={}, params={}, route_params={"recipe": "circle"},
                               body=b"")  # fmt: skip
    out = Out()
    response = handler(function_app, "worker")(request, out)
    assert response.status_code == 405 and out.value is None


def test_a_missing_setting_stops_the_app_at_load(monkeypatch: pytest.MonkeyPatch, worker_env: dict[str, str]) -> None:
    for key, value in worker_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("IMS_JWKS_URL")
    sys.modules.pop("function_app", None)
    with pytest.raises(SettingsError, match="IMS_JWKS_URL"):
        importlib.import_module("function_app")
    sys.modules.pop("function_app", None)
