"""The local host indexes function apps as the Python worker and the Functions host do, and refuses what they refuse.

The real `function_app/` must index with the expected functions, routes and bindings: a decorator, binding name or
route changed in a way the host would reject fails here before it fails in Azure.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from local_platform.functions_index import IndexingError, index_app, index_script, validate_function
from local_platform.http_trigger import RouteTable
from local_platform.worker_host import INTAKE_PATH, SCRIPT_ROOT

# What function_app.py needs to load; nothing is contacted while indexing.
APP_SETTINGS = {
    "IMGIX_DOMAIN": "renditions-test.imgix.net",
    "IMGIX_SECURE_TOKEN": "fake-token-for-indexing",  # a test value, not a credential
    "IMGIX_SOURCE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;"
    "AccountKey=ZmFrZQ==;BlobEndpoint=https://localhost:10000/devstoreaccount1;",
    "IMGIX_SOURCE_CONTAINER": "imgix",
    "IMS_JWKS_URL": "https://localhost:10001/jwks",
    "IMS_ORG_IDS": "FAKE0000@AdobeOrg",
    "IMS_CLIENT_IDS": "fake-client",
    "EVENTS_URL": "https://localhost:10002/events",
    "ALLOWED_HOSTS": "localhost:10000",
}


@pytest.fixture
def real_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in APP_SETTINGS.items():
        monkeypatch.setenv(key, value)
    sys.modules.pop("function_app", None)
    functions = index_script(SCRIPT_ROOT, APP_SETTINGS)
    yield {f.name: f for f in functions}
    sys.modules.pop("function_app", None)


def test_the_real_app_indexes_with_its_functions_routes_and_bindings(real_app: dict[str, Any]) -> None:
    assert set(real_app) == {"worker", "process", "poisoned"}
    worker = real_app["worker"]
    assert worker.trigger == {"direction": "IN", "type": "httpTrigger", "name": "req", "authLevel": "ANONYMOUS",
                              "route": "worker/{recipe?}"}  # fmt: skip
    assert [(b["name"], b["type"], b.get("queueName")) for b in worker.outputs] == [("jobs", "queue", "jobs")]
    assert worker.return_binding is not None and worker.return_binding["type"] == "http"
    for name, queue in (("process", "jobs"), ("poisoned", "jobs-poison")):
        assert real_app[name].trigger["type"] == "queueTrigger"
        assert real_app[name].trigger["queueName"] == queue
        assert real_app[name].trigger["connection"] == "AzureWebJobsStorage"
        assert real_app[name].outputs == ()

    routes = RouteTable(real_app.values(), "api")
    for method in ("POST", "OPTIONS", "GET"):
        assert routes.match(method, INTAKE_PATH) == (worker, {})
        assert routes.match(method, f"{INTAKE_PATH}/circle") == (worker, {"recipe": "circle"})
    assert routes.match("POST", "/api/worker/circle/extra") is None
    assert routes.match("POST", "/worker") is None


def _queue_app(case: str) -> func.FunctionApp:
    app = func.FunctionApp()
    if case == "bad function name":

        @app.function_name("1st-function")
        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def first(msg: func.QueueMessage) -> None: ...

    elif case == "bad binding name":

        @app.queue_trigger(arg_name="the_msg", queue_name="q", connection="AzureWebJobsStorage")
        def underscore(the_msg: func.QueueMessage) -> None: ...

    elif case == "duplicate binding":

        @app.queue_output(arg_name="msg", queue_name="out", connection="AzureWebJobsStorage")
        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def twice(msg: func.QueueMessage) -> None: ...

    elif case == "no trigger":

        @app.function_name("orphan")
        @app.queue_output(arg_name="msg", queue_name="out", connection="AzureWebJobsStorage")
        def orphan(msg: func.Out[str]) -> None: ...

    elif case == "two triggers":

        @app.queue_trigger(arg_name="a", queue_name="q1", connection="AzureWebJobsStorage")
        @app.queue_trigger(arg_name="b", queue_name="q2", connection="AzureWebJobsStorage")
        def both(a: func.QueueMessage, b: func.QueueMessage) -> None: ...

    elif case == "parameter without binding":

        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def extra(msg: func.QueueMessage, unbound: str) -> None: ...

    elif case == "output not annotated Out":

        @app.queue_output(arg_name="result", queue_name="out", connection="AzureWebJobsStorage")
        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def plain(msg: func.QueueMessage, result: str) -> None: ...

    elif case == "trigger annotated Out":

        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def inverted(msg: func.Out[str]) -> None: ...

    elif case == "duplicate function name":
        for n in range(2):

            @app.function_name("same")
            @app.queue_trigger(arg_name="msg", queue_name=f"q{n}", connection="AzureWebJobsStorage")
            def same(msg: func.QueueMessage) -> None: ...

    elif case == "unset binding expression":

        @app.queue_trigger(arg_name="msg", queue_name="%NOT_SET%", connection="AzureWebJobsStorage")
        def expression(msg: func.QueueMessage) -> None: ...

    return app


@pytest.mark.parametrize(
    ("case", "named"),
    [
        ("bad function name", "1st-function"),
        ("bad binding name", "the_msg"),
        ("duplicate binding", "msg"),
        ("no trigger", "orphan"),
        ("two triggers", "trigger"),
        ("parameter without binding", "unbound"),
        ("output not annotated Out", "'result' is an output binding"),
        ("trigger annotated Out", "'msg' is an input binding"),
        ("duplicate function name", "same"),
        ("unset binding expression", "NOT_SET"),
    ],
)
def test_the_host_refuses_an_app_it_would_not_start(case: str, named: str) -> None:
    # Refused by the library (a second trigger, at decoration) or by the host's checks: either way it never runs.
    with pytest.raises(ValueError, match=named):
        index_app(_queue_app(case), {})


def test_a_valid_app_indexes_and_resolves_binding_expressions() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="%QUEUE%-in", connection="AzureWebJobsStorage")
    def fine(msg: func.QueueMessage) -> None: ...

    (function,) = index_app(app, {"QUEUE": "probe"})
    assert (function.name, function.trigger["queueName"]) == ("fine", "probe-in")


@pytest.mark.parametrize(
    ("name", "bindings"),
    [
        ("ok", [{"name": "req", "type": "httpTrigger", "direction": "IN"}, {"name": "$return", "type": "http"}]),
        ("with-dash_and_9", [{"name": "msg2", "type": "queueTrigger", "direction": "IN"}]),
    ],
)
def test_the_host_checks_accept_what_the_host_accepts(name: str, bindings: list[dict[str, Any]]) -> None:
    validate_function(name, bindings, None)


@pytest.mark.parametrize(
    ("name", "bindings", "named"),
    [
        ("x" * 129, [{"name": "m", "type": "queueTrigger"}], "x" * 129),
        ("f", [{"name": "Msg", "type": "queueTrigger"}, {"name": "msg", "type": "queue"}], "msg"),
        ("f", [{"name": "a", "type": "queueTrigger"}, {"name": "b", "type": "httpTrigger"}], "exactly one trigger"),
        ("f", [{"name": "$result", "type": "queueTrigger"}], "result"),
    ],
)
def test_the_host_checks_refuse_raw_bindings(name: str, bindings: list[dict[str, Any]], named: str) -> None:
    with pytest.raises(IndexingError, match=named.replace("$", r"\$")):
        validate_function(name, bindings, None)
